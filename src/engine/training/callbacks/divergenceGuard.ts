/**
 * The divergence guard: a run whose loss blows up ends `failed`, with a message that says so and what to
 * change, instead of training on (or ending `completed` through early stopping) with a broken model.
 * After every batch: a loss or penalty that is not finite ends the fit at once.
 */
import { CancelFit, type BatchLogs, type TrainingCallback } from './trainingCallback';

export class DivergenceGuardCallback implements TrainingCallback {
  constructor(private readonly learningRate: number) {}

  afterBatch(logs: BatchLogs): void {
    if (Number.isFinite(logs.loss) && Number.isFinite(logs.penalty)) return;
    throw new CancelFit({
      status: 'failed',
      endReason: 'diverged',
      error: `Training diverged at epoch ${logs.epoch}, batch ${logs.batch}: the loss became ${logs.loss}. Lower training.learningRate (now ${this.learningRate}), or check the data's pixelRange.`,
    });
  }
}
