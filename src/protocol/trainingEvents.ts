/**
 * Named training events (fastai-style: before_fit, before_epoch, after_batch, after_epoch, after_fit)
 * with typed payloads. The engine emits them; the trainer process forwards them over IPC; the CLI prints
 * them (`--json`: one per line). Keep them plain JSON.
 */
import type { BackendName } from './experimentConfig';
import type { GpuAdapterRecord } from './gpuAdapter';
import type { EpochMetrics, RunStatus } from './runRecord';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogEvent {
  type: 'log';
  level: LogLevel;
  message: string;
}

export interface BeforeFitEvent {
  type: 'beforeFit';
  runId: string;
  runDir: string;
  backend: BackendName;
  /** Backend `webgpu`: the adapter the run trains on. */
  adapter?: GpuAdapterRecord;
  classNames: string[];
  trainCount: number;
  valCount: number;
  epochs: number;
  batchesPerEpoch: number;
  trainableParams: number;
  frozenParams: number;
}

export interface BeforeEpochEvent {
  type: 'beforeEpoch';
  epoch: number;
}

export interface AfterBatchEvent {
  type: 'afterBatch';
  epoch: number;
  /** 1-based index of the batch within the epoch. */
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  /** Learning rate of the new head during this batch (it changes per batch with cosine / one-cycle). */
  lr?: number;
}

/** Gradual unfreezing: which pre-trained layers train from this epoch on. */
export interface PhaseEvent {
  type: 'phase';
  epoch: number;
  /** 0: head only; k: the top k blocks unfrozen. */
  phase: number;
  phases: number;
  trainable: string[];
  unfrozenNow: string[];
}

export interface AfterEpochEvent {
  type: 'afterEpoch';
  metrics: EpochMetrics;
  /** This epoch is the best so far for the monitored metric (its model was saved). */
  isBest: boolean;
  bestEpoch: number;
  /** Human explanation when `metrics.overfitting` turned on, e.g. "val_loss rose 3 epochs in a row while loss fell". */
  overfittingReason?: string;
}

export interface AfterFitEvent {
  type: 'afterFit';
  runId: string;
  runDir: string;
  status: RunStatus;
  epochsCompleted: number;
  bestEpoch?: number;
  best?: EpochMetrics;
  endReason?: string;
  error?: string;
}

export type TrainingEvent =
  | LogEvent
  | BeforeFitEvent
  | BeforeEpochEvent
  | PhaseEvent
  | AfterBatchEvent
  | AfterEpochEvent
  | AfterFitEvent;
