/** The divergence guard on scripted batch losses. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DivergenceGuardCallback } from '../../../src/engine/training/callbacks/divergenceGuard';
import { CancelFit, type BatchLogs } from '../../../src/engine/training/callbacks/trainingCallback';

const batch = (loss: number, penalty = 0): BatchLogs => ({
  epoch: 2,
  batch: 3,
  batches: 5,
  loss,
  penalty,
  accuracy: 0.5,
  size: 8,
  lr: 0.1,
});

describe('training callbacks: divergence guard, per batch', () => {
  it('a loss or a penalty that is not finite fails the fit at once, saying where and what to lower', () => {
    const guard = new DivergenceGuardCallback(0.5);
    guard.afterBatch(batch(2.3));
    for (const logs of [batch(NaN), batch(Infinity), batch(0.4, NaN)]) {
      assert.throws(
        () => guard.afterBatch(logs),
        (e: unknown) =>
          e instanceof CancelFit &&
          e.outcome.status === 'failed' &&
          e.outcome.endReason === 'diverged' &&
          /Training diverged at epoch 2, batch 3: .*Lower training\.learningRate \(now 0\.5\)/.test(
            e.outcome.error!,
          ),
      );
    }
  });
});
