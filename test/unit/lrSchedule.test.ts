import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  DEFAULT_SCHEDULE,
  PlateauScheduler,
  scheduledLearningRate,
  type ScheduleConfig,
} from '../../src/core/portable/lrSchedule';

const s = (patch: Partial<ScheduleConfig>): ScheduleConfig => ({ ...DEFAULT_SCHEDULE, ...patch });
const close = (a: number, b: number, tol = 1e-12): void =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≈ ${b}`);

describe('learning-rate schedules', () => {
  it('step decay multiplies by gamma every stepEpochs', () => {
    const lrs = [0, 1, 2, 3, 4, 5, 6].map((e) =>
      scheduledLearningRate(s({ type: 'step', stepEpochs: 2, gamma: 0.5 }), 0.1, e, 7),
    );
    lrs.forEach((lr, e) => close(lr, 0.1 * 0.5 ** Math.floor(e / 2)));
  });

  it('cosine warms up linearly, peaks, and anneals to the floor at the end', () => {
    const cfg = s({ type: 'cosine', warmupEpochs: 2, minLearningRate: 0.001 });
    close(scheduledLearningRate(cfg, 0.1, 0, 10), 0);
    close(scheduledLearningRate(cfg, 0.1, 1, 10), 0.05);
    close(scheduledLearningRate(cfg, 0.1, 2, 10), 0.1);
    close(scheduledLearningRate(cfg, 0.1, 6, 10), 0.001 + (0.1 - 0.001) / 2);
    close(scheduledLearningRate(cfg, 0.1, 10, 10), 0.001);
  });

  it('one-cycle rises from peak/25 to the peak at pctStart, then falls to peak/25e4', () => {
    const cfg = s({ type: 'onecycle', pctStart: 0.25 });
    close(scheduledLearningRate(cfg, 0.01, 0, 8), 0.01 / 25);
    close(scheduledLearningRate(cfg, 0.01, 2, 8), 0.01);
    close(scheduledLearningRate(cfg, 0.01, 8, 8), 0.01 / 25e4);
    const mid = scheduledLearningRate(cfg, 0.01, 1, 8);
    assert.ok(mid > 0.01 / 25 && mid < 0.01);
  });

  it('reduce-on-plateau cuts the rate after `patience` epochs without improvement', () => {
    const p = new PlateauScheduler(s({ type: 'plateau', patience: 2, factor: 0.1 }), 1);
    assert.deepEqual(
      [1.0, 0.8, 0.85, 0.9, 0.7, 0.75, 0.76].map((v) => p.update(v)),
      [1, 1, 1, 0.1, 0.1, 0.1, 0.010000000000000002],
    );
  });
});

describe('cosine warm-up per step', () => {
  it('gives each step the rate at its end: the first step trains, the last warm-up step reaches the peak', () => {
    const cfg = { ...DEFAULT_SCHEDULE, type: 'cosine' as const, warmupEpochs: 2, minLearningRate: 0 };
    const perEpoch = 4;
    const rates = Array.from({ length: 8 }, (_, b) =>
      scheduledLearningRate(cfg, 0.1, b / perEpoch, 10, 1 / perEpoch),
    );
    assert.ok(Math.abs(rates[0] - 0.1 / 8) < 1e-12, `first step: ${rates[0]}`);
    assert.ok(Math.abs(rates[7] - 0.1) < 1e-12, `last warm-up step: ${rates[7]}`);
    assert.ok(rates.every((r, i) => r > 0 && (i === 0 || r > rates[i - 1])));
    assert.equal(scheduledLearningRate(cfg, 0.1, 0, 10), 0, 'the continuous curve itself still starts at 0');
  });
});
