/** Divergence without NaN on scripted epoch metrics: what counts, what does not, and the message. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  MAX_CROSS_ENTROPY,
  chanceLoss,
  divergenceMessage,
  divergenceVerdict,
  farAboveChance,
  type DivergenceMetrics,
} from '../../src/core/portable/divergence';

/** Epochs from [loss, val_loss, val_accuracy] triples; accuracy follows val_accuracy. */
const curve = (...rows: [number, number, number][]): DivergenceMetrics[] =>
  rows.map(([loss, val_loss, val_accuracy], i) => ({
    epoch: i + 1,
    loss,
    val_loss,
    val_accuracy,
    accuracy: val_accuracy,
  }));

/** The first epoch (1-based) at which the verdict says diverged, as the guard checks after every epoch. */
function firstDiverged(history: DivergenceMetrics[], classes: number): number | undefined {
  for (let e = 1; e <= history.length; e++) if (divergenceVerdict(history.slice(0, e), classes)) return e;
  return undefined;
}

describe('divergence rules', () => {
  it('the issue’s run (learningRate 1e6, 3 classes): saturated at ~10.7 from epoch 2, accuracy at chance → diverged at epoch 2', () => {
    const run = curve([8.29, 10.75, 0.33], [10.75, 10.75, 0.33], [10.75, 10.75, 0.33], [10.75, 10.75, 0.33]);
    assert.equal(firstDiverged(run, 3), 2);
    const verdict = divergenceVerdict(run.slice(0, 2), 3)!;
    assert.match(
      verdict.reason,
      /far above 1\.10, the loss of guessing among 3 classes, and is not falling \(8\.29 at epoch 1, 10\.75 at epoch 2; val_loss 10\.75\)/,
    );
    assert.match(verdict.reason, /val_accuracy 0\.33 is no better than guessing \(0\.33\)/);
  });

  it('a jump far above chance after the run had learned → diverged at once', () => {
    const run = curve([0.9, 0.8, 0.6], [0.35, 0.5, 0.8], [0.3, 0.45, 0.85], [9.4, 9.8, 0.34]);
    assert.equal(firstDiverged(run, 3), 4);
    assert.match(
      divergenceVerdict(run, 3)!.reason,
      /the loss jumped from 0\.30 \(epoch 3\) to 9\.40 at epoch 4/,
    );
  });

  it('healthy runs, a bad first epoch that recovers, a fast fall from saturation, a noisy training loss: not diverged', () => {
    assert.equal(firstDiverged(curve([1.0, 0.9, 0.5], [0.6, 0.7, 0.7], [0.4, 0.6, 0.8]), 3), undefined);
    assert.equal(firstDiverged(curve([4.5, 3.9, 0.33], [1.2, 1.0, 0.5], [0.7, 0.8, 0.7]), 3), undefined);
    // Saturated, but falling by more than 10 % an epoch until it is below the line.
    assert.equal(
      firstDiverged(curve([10.7, 10.7, 0.33], [8.9, 8.0, 0.4], [6.0, 5.0, 0.5], [2.0, 1.5, 0.6]), 3),
      undefined,
    );
    // Mixup-like: the training loss is high, validation is fine.
    assert.equal(firstDiverged(curve([2.6, 0.9, 0.6], [2.5, 0.8, 0.7], [2.5, 0.7, 0.75]), 3), undefined);
    // Two classes: 1.5 is high but not far above ln 2 + 1.
    assert.equal(firstDiverged(curve([1.5, 1.5, 0.5], [1.5, 1.5, 0.5]), 2), undefined);
  });

  it('"far above chance" stays reachable with many classes (the clipped loss tops out at 16.1)', () => {
    assert.ok(Math.abs(farAboveChance(3) - 2 * Math.log(3)) < 1e-12);
    assert.equal(farAboveChance(2), Math.log(2) + 1);
    for (const k of [10, 100, 1000, 100000]) {
      assert.ok(farAboveChance(k) > chanceLoss(k), `${k} classes: above ln K`);
      assert.ok(
        farAboveChance(k) < MAX_CROSS_ENTROPY * (1 - 1 / k),
        `${k} classes: below a saturated model's loss`,
      );
    }
    const thousand = curve([16.1, 16.1, 0.001], [16.1, 16.1, 0.001]);
    assert.equal(firstDiverged(thousand, 1000), 2);
  });

  it('the message: "Training diverged: …; lower training.learningRate", with the finder’s suggestion when known', () => {
    const verdict = divergenceVerdict(curve([8.29, 10.75, 0.33], [10.75, 10.75, 0.33]), 3)!;
    assert.match(
      divergenceMessage(verdict, 1000000, 0.00312),
      /^Training diverged: the loss has stayed .*; lower training\.learningRate \(now 1000000; the learning-rate finder suggested 0\.0031 for this experiment\)\.$/,
    );
    assert.match(
      divergenceMessage(verdict, 0.5),
      /; lower training\.learningRate \(now 0\.5; Fine-Tune: Find Learning Rate suggests one\)\.$/,
    );
  });
});
