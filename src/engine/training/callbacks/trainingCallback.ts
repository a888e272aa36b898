/**
 * The training loop's callbacks: fastai's named events with tfjs-layers' typed logs. The loop
 * (trainLoop.ts) only trains and evaluates; it fires beforeFit, beforeEpoch, beforeBatch, afterBatch,
 * afterEpoch and afterFit to a list of callbacks, and everything else — the learning-rate schedule,
 * gradual unfreezing, the divergence guard, the overfitting signal, early stopping with restore-best,
 * checkpoints, the progress events — is one callback each, in this folder, with its own tests.
 *
 * Callbacks get each event in the order of the list (the order is part of the behaviour: see fit()).
 * Cancellation is explicit, in two strengths:
 * - `throw new CancelFit(outcome)` from a handler ends the fit at once: the callbacks after it do not get
 *   that event, an epoch cut short is discarded (no afterEpoch for it), then afterFit fires (fastai's
 *   CancelFitException). For a stop request or a loss that became NaN.
 * - `state.stopAfterEpoch(outcome)` lets the epoch finish — every callback gets its afterEpoch — and
 *   starts no other (tfjs' `model.stopTraining = true`). For early stopping and a run that diverged
 *   without NaN: the epoch is recorded, then the run ends. A failed outcome overrides a gentler one.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { EpochMetrics } from '../../../protocol/runRecord';
import type { FitCheckpoint } from '../checkpoint';

export interface FitOutcome {
  status: 'completed' | 'stopped' | 'failed';
  endReason: string;
  error?: string;
}

/** Thrown by a callback to end the fit now (see the file comment). */
export class CancelFit extends Error {
  constructor(readonly outcome: FitOutcome) {
    super(outcome.error ?? outcome.endReason);
    this.name = 'CancelFit';
  }
}

export interface BatchInfo {
  /** 1-based. */
  epoch: number;
  /** 1-based index of the batch within the epoch. */
  batch: number;
  batches: number;
}

export interface BatchLogs extends BatchInfo {
  /** The batch's data loss (what the optimizer minimised, without the weight penalty). */
  loss: number;
  /** The weight penalty (L1 + L2 + L2-SP) of this step; 0 without regularization. */
  penalty: number;
  /** Fraction of the batch whose own label was predicted. */
  accuracy: number;
  /** Images in the batch. */
  size: number;
  /** The head's learning rate during this batch. */
  lr: number;
}

/** What afterEpoch handlers read and complete; the metrics object is the one metrics.jsonl records. */
export interface EpochLogs {
  metrics: EpochMetrics;
  /** Set by early stopping: this epoch is the best so far (its model was saved). */
  isBest: boolean;
  bestEpoch: number;
  /** Set by the overfitting signal when it turns on at this epoch. */
  overfittingReason?: string;
}

/** The fit as callbacks see it. */
export interface FitState {
  /** Finished epochs; at afterEpoch, the epoch just finished is the last one. */
  readonly history: EpochMetrics[];
  /** Resume: the checkpoint the fit continues after (callbacks restore their own part at beforeFit). */
  readonly resumeFrom?: FitCheckpoint;
  /** The gradual-unfreezing phase of the epoch in progress (set by that callback; recorded in the metrics). */
  unfreezePhase?: number;
  /** The outcome requested by stopAfterEpoch, if any. */
  readonly stopRequest?: FitOutcome;
  /** Ends the fit once the current epoch is finished (see the file comment). */
  stopAfterEpoch(outcome: FitOutcome): void;
}

/** A callback's share of an epoch checkpoint (checkpoint.ts holds the format). */
export type CheckpointPart = Partial<Pick<FitCheckpoint, 'tracker' | 'best' | 'bestWeights'>> & {
  extra?: Record<string, unknown>;
};

export interface TrainingCallback {
  beforeFit?(state: FitState): void | Promise<void>;
  beforeEpoch?(epoch: number, state: FitState): void | Promise<void>;
  beforeBatch?(batch: BatchInfo, state: FitState): void | Promise<void>;
  afterBatch?(logs: BatchLogs, state: FitState): void | Promise<void>;
  afterEpoch?(logs: EpochLogs, state: FitState): void | Promise<void>;
  /** Also after a CancelFit; not after an error. */
  afterFit?(outcome: FitOutcome, state: FitState): void | Promise<void>;
  /**
   * What the next epoch needs of this callback's state, for the epoch checkpoint (asynchronous where it reads
   * tensors: the webgpu backend cannot read GPU memory synchronously in Node).
   */
  checkpointState?(): CheckpointPart | Promise<CheckpointPart>;
}

const SEVERITY: Record<FitOutcome['status'], number> = { completed: 0, stopped: 1, failed: 2 };

export class FitProgress implements FitState {
  readonly history: EpochMetrics[];
  unfreezePhase?: number;
  private requested?: FitOutcome;

  constructor(readonly resumeFrom?: FitCheckpoint) {
    this.history = resumeFrom ? [...resumeFrom.history] : [];
  }

  get stopRequest(): FitOutcome | undefined {
    return this.requested;
  }

  stopAfterEpoch(outcome: FitOutcome): void {
    if (!this.requested || SEVERITY[outcome.status] > SEVERITY[this.requested.status])
      this.requested = outcome;
  }
}

/** Fires each event to every callback in order, awaiting each. */
export class CallbackList {
  constructor(readonly callbacks: readonly TrainingCallback[]) {}

  async beforeFit(state: FitState): Promise<void> {
    for (const c of this.callbacks) await c.beforeFit?.(state);
  }
  async beforeEpoch(epoch: number, state: FitState): Promise<void> {
    for (const c of this.callbacks) await c.beforeEpoch?.(epoch, state);
  }
  async beforeBatch(batch: BatchInfo, state: FitState): Promise<void> {
    for (const c of this.callbacks) await c.beforeBatch?.(batch, state);
  }
  async afterBatch(logs: BatchLogs, state: FitState): Promise<void> {
    for (const c of this.callbacks) await c.afterBatch?.(logs, state);
  }
  async afterEpoch(logs: EpochLogs, state: FitState): Promise<void> {
    for (const c of this.callbacks) await c.afterEpoch?.(logs, state);
  }
  async afterFit(outcome: FitOutcome, state: FitState): Promise<void> {
    for (const c of this.callbacks) await c.afterFit?.(outcome, state);
  }

  /** Every callback's checkpoint share, merged (`extra` objects merged key by key). */
  async checkpointState(): Promise<CheckpointPart> {
    const merged: CheckpointPart = { extra: {} };
    for (const c of this.callbacks) {
      const part = await c.checkpointState?.();
      if (!part) continue;
      const { extra, ...rest } = part;
      Object.assign(merged, rest);
      Object.assign(merged.extra!, extra ?? {});
    }
    return merged;
  }
}

/** Weights the callbacks read and write: the training model's (tfjs LayersModel's getWeights/setWeights). */
export interface ModelWeights {
  getWeights(): tf.Tensor[];
  setWeights(weights: tf.Tensor[]): void;
}
