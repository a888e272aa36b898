/**
 * Messages between the extension host and its webviews (typed, both directions). A webview sends
 * `ready` first; the host only posts after it. Every message from a webview is checked with the
 * `is…` guards below before the host acts on it (a webview is untrusted input).
 */
import type { ExperimentConfig, LayerState } from './experimentConfig';
import type { LayerNode } from './layerTree';
import type { EpochMetrics, RunStatus, RunSummary } from './runRecord';

// ───────────────────────── Training panel (one run) ─────────────────────────

export interface BatchPoint {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
}

export interface TrainingPanelState {
  runId: string;
  name: string;
  status: RunStatus;
  backend: string;
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
    };

export type TrainingPanelToHost =
  | { type: 'ready' }
  | { type: 'showCell'; trueIndex: number; predictedIndex: number }
  | { type: 'openImage'; file: string }
  | { type: 'stopRun' };

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
  { type: 'init'; state: ExperimentPanelState } | { type: 'update'; state: ExperimentPanelState };

export type ExperimentPanelToHost =
  | { type: 'ready' }
  /** Sets one value by JSON path (e.g. ['training', 'learningRate']); `undefined` removes the key. */
  | { type: 'setValue'; path: (string | number)[]; value: unknown }
  | { type: 'layerEdit'; edit: LayerEdit }
  | { type: 'startTraining' };

// ───────────────────────── Guards for messages from webviews ─────────────────────────

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 10000;

export function isTrainingPanelToHost(v: unknown): v is TrainingPanelToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'stopRun':
      return true;
    case 'showCell':
      return isIndex(v.trueIndex) && isIndex(v.predictedIndex);
    case 'openImage':
      return typeof v.file === 'string' && v.file.length < 4096;
    default:
      return false;
  }
}

const LAYER_EDIT_KINDS = new Set([
  'setFrozen',
  'freezeUpTo',
  'unfreezeFrom',
  'setReinit',
  'setCut',
  'unfreezeAll',
]);

export function isLayerEdit(v: unknown): v is LayerEdit {
  if (!isObject(v) || typeof v.kind !== 'string' || !LAYER_EDIT_KINDS.has(v.kind)) return false;
  if (v.kind === 'unfreezeAll') return true;
  if (typeof v.path !== 'string' || v.path.length === 0 || v.path.length > 1024) return false;
  if (v.kind === 'setFrozen') return typeof v.frozen === 'boolean';
  if (v.kind === 'setReinit') return typeof v.reinit === 'boolean';
  return true;
}

export function isExperimentPanelToHost(v: unknown): v is ExperimentPanelToHost {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'startTraining':
      return true;
    case 'setValue':
      return (
        Array.isArray(v.path) &&
        v.path.length > 0 &&
        v.path.length <= 6 &&
        v.path.every((p) => (typeof p === 'string' && p.length < 256) || isIndex(p))
      );
    case 'layerEdit':
      return isLayerEdit(v.edit);
    default:
      return false;
  }
}
