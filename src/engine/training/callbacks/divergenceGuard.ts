/**
 * The divergence guard: a run whose loss blows up ends `failed`, with a message that says so and what to
 * change, instead of training on (or ending `completed` through early stopping) with a broken model.
 * - After every batch: a loss or penalty that is not finite ends the fit at once (the epoch is discarded).
 * - After every epoch: a loss far above chance that does not fall, or that jumped far above the best so far
 *   (divergence.ts), ends the fit once the epoch is recorded — the best epoch's model stays saved.
 */
import {
  divergenceMessage,
  divergenceVerdict,
  lowerLearningRateAdvice,
} from '../../../core/portable/divergence';
import { CancelFit, type BatchLogs, type FitState, type TrainingCallback } from './trainingCallback';

export interface DivergenceGuardOptions {
  learningRate: number;
  numClasses: number;
  /** The learning-rate finder's suggestion for this experiment, when it has run (lrFinderRecord.ts). */
  suggestion?: number;
}

export class DivergenceGuardCallback implements TrainingCallback {
  constructor(private readonly options: DivergenceGuardOptions) {}

  afterBatch(logs: BatchLogs): void {
    if (Number.isFinite(logs.loss) && Number.isFinite(logs.penalty)) return;
    const what = Number.isFinite(logs.loss)
      ? `the weight penalty became ${logs.penalty}`
      : `the loss became ${logs.loss}`;
    throw new CancelFit({
      status: 'failed',
      endReason: 'diverged',
      error: `Training diverged: ${what} at epoch ${logs.epoch}, batch ${logs.batch}; ${lowerLearningRateAdvice(this.options.learningRate, this.options.suggestion)}, or check the data's pixelRange.`,
    });
  }

  afterEpoch(_logs: unknown, state: FitState): void {
    const verdict = divergenceVerdict(state.history, this.options.numClasses);
    if (!verdict) return;
    state.stopAfterEpoch({
      status: 'failed',
      endReason: 'diverged',
      error: divergenceMessage(verdict, this.options.learningRate, this.options.suggestion),
    });
  }
}
