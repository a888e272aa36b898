/**
 * The learning-rate finder's result, shared by the engine (src/engine/lrFinder.ts), the trainer's IPC
 * (`--find-lr`) and the LR finder panel. A short sweep trains a throw-away copy of the experiment's model
 * with an exponentially growing learning rate; nothing of it is kept but these numbers.
 */
import type { BackendName } from './experimentConfig';

export interface LrFinderPoint {
  /** The head's learning rate at this step (the other groups keep their multipliers of it). */
  lr: number;
  /** The step's training loss (data loss, as the training loop reports it). */
  loss: number;
  /** Debiased exponential moving average of the loss (β = 0.98, as fastai). */
  smoothed: number;
}

export interface LrFinderResult {
  /** One per completed step, in order of growing learning rate; only finite values. */
  points: LrFinderPoint[];
  /** The learning rate at the steepest descent of the smoothed loss (most negative d loss / d log lr). */
  suggestion: number;
  /** The learning rate where the smoothed loss is lowest; `minLossLr / 10` is the second hint ("valley"). */
  minLossLr: number;
  /** The sweep ended before its last step because the loss blew up (over 4× its minimum, or not finite). */
  stoppedEarly: boolean;
  backend: BackendName;
  /** What the sweep covered: the learning-rate range and the steps planned. */
  startLr: number;
  endLr: number;
  steps: number;
  /** The experiment's name and its current training.learningRate, for the panel. */
  experimentName: string;
  currentLr: number;
  /** Seconds the whole sweep took, preparation included. */
  seconds: number;
  /** Why the suggestion deserves less trust (the loss never fell, too few steps…), when it does. */
  note?: string;
}

/** Default sweep: 1e-7 → 10 in 100 steps (fastai's lr_find). */
export const LR_FINDER_DEFAULTS = { startLr: 1e-7, endLr: 10, steps: 100 } as const;
