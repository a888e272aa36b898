/**
 * Messages between the extension host and its webviews (typed, both directions). A webview sends
 * `ready` first; the host only posts after it. Every message from a webview is checked by a guard
 * (messageGuards.ts, compiled from the descriptions in webviewMessageSchemas.ts) before the host acts on
 * it: a webview is untrusted input.
 */
import type { Advice } from './advice';
import type { AugmentationPreviewImage } from './augmentationPreview';
import type { DataInsightReport, GradCamResult } from './dataInsight';
import type { ExperimentConfig, LayerState } from './experimentConfig';
import type { LayerNode } from './layerTree';
import type { LrFinderResult } from './lrFinder';
import type { EpochMetrics, RunStatus, RunSummary } from './runRecord';

// ───────────────────────── Training panel (one run) ─────────────────────────

export interface BatchPoint {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  /** Learning rate of the new head during this batch (schedules change it per batch). */
  lr?: number;
}

export interface TrainingPanelState {
  runId: string;
  name: string;
  status: RunStatus;
  backend: string;
  /** Backend webgpu: the GPU adapter, in words (gpuAdapter.ts' adapterLabel). */
  adapter?: string;
  classNames: string[];
  epochsPlanned: number;
  metrics: EpochMetrics[];
  bestEpoch?: number;
  /** Batches of the epoch in progress (for the smoothed live loss). */
  batches: BatchPoint[];
  /** Set once the engine signalled overfitting: the reason and the epoch it was signalled at. */
  overfitting?: { reason: string; epoch: number };
  endReason?: string;
  error?: string;
  summary?: RunSummary;
  /** Advice from the curves (issue 7), each suggestion applicable with a click. */
  advice?: Advice[];
  /** Gradual unfreezing: the phase now, when the run uses it. */
  unfreezing?: UnfreezingInfo;
  /**
   * Learning rate per batch (a few points per epoch) when the schedule changes it within epochs;
   * x is the fractional epoch at which the rate took effect.
   */
  lrSteps?: { x: number; y: number }[];
}

/** Gradual unfreezing during a run: the phase now and which pre-trained layers train in it. */
export interface UnfreezingInfo {
  /** 0: head only; k: the top k blocks unfrozen. */
  phase: number;
  /** Blocks in the plan, when known. */
  phases?: number;
  /** The epoch this phase began. */
  since: number;
  /** Pre-trained layers that train in this phase, when known. */
  trainable?: string[];
  /** When the next block unfreezes (and its layers, when known). */
  next?: { epoch: number; layers?: string[] };
}

export type HostToTrainingPanel =
  | { type: 'init'; state: TrainingPanelState }
  | { type: 'epoch'; metrics: EpochMetrics; isBest: boolean; bestEpoch: number; overfittingReason?: string }
  | ({ type: 'batch' } & BatchPoint)
  | { type: 'status'; status: RunStatus; endReason?: string; error?: string }
  | { type: 'summary'; summary: RunSummary }
  /** Answer to `showCell`: the validation images of that confusion-matrix cell. */
  | {
      type: 'cellImages';
      trueIndex: number;
      predictedIndex: number;
      files: { file: string; confidence: number }[];
    }
  /** The advice for the run now (replaces the previous advice). */
  | { type: 'advice'; advice: Advice[] }
  | { type: 'unfreezing'; unfreezing: UnfreezingInfo }
  | DataTabToPanel;

export type TrainingPanelToHost =
  | { type: 'ready' }
  | { type: 'showCell'; trueIndex: number; predictedIndex: number }
  | { type: 'openImage'; file: string }
  | { type: 'stopRun' }
  /** Apply suggestion `index` of the advice `adviceId` to the run's experiment file. */
  | { type: 'applyAdvice'; adviceId: string; index: number }
  | DataTabToHost;

// ───────────────────────── Training panel: Data tab (issue 15) ─────────────────────────

export type TrainingPanelTab = 'training' | 'data';

/** What the Data tab's image actions do (dataset folders are edited by the host, undoably). */
export type DataAction = 'open' | 'move' | 'delete' | 'review';
export const DATA_ACTIONS: readonly DataAction[] = ['open', 'move', 'delete', 'review'];

export type DataTabToPanel =
  /** Switch to a tab (Find Label Issues opens the Data tab). */
  | { type: 'showTab'; tab: TrainingPanelTab }
  /** The analysis is running: what it does now, and how far (0…1) when known. */
  | { type: 'dataProgress'; message: string; fraction?: number }
  /** The analysis' answer; images marked as reviewed are already left out (`reviewed` of them). */
  | { type: 'dataReport'; report: DataInsightReport; reviewed: number }
  | { type: 'dataFailed'; error: string; cancelled?: boolean }
  /**
   * After an action (or its undo): images to hide from / show again in the gallery, what happened in
   * words, and what the panel's Undo would undo now (absent: nothing).
   */
  | { type: 'dataChange'; hide: string[]; show: string[]; message: string; undo?: string }
  /** Whether the dataset folder still is what the run trained on (run.json's dataset fingerprint). */
  | { type: 'dataMatch'; matches: boolean; message: string }
  | { type: 'gradCam'; result: GradCamResult }
  | { type: 'gradCamFailed'; file: string; classIndex: number; error: string }
  /** Answer to `previewImage` (the embedding map's clicked point): the image, or why there is none. */
  | { type: 'imagePreview'; file: string; dataUrl?: string; error?: string };

export type DataTabToHost =
  /** Run (or run again) the analysis for this run. */
  | { type: 'analyzeData' }
  | { type: 'cancelAnalysis' }
  /** An action on one image of the report (`toClass` for `move`: a class of the report). */
  | { type: 'dataAction'; action: DataAction; file: string; toClass?: string }
  /** Undo the last move made from this panel. */
  | { type: 'undoDataAction' }
  /** Grad-CAM of an image of the report or of the validation set, for class `classIndex`. */
  | { type: 'gradCam'; file: string; classIndex: number }
  | { type: 'previewImage'; file: string };

// ───────────────────────── Experiment panel ─────────────────────────

/** The experiment as the panel shows it. */
export interface ExperimentPanelState {
  experimentPath: string;
  /** The file's JSON as written (may be partial); the panel edits keys of this. */
  document: Record<string, unknown>;
  /** The resolved config when the file is valid. */
  config?: ExperimentConfig;
  /** Validation problems, one per line, already located (`file:line:col: …`). */
  errors: string[];
  warnings: string[];
  /** The base model's layer tree, when it could be read. */
  layers?: LayerNode[];
  /** Why the layer tree is missing. */
  layersError?: string;
  /** Resolved state of every leaf layer path (frozen / trainable / reinit). */
  layerStates: Record<string, LayerState>;
  /** The resolved head cut. */
  cutAt?: string;
}

/** Edits of the layer settings, shared by the sidebar's Layers view and the experiment panel. */
export type LayerEdit =
  | { kind: 'setFrozen'; path: string; frozen: boolean }
  | { kind: 'freezeUpTo'; path: string }
  | { kind: 'unfreezeFrom'; path: string }
  | { kind: 'setReinit'; path: string; reinit: boolean }
  | { kind: 'setCut'; path: string }
  | { kind: 'unfreezeAll' };

export type HostToExperimentPanel =
  | { type: 'init'; state: ExperimentPanelState }
  | { type: 'update'; state: ExperimentPanelState }
  /** Answer to `previewAugmentation` (the images, or why there are none). */
  | { type: 'augmentationPreview'; seed: number; images: AugmentationPreviewImage[]; error?: string };

export type ExperimentPanelToHost =
  | { type: 'ready' }
  /** Sets one value by JSON path (e.g. ['training', 'learningRate']); no value (undefined) removes the key. */
  | { type: 'setValue'; path: (string | number)[]; value?: unknown }
  | { type: 'layerEdit'; edit: LayerEdit }
  | { type: 'startTraining' }
  /** Real training images through the file's augmentation settings; `seed` picks images and draws. */
  | { type: 'previewAugmentation'; seed: number };

// ───────────────────────── Compare Runs panel ─────────────────────────

/** The metrics the compare panel can overlay. */
export type CompareMetric = 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy' | 'gap' | 'lr';

/**
 * Per-epoch values of one run, column by column: one entry per metrics.jsonl line, in epoch order;
 * null where the line lacks the value or it is not finite (a diverged loss, an older writer).
 */
export interface CompareSeries {
  epoch: number[];
  loss: (number | null)[];
  accuracy: (number | null)[];
  val_loss: (number | null)[];
  val_accuracy: (number | null)[];
  /** val_loss − loss. */
  gap: (number | null)[];
  lr: (number | null)[];
  time_s: (number | null)[];
}

/** One run as the compare panel shows it. */
export interface CompareRun {
  /** The run folder (absolute path): the run's key in messages both ways. */
  dir: string;
  runId: string;
  /** The name given with Rename, else the experiment name, else the run id. */
  name: string;
  note?: string;
  status: RunStatus | 'unreadable';
  backend?: string;
  startedAt?: string;
  epochsCompleted: number;
  epochsPlanned?: number;
  bestEpoch?: number;
  /** val_accuracy and val_loss of the best epoch. */
  bestValAccuracy?: number;
  bestValLoss?: number;
  /** val_loss − loss of the last epoch. */
  finalGap?: number;
  epochsSinceBest?: number;
  durationS?: number;
  /** Why run.json or some metrics lines could not be used. */
  problem?: string;
  series: CompareSeries;
}

/** A flattened config value (arrays as JSON text); null where the run has no such key or no config. */
export type CompareParameterValue = string | number | boolean | null;

export interface CompareParameter {
  /** Dotted key, e.g. `training.learningRate`. */
  key: string;
  /** One per run, in panel order. */
  values: CompareParameterValue[];
  /** Not the same in every run that has a config. */
  differs: boolean;
}

/** A layer's part in a run: its freeze state, or `after-cut` (replaced by the new head). */
export type FreezeCellState = 'frozen' | 'trainable' | 'reinit' | 'after-cut';

export interface FreezeDiffRow {
  /** Layer path (`outer/inner/conv1`). */
  path: string;
  /** One per run; null where that run's model has no such layer, or its state is not known. */
  states: (FreezeCellState | null)[];
  /** Per run: this is the layer the new head is attached after (`head.cutAt`). */
  cut: boolean[];
  differs: boolean;
}

export interface FreezeDiff {
  /**
   * `model`: rows are the base models' layers in order; `configs`: no base model could be read, rows are
   * only the layers the configs name; `loading`: the layer order is still being read.
   */
  source: 'model' | 'configs' | 'loading';
  rows: FreezeDiffRow[];
  /** Why rows or cells are incomplete (a base model that is gone, a layer the model lacks…). */
  notes: string[];
}

export interface ComparePanelState {
  runs: CompareRun[];
  parameters: CompareParameter[];
  freeze: FreezeDiff;
  /** The runs are a sweep's trials: its name and the metric it ranks them by (the parallel chart's outcome). */
  sweep?: { name: string; metric: 'val_accuracy' | 'val_loss' | 'accuracy' | 'loss' };
}

/** What the compare webview persists with setState; the host's serializer reopens `runDirs`. */
export interface ComparePanelSavedState {
  runDirs: string[];
}

export type HostToComparePanel =
  | { type: 'init'; state: ComparePanelState }
  /** Runs that changed on disk (a new epoch, a status change), matched by `dir`. */
  | { type: 'runs'; runs: CompareRun[] }
  /** The freeze-pattern diff once the base models' layer order has been read. */
  | { type: 'freeze'; freeze: FreezeDiff };

export type ComparePanelToHost =
  | { type: 'ready' }
  /** Open the run's training panel. */
  | { type: 'openRun'; dir: string }
  /** Ask where to save, then write the CSV text. */
  | { type: 'saveCsv'; suggestedName: string; csv: string }
  /** Ask where to save, then write the image (`data:image/png;base64,…`). */
  | { type: 'savePng'; suggestedName: string; dataUrl: string };

// ───────────────────────── LR finder panel ─────────────────────────

/** What the LR finder panel shows (and persists with setState, so the serializer can reopen it). */
export interface LrFinderPanelState {
  /** Absolute path of the experiment file the sweep ran on (and that "Use" writes to). */
  experimentPath: string;
  result: LrFinderResult;
  /** training.learningRate in the file now (it changes when a suggestion is used); absent when unreadable. */
  currentLr?: number;
}

export type HostToLrFinderPanel =
  | { type: 'init'; state: LrFinderPanelState }
  /** The file's training.learningRate changed (a suggestion was used, or the file was edited). */
  | { type: 'currentLr'; value: number | undefined };

export type LrFinderPanelToHost =
  | { type: 'ready' }
  /** Write this value to training.learningRate (an undoable edit of the experiment file). */
  | { type: 'useLearningRate'; value: number }
  /** Run the sweep again on the file as it is now. */
  | { type: 'findAgain' };
