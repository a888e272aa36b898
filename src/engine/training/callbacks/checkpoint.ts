/**
 * Epoch checkpoints as a callback, both ways. After every epoch: everything the next epoch depends on —
 * the model's weights, every optimizer's state, the history, the loop's and Math.random's generator
 * states, and each callback's own share (early stopping's tracker and best weights, the plateau
 * schedule) — handed to `onCheckpoint` (written to the run folder, checkpoint.ts). Before a resumed fit:
 * the weights and optimizers put back, after checking the checkpoint fits the model built now (the
 * other callbacks restore their own share from `state.resumeFrom`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RngState, SeededRng } from '../../../core/rng';
import { UserError } from '../../../core/userError';
import {
  captureOptimizer,
  loadTensor,
  restoreOptimizer,
  saveTensor,
  type FitCheckpoint,
  type OptimizerState,
} from '../checkpoint';
import type { CheckpointPart, EpochLogs, FitState, ModelWeights, TrainingCallback } from './trainingCallback';

export interface CheckpointSources {
  weights: ModelWeights;
  /** The optimizers, in the order they were created. */
  optimizers: readonly tf.Optimizer[];
  /** The loop's generator (shuffling, augmentation, mixing). */
  rng: Pick<SeededRng, 'state'>;
  /** The state of the generator behind Math.random now (the caller seeded it). */
  mathRandomState?: () => RngState;
  /** The other callbacks' shares (CallbackList.checkpointState). */
  parts: () => Promise<CheckpointPart>;
}

export class CheckpointCallback implements TrainingCallback {
  constructor(
    private readonly sources: CheckpointSources,
    private readonly onCheckpoint?: (checkpoint: FitCheckpoint) => void | Promise<void>,
  ) {}

  async beforeFit(state: FitState): Promise<void> {
    const resume = state.resumeFrom;
    if (!resume) return;
    const weights = this.sources.weights.getWeights();
    if (
      resume.weights.length !== weights.length ||
      resume.weights.some((w, i) => w.shape.join() !== weights[i].shape.join()) ||
      resume.optimizers.length !== this.sources.optimizers.length
    ) {
      throw new UserError(
        "The run's checkpoint does not fit the model this experiment builds now (the base model or the layer settings changed). Start a new run instead.",
      );
    }
    const restored = resume.weights.map(loadTensor);
    this.sources.weights.setWeights(restored);
    tf.dispose(restored);
    for (const [i, optimizer] of this.sources.optimizers.entries())
      await restoreOptimizer(optimizer, resume.optimizers[i]);
  }

  async afterEpoch(logs: EpochLogs, state: FitState): Promise<void> {
    if (this.onCheckpoint) await this.onCheckpoint(await this.capture(logs.metrics.epoch, state));
  }

  /** Everything the next epoch depends on, read out now. */
  async capture(epoch: number, state: FitState): Promise<FitCheckpoint> {
    const optimizers: OptimizerState[] = [];
    for (const optimizer of this.sources.optimizers) optimizers.push(await captureOptimizer(optimizer));
    const { tracker, best, bestWeights, extra } = await this.sources.parts();
    if (!tracker) throw new Error('checkpoint: no early-stopping tracker among the callbacks');
    return {
      epoch,
      history: [...state.history],
      tracker,
      ...(best ? { best } : {}),
      rng: this.sources.rng.state(),
      ...(this.sources.mathRandomState ? { mathRandom: this.sources.mathRandomState() } : {}),
      extra: extra ?? {},
      weights: await Promise.all(this.sources.weights.getWeights().map((w) => saveTensor(w))),
      bestWeights: bestWeights ?? null,
      optimizers,
    };
  }
}
