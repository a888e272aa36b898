/**
 * The run's progress as protocol events (trainingEvents.ts): `beforeEpoch`, `afterBatch` after every batch and
 * `afterEpoch` after every epoch, once the other callbacks have completed the epoch's logs (best epoch,
 * overfitting) and the checkpoint is written — a host that sees epoch k can resume from it.
 */
import type { TrainingEvent } from '../../../protocol/trainingEvents';
import type { BatchLogs, EpochLogs, TrainingCallback } from './trainingCallback';

export class ProgressEventsCallback implements TrainingCallback {
  constructor(private readonly emit: (event: TrainingEvent) => void) {}

  beforeEpoch(epoch: number): void {
    this.emit({ type: 'beforeEpoch', epoch });
  }

  afterBatch(logs: BatchLogs): void {
    this.emit({
      type: 'afterBatch',
      epoch: logs.epoch,
      batch: logs.batch,
      batches: logs.batches,
      loss: logs.loss,
      accuracy: logs.accuracy,
      lr: logs.lr,
    });
  }

  afterEpoch(logs: EpochLogs): void {
    this.emit({
      type: 'afterEpoch',
      metrics: logs.metrics,
      isBest: logs.isBest,
      bestEpoch: logs.bestEpoch,
      ...(logs.overfittingReason ? { overfittingReason: logs.overfittingReason } : {}),
    });
  }
}
