/**
 * Stop at the next batch: before every batch, an aborted signal (the Stop button, a Ctrl-C, the host
 * going away) ends the fit; the epoch in progress is discarded, the best model so far is kept.
 */
import { CancelFit, type BatchInfo, type TrainingCallback } from './trainingCallback';

export class StopOnSignalCallback implements TrainingCallback {
  constructor(private readonly signal: AbortSignal | undefined) {}

  beforeBatch({ epoch }: BatchInfo): void {
    if (this.signal?.aborted) {
      throw new CancelFit({
        status: 'stopped',
        endReason: `stopped by request during epoch ${epoch} (that epoch is discarded)`,
      });
    }
  }
}
