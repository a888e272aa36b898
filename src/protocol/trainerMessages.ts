/**
 * IPC between the extension host (or any parent) and the trainer child process.
 * Handshake: the trainer sends `ready` (with the backend it initialised) before the parent sends `start`.
 * A `stop` makes the run end after the current batch; the best model is still saved.
 * Both sides check each message with a guard (messageGuards.ts, from trainerMessageSchemas.ts).
 */
import type { AugmentationPreviewImage } from './augmentationPreview';
import type { DataInsightProgress, DataInsightReport, GradCamResult } from './dataInsight';
import type { BackendChoice, BackendName } from './experimentConfig';
import type { GpuAdapterRecord } from './gpuAdapter';
import type { LayerNode } from './layerTree';
import type { LrFinderResult } from './lrFinder';
import type { TrainingEvent } from './trainingEvents';

export interface StartRequest {
  type: 'start';
  /** Absolute path of the `*.finetune.json` file. */
  experimentPath: string;
  /** Folder that holds run folders (`<workspace>/.finetune/runs`). */
  runsDir: string;
  overrides?: { epochs?: number; backend?: BackendChoice };
  /** Resume: a stopped or crashed run folder to continue from its last epoch checkpoint, in place. */
  resume?: string;
  pipeline?: PipelineSettings;
}

/** User settings of the data pipeline (VS Code settings, CLI flags); the engine's defaults otherwise. */
export interface PipelineSettings {
  /** Decoded images or cached activations up to this many MiB are held in memory (default 1024). */
  memoryBudgetMiB?: number;
  /** Train on cached activations of the frozen layers when the run allows it (default true). */
  activationCache?: boolean;
  /**
   * Threads of the wasm backend's kernels (`fineTune.trainerThreads`; default: every core). The trainer
   * also gets it as TRAINER_THREADS_ARG, to start its backend with it before `ready`.
   */
  trainerThreads?: number;
}

export interface StopRequest {
  type: 'stop';
}

export type HostToTrainer = StartRequest | StopRequest;

export interface ReadyMessage {
  type: 'ready';
  backend: BackendName;
  /** Backends that loaded in this process, in preference order. */
  available: BackendName[];
  pid: number;
  /** Backend `webgpu`: the adapter it initialised. */
  adapter?: GpuAdapterRecord;
}

export interface EventMessage {
  type: 'event';
  event: TrainingEvent;
}

/** The run ended (completed, stopped, or failed in a way the engine handled and recorded). */
export interface DoneMessage {
  type: 'done';
  runId: string;
  runDir: string;
  status: 'completed' | 'stopped' | 'failed';
  error?: string;
}

/** The trainer could not run at all (bad experiment file, unknown layer…); no run folder was written. */
export interface FailedMessage {
  type: 'failed';
  error: string;
}

/** Answer of a trainer started with `--describe <model.json>`: the layer tree, then it exits. */
export interface LayersMessage {
  type: 'layers';
  layers: LayerNode[];
  /** [height, width, channels] of the image input (null: any size). */
  inputShape: (number | null)[];
}

/** Progress of a trainer started with `--find-lr <experiment>`: one per step of the sweep. */
export interface LrFinderProgressMessage {
  type: 'lrFinderProgress';
  /** 1-based step, of `steps` planned (the sweep may stop before the last). */
  step: number;
  steps: number;
  lr: number;
  loss: number;
}

/** The learning-rate finder's answer; the trainer exits after it (or after `failed`). */
export interface LrFinderResultMessage {
  type: 'lrFinderResult';
  result: LrFinderResult;
}

/** Progress of a trainer started with `--analyze-data <experiment>` (dataInsight.ts). */
export interface DataInsightProgressMessage {
  type: 'dataInsightProgress';
  progress: DataInsightProgress;
}

/** The data-insight analysis; the trainer exits after it (or after `failed`). */
export interface DataInsightResultMessage {
  type: 'dataInsightResult';
  report: DataInsightReport;
}

/** Answer of a trainer started with `--explain <runDir> --image <file>`: the Grad-CAM overlay. */
export interface GradCamResultMessage {
  type: 'gradCamResult';
  result: GradCamResult;
}

export type TrainerToHost =
  | ReadyMessage
  | EventMessage
  | DoneMessage
  | FailedMessage
  | LayersMessage
  | AugmentationPreviewMessage
  | LrFinderProgressMessage
  | LrFinderResultMessage
  | DataInsightProgressMessage
  | DataInsightResultMessage
  | GradCamResultMessage;

/** Argument the parent passes to the forked trainer so it can pick its backend before `ready`. */
export const TRAINER_BACKEND_ARG = '--backend';
/** `--threads <n>`: threads of the trainer's wasm backend (absent: every core). */
export const TRAINER_THREADS_ARG = '--threads';
/** Argument that makes the trainer describe a model (`LayersMessage`) instead of training. */
export const TRAINER_DESCRIBE_ARG = '--describe';
/**
 * `--find-lr <experiment.finetune.json>`: the trainer runs the learning-rate finder instead of training
 * (log lines as `event`s, `lrFinderProgress` per step, then `lrFinderResult` or `failed`), then exits.
 * A `stop` message cancels it. No run folder is created.
 */
export const TRAINER_FIND_LR_ARG = '--find-lr';
/** With `--find-lr`: the activation cache folder training runs share (`<workspace>/.finetune/cache`). */
export const TRAINER_CACHE_DIR_ARG = '--cache-dir';
/** With `--find-lr`: where the answer is remembered for later runs (`<workspace>/.finetune/lr-finder`). */
export const TRAINER_LR_RECORD_DIR_ARG = '--lr-record-dir';

/**
 * The settings of a run from VS Code's fineTune.memoryBudgetMiB, fineTune.activationCache and
 * fineTune.trainerThreads (0: every core, left out).
 */
export function pipelineSettings(settings: { get<T>(key: string): T | undefined }): PipelineSettings {
  const budget = settings.get<number>('memoryBudgetMiB');
  const cache = settings.get<boolean>('activationCache');
  const threads = settings.get<number>('trainerThreads');
  return {
    // A workspace's settings may say anything: the budget is capped (MAX_MEMORY_BUDGET_MIB).
    ...(typeof budget === 'number' && Number.isFinite(budget) && budget > 0
      ? { memoryBudgetMiB: Math.min(budget, MAX_MEMORY_BUDGET_MIB) }
      : {}),
    ...(typeof cache === 'boolean' ? { activationCache: cache } : {}),
    ...(typeof threads === 'number' &&
    Number.isInteger(threads) &&
    threads >= 1 &&
    threads <= MAX_TRAINER_THREADS
      ? { trainerThreads: threads }
      : {}),
  };
}

/** The largest fineTune.memoryBudgetMiB taken (128 GiB); the host also caps it at half the machine's memory. */
export const MAX_MEMORY_BUDGET_MIB = 131072;

/** The largest fineTune.trainerMemoryMB taken (256 GiB); the host also caps it at the machine's memory. */
export const MAX_TRAINER_MEMORY_MB = 262144;

/** The most threads fineTune.trainerThreads / --threads take. */
export const MAX_TRAINER_THREADS = 64;

/** Answer of a trainer started with `--preview-augmentation <experiment>`: the images, then it exits. */
export interface AugmentationPreviewMessage {
  type: 'augmentationPreview';
  images: AugmentationPreviewImage[];
}
