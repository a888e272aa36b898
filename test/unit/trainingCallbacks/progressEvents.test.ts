/** The progress events a run sends over IPC and prints in the CLI. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { TrainingEvent } from '../../../src/protocol/trainingEvents';
import { ProgressEventsCallback } from '../../../src/engine/training/callbacks/progressEvents';
import { epochMetrics } from './metricsFixture';

describe('training callbacks: progress events', () => {
  it('beforeEpoch, afterBatch (without the penalty and size) and afterEpoch (with the reason only when set)', () => {
    const events: TrainingEvent[] = [];
    const callback = new ProgressEventsCallback((e) => events.push(e));
    callback.beforeEpoch(2);
    callback.afterBatch({
      epoch: 2,
      batch: 1,
      batches: 3,
      loss: 0.7,
      penalty: 0.1,
      accuracy: 0.25,
      size: 8,
      lr: 0.01,
    });
    const metrics = epochMetrics({ epoch: 2 });
    callback.afterEpoch({ metrics, isBest: true, bestEpoch: 2 });
    callback.afterEpoch({ metrics, isBest: false, bestEpoch: 2, overfittingReason: 'because' });
    assert.deepEqual(events, [
      { type: 'beforeEpoch', epoch: 2 },
      { type: 'afterBatch', epoch: 2, batch: 1, batches: 3, loss: 0.7, accuracy: 0.25, lr: 0.01 },
      { type: 'afterEpoch', metrics, isBest: true, bestEpoch: 2 },
      { type: 'afterEpoch', metrics, isBest: false, bestEpoch: 2, overfittingReason: 'because' },
    ]);
  });
});
