/**
 * The validation loss on training-style targets: exactly the smoothed cross-entropy with label smoothing;
 * with mixup the same pairs and λ every epoch, from a generator of its own.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { memoryRows, type DataSplit } from '../../src/engine/data/rowStore';
import { lossTargetsOf, validationLossOnTrainingTargets } from '../../src/engine/training/trainingTargets';
import { overfittingSignal } from '../../src/core/portable/overfitting';

/** 12 one-pixel "images" whose value is their label; the "model" maps value v to fixed probabilities. */
function data(): DataSplit {
  const labels = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  return {
    rows: memoryRows(Float32Array.from(labels), [1, 1, 1]),
    labels,
    files: [...labels].map(String),
    count: 12,
  };
}
const PROBS = [
  [0.7, 0.2, 0.1],
  [0.1, 0.6, 0.3],
  [0.3, 0.3, 0.4],
];
const forward = (x: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    // Mixed images hold fractional values: interpolate the rows of PROBS linearly between classes.
    const v = tf.reshape(x, [-1, 1]);
    const rows = [0, 1, 2].map((k) => tf.relu(tf.sub(1, tf.abs(tf.sub(v, k)))));
    return tf.addN(rows.map((w, k) => tf.mul(w, tf.tensor2d([PROBS[k]]))));
  });

describe('validation loss on training-style targets', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('names the targets', () => {
    const mix = { mixup: 0, cutmix: 0 };
    assert.equal(lossTargetsOf({ mix, labelSmoothing: 0 }), 'hard');
    assert.equal(lossTargetsOf({ mix, labelSmoothing: 0.1 }), 'smoothed');
    assert.equal(lossTargetsOf({ mix: { mixup: 0.2, cutmix: 0 }, labelSmoothing: 0 }), 'mixed');
    assert.equal(lossTargetsOf({ mix: { mixup: 0, cutmix: 1 }, labelSmoothing: 0.1 }), 'mixed-smoothed');
  });

  it('label smoothing: (1 − ε)·CE(p, y) + ε·mean(−Σₖ log pₖ)/K, on the same images', async () => {
    const eps = 0.2;
    const got = await validationLossOnTrainingTargets(
      forward,
      data(),
      3,
      5,
      { mix: { mixup: 0, cutmix: 0 }, labelSmoothing: eps },
      1,
    );
    const hard = PROBS.map((p, k) => -Math.log(p[k]));
    const uniform = PROBS.map((p) => -p.reduce((s, q) => s + Math.log(q), 0) / 3);
    const expected = [0, 1, 2].reduce((s, k) => s + (1 - eps) * hard[k] + eps * uniform[k], 0) / 3;
    assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  });

  it('mixup: the same value every epoch (its own generator), and not the hard-label loss', async () => {
    const settings = { mix: { mixup: 0.4, cutmix: 0 }, labelSmoothing: 0 };
    const a = await validationLossOnTrainingTargets(forward, data(), 3, 4, settings, 7);
    const b = await validationLossOnTrainingTargets(forward, data(), 3, 4, settings, 7);
    assert.equal(a, b);
    const hard = PROBS.reduce((s, p, k) => s - Math.log(p[k]), 0) / 3;
    assert.ok(Math.abs(a - hard) > 1e-3, `${a} vs ${hard}`);
    assert.notEqual(
      await validationLossOnTrainingTargets(forward, data(), 3, 4, settings, 8),
      a,
      'another seed mixes other pairs',
    );
  });
});

describe('the overfitting signal with soft targets', () => {
  it('follows the validation loss on the training targets, not the hard one', () => {
    // Hard val_loss rises while the comparable one falls: not overfitting (and the other way round).
    const history = [
      { epoch: 1, loss: 1.0, val_loss: 0.8, val_loss_same_targets: 1.2 },
      { epoch: 2, loss: 0.9, val_loss: 0.85, val_loss_same_targets: 1.1 },
      { epoch: 3, loss: 0.8, val_loss: 0.9, val_loss_same_targets: 1.05 },
    ];
    assert.equal(overfittingSignal(history, 2).overfitting, false);
    const flipped = history.map((m) => ({
      ...m,
      val_loss: 2 - m.val_loss,
      val_loss_same_targets: 2.3 - m.val_loss_same_targets,
    }));
    const signal = overfittingSignal(flipped, 2);
    assert.equal(signal.overfitting, true);
    assert.match(signal.reason!, /^val_loss on the training targets rose 2 epochs in a row/);
  });
});
