/** Stop at the next batch. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { StopOnSignalCallback } from '../../../src/engine/training/callbacks/stopOnSignal';
import { CancelFit } from '../../../src/engine/training/callbacks/trainingCallback';

describe('training callbacks: stop on signal', () => {
  it('lets batches through until the signal aborts, then cancels the fit as stopped, naming the epoch', () => {
    const controller = new AbortController();
    const callback = new StopOnSignalCallback(controller.signal);
    callback.beforeBatch({ epoch: 2, batch: 1, batches: 3 });
    controller.abort();
    assert.throws(
      () => callback.beforeBatch({ epoch: 2, batch: 2, batches: 3 }),
      (e: unknown) =>
        e instanceof CancelFit &&
        e.outcome.status === 'stopped' &&
        e.outcome.endReason === 'stopped by request during epoch 2 (that epoch is discarded)',
    );
    new StopOnSignalCallback(undefined).beforeBatch({ epoch: 1, batch: 1, batches: 1 });
  });
});
