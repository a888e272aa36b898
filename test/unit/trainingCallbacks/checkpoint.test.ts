/** The checkpoint callback: what it captures after an epoch, and what it restores or refuses on resume. */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/engine/backend/selectBackend';
import { createRng } from '../../../src/core/rng';
import type { FitCheckpoint } from '../../../src/engine/training/checkpoint';
import { CheckpointCallback } from '../../../src/engine/training/callbacks/checkpoint';
import { FitProgress } from '../../../src/engine/training/callbacks/trainingCallback';
import { UserError } from '../../../src/core/userError';
import { epochMetrics } from './metricsFixture';

function model(values: number[][]) {
  const m = {
    values,
    getWeights: () => m.values.map((v) => tf.tensor1d(v)),
    setWeights: (ws: tf.Tensor[]) => {
      m.values = ws.map((w) => Array.from(w.dataSync()));
    },
  };
  return m;
}

describe('training callbacks: checkpoint', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it("after each epoch: the epoch, history, weights, optimizers, generators and the other callbacks' shares", async () => {
    const weights = model([[1, 2], [3]]);
    const optimizer = tf.train.sgd(0.1);
    const rng = createRng('cp');
    rng.next();
    const written: FitCheckpoint[] = [];
    const callback = new CheckpointCallback(
      {
        weights,
        optimizers: [optimizer],
        rng,
        mathRandomState: () => createRng('math').state(),
        parts: async () => ({
          tracker: { bestScore: 0.3, bestEpoch: 1, wait: 0 },
          bestWeights: null,
          extra: { x: 1 },
        }),
      },
      (c) => void written.push(c),
    );
    const state = new FitProgress();
    const metrics = epochMetrics({ epoch: 1 });
    state.history.push(metrics);
    await callback.afterEpoch({ metrics, isBest: true, bestEpoch: 1 }, state);
    assert.equal(written.length, 1);
    const c = written[0];
    assert.equal(c.epoch, 1);
    assert.deepEqual(c.history, [metrics]);
    assert.deepEqual(c.tracker, { bestScore: 0.3, bestEpoch: 1, wait: 0 });
    assert.deepEqual(c.extra, { x: 1 });
    assert.deepEqual(c.rng, rng.state());
    assert.deepEqual(c.mathRandom, createRng('math').state());
    assert.deepEqual(
      c.weights.map((w) => Array.from(w.data)),
      [[1, 2], [3]],
    );
    assert.equal(c.optimizers.length, 1);
    optimizer.dispose();
  });

  it('on resume: puts the weights back; refuses a checkpoint that does not fit the model built now', async () => {
    const saved = {
      history: [],
      extra: {},
      weights: [
        { shape: [2], dtype: 'float32', data: new Float32Array([5, 6]) },
        { shape: [1], dtype: 'float32', data: new Float32Array([7]) },
      ],
      optimizers: [],
    } as unknown as FitCheckpoint;
    const weights = model([[1, 2], [3]]);
    const sources = { weights, optimizers: [], rng: createRng('r'), parts: async () => ({}) };
    await new CheckpointCallback(sources).beforeFit(new FitProgress(saved));
    assert.deepEqual(weights.values, [[5, 6], [7]]);

    const other = model([[1, 2, 3], [4]]);
    await assert.rejects(
      new CheckpointCallback({ ...sources, weights: other }).beforeFit(new FitProgress(saved)),
      (e: unknown) =>
        e instanceof UserError && /does not fit the model this experiment builds now/.test(e.message),
    );
    assert.deepEqual(other.values, [[1, 2, 3], [4]], 'nothing restored');
  });
});
