/** The overfitting callback: the flag on every epoch, the reason only where it turns on. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { OverfittingSignalCallback } from '../../../src/engine/training/callbacks/overfittingSignal';
import { FitProgress, type EpochLogs } from '../../../src/engine/training/callbacks/trainingCallback';
import { epochMetrics } from './metricsFixture';

describe('training callbacks: overfitting signal', () => {
  it('turns on after `patience` epochs of val_loss up and loss down, explains it once', () => {
    const callback = new OverfittingSignalCallback(2);
    const state = new FitProgress();
    const curve = [
      [1.0, 1.0],
      [0.8, 0.9],
      [0.6, 0.95],
      [0.5, 1.0],
      [0.4, 1.1],
      [0.45, 1.0],
    ];
    const flags: boolean[] = [];
    const reasons: (string | undefined)[] = [];
    curve.forEach(([loss, val_loss], i) => {
      const logs: EpochLogs = {
        metrics: epochMetrics({ epoch: i + 1, loss, val_loss }),
        isBest: false,
        bestEpoch: 0,
      };
      state.history.push(logs.metrics);
      callback.afterEpoch(logs, state);
      flags.push(logs.metrics.overfitting);
      reasons.push(logs.overfittingReason);
    });
    assert.deepEqual(flags, [false, false, false, true, true, false]);
    assert.equal(reasons.filter(Boolean).length, 1);
    assert.match(reasons[3]!, /val_loss rose 2 epochs in a row \(since epoch 2\) while loss fell/);
  });
});
