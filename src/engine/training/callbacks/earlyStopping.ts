/**
 * Early stopping with restore-best as a callback (tfjs-layers' EarlyStopping throws on
 * `restoreBestWeights`): after every epoch the tracker (earlyStopping.ts) reads the monitored metric; a
 * new best epoch keeps a copy of every weight (BatchNormalization statistics included) and has its model
 * saved (`onBest`); patience exhausted ends the fit after this epoch. Always present: with early stopping
 * off it still tracks the best epoch by val_loss, which is the model a run keeps.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EarlyStoppingConfig } from '../../../protocol/experimentConfig';
import type { EpochMetrics } from '../../../protocol/runRecord';
import { loadTensor, saveTensor } from '../checkpoint';
import { BestEpochTracker } from '../earlyStopping';
import type { CheckpointPart, EpochLogs, FitState, ModelWeights, TrainingCallback } from './trainingCallback';

export class EarlyStoppingCallback implements TrainingCallback {
  private readonly tracker: BestEpochTracker;
  private bestWeights: tf.Tensor[] | null = null;
  best: EpochMetrics | undefined;

  constructor(
    config: EarlyStoppingConfig | false,
    private readonly weights: Pick<ModelWeights, 'getWeights'>,
    /** Called when an epoch is the best so far (save the model now). */
    private readonly onBest: (metrics: EpochMetrics) => void | Promise<void>,
  ) {
    this.tracker = new BestEpochTracker(config);
  }

  beforeFit(state: FitState): void {
    const resume = state.resumeFrom;
    if (!resume) return;
    this.tracker.restore(resume.tracker);
    this.best = resume.best;
    this.bestWeights = resume.bestWeights ? resume.bestWeights.map(loadTensor) : null;
  }

  async afterEpoch(logs: EpochLogs, state: FitState): Promise<void> {
    const { metrics } = logs;
    const verdict = this.tracker.update(metrics.epoch, metrics[this.tracker.monitor]);
    if (verdict.improved) {
      tf.dispose(this.bestWeights ?? []);
      this.bestWeights = this.weights.getWeights().map((w) => w.clone());
      this.best = metrics;
      await this.onBest(metrics);
    }
    logs.isBest = verdict.improved;
    logs.bestEpoch = verdict.bestEpoch;
    if (verdict.stop) {
      state.stopAfterEpoch({
        status: 'completed',
        endReason: `early stopping: ${this.tracker.monitor} did not improve for ${verdict.wait} epochs (best: epoch ${verdict.bestEpoch})`,
      });
    }
  }

  async checkpointState(): Promise<CheckpointPart> {
    return {
      tracker: this.tracker.state(),
      ...(this.best ? { best: this.best } : {}),
      bestWeights: this.bestWeights ? await Promise.all(this.bestWeights.map((w) => saveTensor(w))) : null,
    };
  }

  /** The best epoch's weights, handed to the caller (who disposes them); null before any best epoch. */
  takeBestWeights(): tf.Tensor[] | null {
    const weights = this.bestWeights;
    this.bestWeights = null;
    return weights;
  }

  dispose(): void {
    tf.dispose(this.takeBestWeights() ?? []);
  }
}
