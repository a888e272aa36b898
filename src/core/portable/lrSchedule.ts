/**
 * Learning-rate schedules, as pure functions of training progress so the LR curve a run will follow can be
 * drawn before it runs and tested exactly. Per-batch schedules (cosine with warm-up, one-cycle) take the
 * fractional epoch; step decay is per epoch; reduce-on-plateau reacts to the monitored metric and so is a
 * small state machine.
 */
import type { MonitorName, ScheduleConfig, TrainingConfig } from '../../protocol/experimentConfig';

export type { ScheduleConfig, ScheduleType } from '../../protocol/experimentConfig';
export { DEFAULT_SCHEDULE } from '../../protocol/experimentConfig';

const cosineBetween = (from: number, to: number, t: number): number =>
  to + ((from - to) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, t))))) / 2;

/**
 * Learning rate at `progress` epochs into training (0 ≤ progress ≤ totalEpochs; fractional within an epoch).
 * For `plateau` this is the starting rate: use PlateauScheduler for the rest. `stepEpochs` is the part of an
 * epoch one training step spans (1 / batches per epoch): a warm-up step gets the rate of its end, so the
 * first step does not train at a rate of exactly 0 and the last warm-up step reaches the peak.
 */
export function scheduledLearningRate(
  schedule: ScheduleConfig,
  peak: number,
  progress: number,
  totalEpochs: number,
  stepEpochs = 0,
): number {
  switch (schedule.type) {
    case 'constant':
    case 'plateau':
      return peak;
    case 'step':
      return peak * schedule.gamma ** Math.floor(progress / Math.max(1, schedule.stepEpochs));
    case 'cosine': {
      if (schedule.warmupEpochs > 0 && progress < schedule.warmupEpochs)
        return peak * Math.min(1, (progress + stepEpochs) / schedule.warmupEpochs);
      const span = Math.max(1e-9, totalEpochs - schedule.warmupEpochs);
      return cosineBetween(peak, schedule.minLearningRate, (progress - schedule.warmupEpochs) / span);
    }
    case 'onecycle': {
      // fastai's one-cycle: cosine up from peak/25 to the peak, then cosine down to the floor (peak/25e4 by default).
      const start = peak / 25;
      const end = schedule.minLearningRate > 0 ? schedule.minLearningRate : peak / 25e4;
      const rise = Math.max(1e-9, schedule.pctStart * totalEpochs);
      if (progress < rise) return cosineBetween(start, peak, progress / rise);
      return cosineBetween(peak, end, (progress - rise) / Math.max(1e-9, totalEpochs - rise));
    }
  }
}

/**
 * What reduce-on-plateau watches: the metric the run monitors (early stopping's), val_loss when early
 * stopping is off — one definition for the engine and the experiment panel.
 */
export function plateauMonitor(training: Pick<TrainingConfig, 'earlyStopping'>): MonitorName {
  return training.earlyStopping === false ? 'val_loss' : training.earlyStopping.monitor;
}

/** Reduce-on-plateau: after `patience` epochs without improvement of the monitored value, multiply by `factor`. */
export class PlateauScheduler {
  private best = Number.POSITIVE_INFINITY;
  private wait = 0;
  private rate: number;

  constructor(
    private readonly schedule: ScheduleConfig,
    peak: number,
    /** true for metrics where higher is better (accuracy). */
    private readonly higherIsBetter = false,
  ) {
    this.rate = peak;
  }

  get learningRate(): number {
    return this.rate;
  }

  /** Feeds an epoch's monitored value; returns the rate for the next epoch. */
  update(value: number): number {
    const score = this.higherIsBetter ? -value : value;
    if (Number.isFinite(score) && score < this.best) {
      this.best = score;
      this.wait = 0;
    } else if (++this.wait >= this.schedule.patience) {
      this.rate = Math.max(this.schedule.minLearningRate, this.rate * this.schedule.factor);
      this.wait = 0;
    }
    return this.rate;
  }

  /** For checkpoints. */
  get state(): { best: number; wait: number; rate: number } {
    return { best: this.best, wait: this.wait, rate: this.rate };
  }

  restore(state: { best: number; wait: number; rate: number }): void {
    this.best = state.best;
    this.wait = state.wait;
    this.rate = state.rate;
  }
}

/** The rate at the start of each epoch (and, with `stepsPerEpoch`, every step) — what the panel draws ahead of time. */
export function scheduleCurve(
  schedule: ScheduleConfig,
  peak: number,
  totalEpochs: number,
  stepsPerEpoch = 1,
): { progress: number; lr: number }[] {
  const points: { progress: number; lr: number }[] = [];
  for (let step = 0; step <= totalEpochs * stepsPerEpoch; step++) {
    const progress = step / stepsPerEpoch;
    points.push({ progress, lr: scheduledLearningRate(schedule, peak, progress, totalEpochs) });
  }
  return points;
}
