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
    const guard = new DivergenceGuardCallback({ learningRate: 0.5, numClasses: 3 });
    guard.afterBatch(batch(2.3));
    for (const logs of [batch(NaN), batch(Infinity), batch(0.4, NaN)]) {
      assert.throws(
        () => guard.afterBatch(logs),
        (e: unknown) =>
          e instanceof CancelFit &&
          e.outcome.status === 'failed' &&
          e.outcome.endReason === 'diverged' &&
          /^Training diverged: the (loss|weight penalty) became .* at epoch 2, batch 3; lower training\.learningRate \(now 0\.5/.test(
            e.outcome.error!,
          ),
      );
    }
  });
});

describe('training callbacks: divergence guard, per epoch', () => {
  it('a saturated loss that does not fall ends the fit after the epoch, failed — over early stopping’s gentler request', async () => {
    const { FitProgress } = await import('../../../src/engine/training/callbacks/trainingCallback');
    const { epochMetrics } = await import('./metricsFixture');
    const guard = new DivergenceGuardCallback({ learningRate: 1e6, numClasses: 3, suggestion: 0.002 });
    const state = new FitProgress();
    const epoch = (n: number, loss: number) => {
      const metrics = epochMetrics({ epoch: n, loss, val_loss: loss, val_accuracy: 0.33 });
      state.history.push(metrics);
      guard.afterEpoch({ metrics, isBest: false, bestEpoch: 1 }, state);
    };
    const request = () => state.stopRequest;
    epoch(1, 8.3);
    assert.equal(request(), undefined, 'one epoch far above chance is not enough');
    state.stopAfterEpoch({ status: 'completed', endReason: 'early stopping' });
    epoch(2, 10.7);
    assert.equal(request()?.status, 'failed');
    assert.equal(request()?.endReason, 'diverged');
    assert.match(request()?.error ?? '', /^Training diverged: .*suggested 0\.002 for this experiment\)\.$/);
  });
});
