/** The schedule callback: the progress it sets per batch, what plateau reads, its checkpoint share. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { PlateauState } from '../../../src/engine/training/learningRateGroups';
import {
  LearningRateScheduleCallback,
  type ScheduledRates,
} from '../../../src/engine/training/callbacks/learningRateSchedule';
import { FitProgress } from '../../../src/engine/training/callbacks/trainingCallback';
import { epochMetrics } from './metricsFixture';

function fakeRates(
  state?: PlateauState,
): ScheduledRates & { progress: number[]; ended: number[]; restored: unknown[] } {
  const rates = {
    progress: [] as number[],
    ended: [] as number[],
    restored: [] as unknown[],
    setProgress: (p: number, step: number) => void rates.progress.push(p, step),
    endEpoch: (m: { epoch: number }) => void rates.ended.push(m.epoch),
    scheduleState: () => state,
    restoreSchedule: (s: PlateauState | undefined) => void rates.restored.push(s),
  };
  return rates;
}

describe('training callbacks: learning-rate schedule', () => {
  it('sets the fractional epoch before each batch: epoch e, batch b of n → e − 1 + (b − 1)/n, step 1/n', () => {
    const rates = fakeRates();
    const callback = new LearningRateScheduleCallback(rates);
    for (const epoch of [1, 2])
      for (let batch = 1; batch <= 4; batch++) callback.beforeBatch({ epoch, batch, batches: 4 });
    assert.deepEqual(
      rates.progress,
      [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75].flatMap((p) => [p, 0.25]),
      'with the part of an epoch each step spans',
    );
  });

  it('hands every finished epoch to reduce-on-plateau', () => {
    const rates = fakeRates();
    const callback = new LearningRateScheduleCallback(rates);
    callback.afterEpoch({ metrics: epochMetrics({ epoch: 3 }), isBest: false, bestEpoch: 0 });
    assert.deepEqual(rates.ended, [3]);
  });

  it('checkpoints the plateau state under extra.schedule and restores it on resume', () => {
    const plateau = { best: 0.7, wait: 1, rate: 0.005 };
    const callback = new LearningRateScheduleCallback(fakeRates(plateau));
    assert.deepEqual(callback.checkpointState(), { extra: { schedule: plateau } });
    assert.deepEqual(new LearningRateScheduleCallback(fakeRates()).checkpointState(), { extra: {} });

    const rates = fakeRates();
    new LearningRateScheduleCallback(rates).beforeFit(
      new FitProgress({ history: [], extra: { schedule: plateau } } as never),
    );
    assert.deepEqual(rates.restored, [plateau]);
    const fresh = fakeRates();
    new LearningRateScheduleCallback(fresh).beforeFit(new FitProgress());
    assert.deepEqual(fresh.restored, [], 'nothing to restore in a fresh fit');
  });
});
