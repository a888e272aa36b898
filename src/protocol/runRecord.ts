/** Shapes of the files in a run folder (`.finetune/runs/<runId>/`): README.md, "The run folder". */
import type { BackendName, ExperimentConfig } from './experimentConfig';
import type { GpuAdapterRecord } from './gpuAdapter';
import type { SweepTrialRef } from './sweepConfig';

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'crashed';

/** One line of metrics.jsonl. */
export interface EpochMetrics {
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  lr: number;
  time_s: number;
  /** Learning rate of trainable pre-trained layers (lr × fineTuneLearningRateMultiplier), when any. */
  lr_base?: number;
  /** Regularization penalty (L1 + L2 + L2-SP) averaged over the epoch's batches; not part of `loss`. */
  reg_loss?: number;
  /** Gradual unfreezing: how many pre-trained blocks were unfrozen during this epoch. */
  phase?: number;
  /** val_loss − loss: the generalization gap. */
  gap: number;
  /** True once val_loss has risen `overfitPatience` epochs in a row while loss fell. */
  overfitting: boolean;
}

export interface RunRecord {
  id: string;
  name: string;
  status: RunStatus;
  /** Absolute path of the experiment file the run came from. */
  experimentPath: string;
  config: ExperimentConfig;
  backend: BackendName;
  requestedBackend: string;
  /** Why the backend differs from the requested one (e.g. a kernel the wasm backend lacks). */
  backendNote?: string;
  /** Backend `webgpu`: the GPU adapter the run trained on. */
  adapter?: GpuAdapterRecord;
  datasetFingerprint: string;
  classNames: string[];
  counts: { train: number; val: number; skipped: number };
  epochsPlanned: number;
  epochsCompleted: number;
  startedAt: string;
  endedAt?: string;
  bestEpoch?: number;
  best?: EpochMetrics;
  /** Why the run ended early: early stopping, stop request, divergence… */
  endReason?: string;
  error?: string;
  pid: number;
  hostname: string;
  /** Warnings raised during the run (skipped files, backend fallback…), newest last. */
  warnings: string[];
  /** Each time the run was resumed: when, after which epoch (its checkpoint), and what it had ended as. */
  resumes?: { at: string; afterEpoch: number; was: RunStatus; pid: number }[];
  /** A sweep's trial: which sweep and trial, its parameters, the executor (and Slurm job id). */
  sweep?: SweepTrialRef;
}

export interface ClassMetrics {
  className: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface MisclassifiedImage {
  /** Path relative to the dataset folder. */
  file: string;
  trueClass: string;
  predictedClass: string;
  confidence: number;
}

/** One validation image as the saved model classified it. */
export interface Prediction {
  /** Path relative to the dataset folder. */
  file: string;
  trueIndex: number;
  predictedIndex: number;
  confidence: number;
}

/** summary.json: evaluation of the saved (best) model on the validation set. */
export interface RunSummary {
  epoch: number;
  classNames: string[];
  /** confusion[true][predicted] = count. */
  confusion: number[][];
  perClass: ClassMetrics[];
  accuracy: number;
  val_loss: number;
  misclassified: MisclassifiedImage[];
  /** Every validation image evaluated (so any confusion-matrix cell can list its images). */
  predictions: Prediction[];
  /**
   * Validation images of the run. More than predictions.length when Stop cut the evaluation short (a
   * stopped trainer ends within 2 s): the figures above are then over the images evaluated.
   */
  validationCount?: number;
}
