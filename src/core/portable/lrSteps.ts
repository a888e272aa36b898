/**
 * The learning rate per batch, as the training panel draws it when a schedule (cosine, one-cycle) changes
 * it within epochs. Live points come from `afterBatch.lr`; for a run read back from disk (metrics.jsonl
 * holds one rate per epoch) the same points are recomputed from the schedule, which the training loop
 * follows exactly. Both keep the same few batches per epoch, so a long run stays a light chart.
 * Pure: the webview bundle and the extension host import it.
 */
import type { TrainingConfig } from '../../protocol/experimentConfig';
import { scheduledLearningRate } from './lrSchedule';

/** At most this many points per epoch (plus the epoch's last batch). */
export const LR_STEPS_PER_EPOCH = 24;

export interface LrStep {
  /** Fractional epoch at the end of the batch (where the loss chart draws batches): epoch − 1 + batch / batches. */
  x: number;
  /** The rate in effect during the batch. */
  y: number;
}

/** Whether batch `batch` (1-based) of `batches` is one of the points kept. */
export function keepsLrStep(batch: number, batches: number): boolean {
  const stride = Math.max(1, Math.ceil(batches / LR_STEPS_PER_EPOCH));
  return (batch - 1) % stride === 0 || batch === batches;
}

/**
 * Where batch `batch` is drawn: at its end, like the loss chart's batches, so an epoch's last batch meets
 * the epoch's own point (metrics.jsonl's `lr` is the rate of the epoch's last batch).
 */
export function lrStepX(epoch: number, batch: number, batches: number): number {
  return epoch - 1 + batch / Math.max(1, batches);
}

/** Only cosine and one-cycle change the rate within an epoch. */
export function changesWithinEpochs(training: Pick<TrainingConfig, 'schedule'>): boolean {
  return training.schedule.type === 'cosine' || training.schedule.type === 'onecycle';
}

/** The kept per-batch points of the first `epochsDone` epochs of a run (empty when the rate is per epoch). */
export function scheduledLrSteps(
  training: Pick<TrainingConfig, 'schedule' | 'learningRate' | 'epochs'>,
  epochsDone: number,
  batchesPerEpoch: number,
): LrStep[] {
  if (!changesWithinEpochs(training) || batchesPerEpoch < 1) return [];
  const steps: LrStep[] = [];
  for (let epoch = 1; epoch <= epochsDone; epoch++) {
    for (let batch = 1; batch <= batchesPerEpoch; batch++) {
      if (!keepsLrStep(batch, batchesPerEpoch)) continue;
      // The loop sets the rate of a batch at its start (`setProgress`).
      const progress = epoch - 1 + (batch - 1) / batchesPerEpoch;
      steps.push({
        x: lrStepX(epoch, batch, batchesPerEpoch),
        y: scheduledLearningRate(
          training.schedule,
          training.learningRate,
          progress,
          training.epochs,
          1 / batchesPerEpoch,
        ),
      });
    }
  }
  return steps;
}
