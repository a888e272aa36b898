import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mixBatch, sampleBeta, smoothLabels } from '../../src/engine/data/mixBatch';
import { createRng } from '../../src/core/rng';
import { crossEntropy } from '../../src/engine/training/evaluate';

describe('mixup, CutMix and label smoothing', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('Beta samples have the right mean and stay in (0, 1)', () => {
    const rng = createRng(3);
    const draws = Array.from({ length: 4000 }, () => sampleBeta(0.4, rng));
    assert.ok(draws.every((d) => d > 0 && d < 1));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    assert.ok(Math.abs(mean - 0.5) < 0.03, `mean ${mean}`);
  });

  it('mixup batches are convex combinations of two images and of their labels, with the same λ', () => {
    const x = tf.randomUniform([6, 4, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3), 'float32') as tf.Tensor2D;
    const mixed = mixBatch(x, y, { mixup: 0.4, cutmix: 0 }, createRng(7));
    assert.equal(mixed.method, 'mixup');
    const xs = x.arraySync();
    const mx = mixed.x.arraySync();
    const ys = y.arraySync();
    const my = mixed.y.arraySync();
    const l = mixed.lambda;
    for (let i = 0; i < 6; i++) {
      const j = mixed.permutation[i];
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(my[i][k] - (l * ys[i][k] + (1 - l) * ys[j][k])) < 1e-6);
      assert.ok(Math.abs(mx[i][1][2][0] - (l * xs[i][1][2][0] + (1 - l) * xs[j][1][2][0])) < 1e-6);
      assert.ok(Math.abs(my[i].reduce((a, b) => a + b, 0) - 1) < 1e-6, 'labels still sum to 1');
    }
  });

  it('CutMix pastes a box and mixes labels by its area', () => {
    const x = tf.concat([tf.zeros([1, 8, 8, 1]), tf.ones([1, 8, 8, 1])]) as tf.Tensor4D;
    const y = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const mixed = mixBatch(x, y, { mixup: 0, cutmix: 1 }, createRng(11));
    assert.equal(mixed.method, 'cutmix');
    const first = mixed.x.arraySync()[0].flat(2) as number[];
    const pasted = first.filter((v) => v !== 0).length;
    const partner = mixed.permutation[0];
    if (partner === 1) assert.ok(Math.abs(1 - pasted / 64 - mixed.lambda) < 1e-6, 'λ = 1 − pasted area');
    const labels = mixed.y.arraySync();
    assert.ok(Math.abs(labels[0][0] + labels[0][1] - 1) < 1e-6);
  });

  it('label smoothing changes the loss as the formula says', () => {
    const probs = tf.tensor2d([[0.7, 0.2, 0.1]]);
    const y = tf.tensor2d([[1, 0, 0]]);
    const eps = 0.1;
    const smoothed = smoothLabels(y, eps);
    assert.deepEqual(
      smoothed.arraySync()[0].map((v) => +v.toFixed(6)),
      [0.933333, 0.033333, 0.033333],
    );
    const expected = -(0.9 + eps / 3) * Math.log(0.7) - (eps / 3) * Math.log(0.2) - (eps / 3) * Math.log(0.1);
    assert.ok(Math.abs(crossEntropy(probs, smoothed).dataSync()[0] - expected) < 1e-5);
    assert.equal(smoothLabels(y, 0), y, 'ε = 0 is the identity');
  });
});
