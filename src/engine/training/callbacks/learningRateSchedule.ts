/**
 * The learning-rate schedule as a callback: before every batch the optimizers get the rate of that point
 * of the run (cosine / one-cycle change per batch, step per epoch); after every epoch reduce-on-plateau
 * reads its metric. The arithmetic is lrSchedule.ts; the optimizers and groups are learningRateGroups.ts.
 */
import type { PlateauState } from '../learningRateGroups';
import type { BatchInfo, CheckpointPart, EpochLogs, FitState, TrainingCallback } from './trainingCallback';

/** What the callback drives (LearningRateGroups). */
export interface ScheduledRates {
  setProgress(progress: number, stepEpochs: number): void;
  endEpoch(metrics: EpochLogs['metrics']): void;
  scheduleState(): PlateauState | undefined;
  restoreSchedule(state: PlateauState | undefined): void;
}

export class LearningRateScheduleCallback implements TrainingCallback {
  constructor(private readonly rates: ScheduledRates) {}

  beforeFit(state: FitState): void {
    if (state.resumeFrom)
      this.rates.restoreSchedule(state.resumeFrom.extra.schedule as PlateauState | undefined);
  }

  beforeBatch({ epoch, batch, batches }: BatchInfo): void {
    this.rates.setProgress(epoch - 1 + (batch - 1) / batches, 1 / batches);
  }

  afterEpoch(logs: EpochLogs): void {
    this.rates.endEpoch(logs.metrics);
  }

  checkpointState(): CheckpointPart {
    const schedule = this.rates.scheduleState();
    return { extra: schedule ? { schedule } : {} };
  }
}
