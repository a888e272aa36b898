/** Early stopping with restore-best as a callback: best weights, onBest, the stop request, resume. */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/engine/backend/selectBackend';
import type { EpochMetrics } from '../../../src/protocol/runRecord';
import { EarlyStoppingCallback } from '../../../src/engine/training/callbacks/earlyStopping';
import { FitProgress, type EpochLogs } from '../../../src/engine/training/callbacks/trainingCallback';
import { epochMetrics } from './metricsFixture';

/** A "model" of one weight whose value is the epoch number. */
function weights(): { getWeights(): tf.Tensor[]; value: number } {
  const w = { value: 0, getWeights: () => [tf.scalar(w.value)] };
  return w;
}

async function feed(
  callback: EarlyStoppingCallback,
  model: { value: number },
  state: FitProgress,
  valLosses: number[],
  firstEpoch = 1,
): Promise<EpochLogs[]> {
  const all: EpochLogs[] = [];
  for (const [i, val_loss] of valLosses.entries()) {
    const epoch = firstEpoch + i;
    model.value = epoch;
    const logs: EpochLogs = { metrics: epochMetrics({ epoch, val_loss }), isBest: false, bestEpoch: 0 };
    state.history.push(logs.metrics);
    await callback.afterEpoch(logs, state);
    all.push(logs);
    if (state.stopRequest) break;
  }
  return all;
}

describe('training callbacks: early stopping', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('keeps the best epoch (weights, onBest), asks to stop after `patience` epochs without improvement', async () => {
    const model = weights();
    const saved: number[] = [];
    const callback = new EarlyStoppingCallback(
      { monitor: 'val_loss', patience: 2, minDelta: 0, restoreBestWeights: true },
      model,
      (m: EpochMetrics) => void saved.push(m.epoch),
    );
    const state = new FitProgress();
    const logs = await feed(callback, model, state, [1.0, 0.8, 0.9, 0.85, 0.5]);
    assert.deepEqual(
      logs.map((l) => [l.metrics.epoch, l.isBest, l.bestEpoch]),
      [
        [1, true, 1],
        [2, true, 2],
        [3, false, 2],
        [4, false, 2],
      ],
    );
    assert.deepEqual(saved, [1, 2]);
    assert.deepEqual(state.stopRequest, {
      status: 'completed',
      endReason: 'early stopping: val_loss did not improve for 2 epochs (best: epoch 2)',
    });
    assert.equal(callback.best?.epoch, 2);
    const best = callback.takeBestWeights()!;
    assert.equal(best[0].dataSync()[0], 2, "the best epoch's weights, not the last epoch's");
    assert.equal(callback.takeBestWeights(), null, 'handed over once');
    tf.dispose(best);
  });

  it('off: tracks the best epoch by val_loss and never asks to stop', async () => {
    const model = weights();
    const callback = new EarlyStoppingCallback(false, model, () => undefined);
    const state = new FitProgress();
    await feed(callback, model, state, [1, 2, 3, 4, 5, 6]);
    assert.equal(state.stopRequest, undefined);
    assert.equal(callback.best?.epoch, 1);
    callback.dispose();
  });

  it('resumed from its checkpoint share, gives the verdicts of the uninterrupted callback', async () => {
    const config = {
      monitor: 'val_accuracy' as const,
      patience: 2,
      minDelta: 0.01,
      restoreBestWeights: true,
    };
    const run = async (split?: number) => {
      const model = weights();
      let callback = new EarlyStoppingCallback(config, model, () => undefined);
      let state = new FitProgress();
      const curve = [0.5, 0.6, 0.605, 0.7, 0.69, 0.695];
      const verdicts: [number, boolean, number][] = [];
      const take = (ls: EpochLogs[]) =>
        ls.forEach((l) => verdicts.push([l.metrics.epoch, l.isBest, l.bestEpoch]));
      // val_accuracy is the monitor: fill it in, val_loss stays as it is.
      const feedAccuracy = async (values: number[], first: number) => {
        const out: EpochLogs[] = [];
        for (const [i, val_accuracy] of values.entries()) {
          model.value = first + i;
          const logs: EpochLogs = {
            metrics: epochMetrics({ epoch: first + i, val_accuracy }),
            isBest: false,
            bestEpoch: 0,
          };
          state.history.push(logs.metrics);
          await callback.afterEpoch(logs, state);
          out.push(logs);
          if (state.stopRequest) break;
        }
        return out;
      };
      if (split === undefined) take(await feedAccuracy(curve, 1));
      else {
        take(await feedAccuracy(curve.slice(0, split), 1));
        const share = await callback.checkpointState();
        callback.dispose();
        callback = new EarlyStoppingCallback(config, model, () => undefined);
        state = new FitProgress({ history: [...state.history], ...share } as never);
        callback.beforeFit(state);
        take(await feedAccuracy(curve.slice(split), split + 1));
      }
      const best = callback.takeBestWeights()!;
      const value = best[0].dataSync()[0];
      tf.dispose(best);
      return { verdicts, stop: state.stopRequest, value };
    };
    const whole = await run();
    for (const split of [1, 2, 3, 4])
      assert.deepEqual(await run(split), whole, `resumed after epoch ${split}`);
    assert.equal(whole.value, 4);
  });
});
