/**
 * The training panel's state and how host messages change it. Pure (no DOM): the page keeps one
 * `PanelState`, runs every host message through `reducePanel`, renders the result and persists it with
 * `setState`, so a reloaded webview shows the same run before the host's `init` arrives.
 */
import type { EpochMetrics } from '../../src/protocol/runRecord';
import { keepsLrStep, lrStepX } from '../../src/core/portable/lrSteps';
import type {
  BatchPoint,
  HostToTrainingPanel,
  TrainingPanelState,
  TrainingPanelTab,
} from '../../src/protocol/webviewMessages';
import {
  initialDataTab,
  isDataMessage,
  reduceData,
  type DataMessage,
  type DataTabState,
} from './data/dataState';

/** The confusion-matrix cell the user clicked, and its images once the host answered. */
export interface CellSelection {
  trueIndex: number;
  predictedIndex: number;
  /** Undefined while the host has not answered `showCell` yet. */
  files?: { file: string; confidence: number }[];
}

/** What the page persists: the run as the host described it, plus the page's own selection. */
export interface PanelState {
  run?: TrainingPanelState;
  cell?: CellSelection;
  /** Suggestions already applied from this page (`adviceKey`), so a second click does not apply twice. */
  applied?: string[];
  /** The tab shown (persisted); absent: Training. */
  tab?: TrainingPanelTab;
  /** The Data tab (not persisted: the host posts it again after a reload). */
  data?: DataTabState;
}

/** Identifies one suggestion of one advice across updates (the label carries its values). */
export const adviceKey = (adviceId: string, index: number, label: string): string =>
  `${adviceId}#${index}#${label}`;

export function reducePanel(panel: PanelState, message: HostToTrainingPanel): PanelState {
  if (message.type === 'init') {
    // Another run (a revived panel) starts with nothing applied; the same run keeps what was applied.
    const same = panel.run?.runId === message.state.runId;
    const applied = same ? panel.applied : undefined;
    return {
      run: cloneRun(message.state),
      ...(applied ? { applied } : {}),
      ...(panel.tab ? { tab: panel.tab } : {}),
      ...(same && panel.data ? { data: panel.data } : {}),
    };
  }
  if (message.type === 'showTab') return { ...panel, tab: message.tab };
  if (isDataMessage(message)) return { ...panel, data: reduceData(panel.data ?? initialDataTab(), message) };
  if (message.type === 'cellImages') {
    // Only the answer to the cell still selected counts: a slow answer to an earlier click is dropped.
    const cell = panel.cell;
    if (!cell || cell.trueIndex !== message.trueIndex || cell.predictedIndex !== message.predictedIndex) {
      return panel;
    }
    return { ...panel, cell: { ...cell, files: message.files.slice() } };
  }
  // Without an `init` (or a restored state) there is no run to update: which run it is comes from init.
  if (!panel.run) return panel;
  const run = reduceRun(panel.run, message);
  // A new summary replaces the matrix, so an old selection would point at different counts.
  const cell = message.type === 'summary' ? undefined : panel.cell;
  return { ...panel, run, cell };
}

/** The page applied a suggestion (before the host confirms: the host shows what changed). */
export function markApplied(panel: PanelState, key: string): PanelState {
  return { ...panel, applied: [...(panel.applied ?? []).filter((k) => k !== key), key] };
}

/** Selecting a cell (before the host answers): the previous cell's images are dropped. */
export function selectCell(panel: PanelState, trueIndex: number, predictedIndex: number): PanelState {
  return { ...panel, cell: { trueIndex, predictedIndex } };
}

/** What the page persists with setState: everything but the Data tab (the host posts it again). */
export function persistedPanel(panel: PanelState): PanelState {
  const { data: _data, ...rest } = panel;
  return rest;
}

export function reduceRun(
  run: TrainingPanelState,
  message: Exclude<
    HostToTrainingPanel,
    { type: 'init' } | { type: 'cellImages' } | { type: 'showTab' } | DataMessage
  >,
): TrainingPanelState {
  switch (message.type) {
    case 'epoch': {
      const m = message.metrics;
      const metrics = upsertEpoch(run.metrics, m);
      // The epoch's batches are now summarised by its metrics; later ones (none expected) stay.
      const batches = run.batches.filter((b) => b.epoch > m.epoch);
      const overfitting =
        run.overfitting ??
        (message.overfittingReason ? { reason: message.overfittingReason, epoch: m.epoch } : undefined);
      return { ...run, metrics, batches, bestEpoch: message.bestEpoch, overfitting };
    }
    case 'batch': {
      const point: BatchPoint = {
        epoch: message.epoch,
        batch: message.batch,
        batches: message.batches,
        loss: message.loss,
        accuracy: message.accuracy,
      };
      // A batch of an epoch that already ended arrived late: its epoch's metrics already say more.
      if (run.metrics.some((m) => m.epoch >= point.epoch)) return run;
      // Only the epoch in progress is kept (a new epoch starts a new smoothed curve); a repeated batch
      // index replaces the earlier point so the series stays ordered.
      const batches = run.batches.filter((b) => b.epoch === point.epoch && b.batch < point.batch);
      batches.push(point);
      const lrSteps = withLrStep(run.lrSteps, message);
      return { ...run, batches, ...(lrSteps ? { lrSteps } : {}) };
    }
    case 'status':
      return {
        ...run,
        status: message.status,
        endReason: message.endReason ?? run.endReason,
        error: message.error ?? run.error,
        // Once the run is over there is no epoch in progress to draw.
        batches: message.status === 'running' ? run.batches : [],
      };
    case 'summary':
      return { ...run, summary: message.summary };
    case 'advice':
      return { ...run, advice: message.advice.slice() };
    case 'unfreezing':
      return { ...run, unfreezing: { ...message.unfreezing } };
  }
}

/** Adds a batch's learning rate to the per-batch LR curve (a few batches per epoch are kept). */
function withLrStep(
  steps: TrainingPanelState['lrSteps'],
  batch: BatchPoint,
): TrainingPanelState['lrSteps'] | undefined {
  if (typeof batch.lr !== 'number' || !Number.isFinite(batch.lr)) return undefined;
  if (!keepsLrStep(batch.batch, batch.batches)) return undefined;
  const x = lrStepX(batch.epoch, batch.batch, batch.batches);
  // Points stay in x order: a repeated or late batch replaces what is at or after its x.
  const kept = (steps ?? []).filter((p) => p.x < x);
  kept.push({ x, y: batch.lr });
  return kept;
}

function upsertEpoch(metrics: EpochMetrics[], m: EpochMetrics): EpochMetrics[] {
  const rest = metrics.filter((x) => x.epoch !== m.epoch);
  rest.push({ ...m });
  return rest.sort((a, b) => a.epoch - b.epoch);
}

function cloneRun(run: TrainingPanelState): TrainingPanelState {
  return {
    ...run,
    classNames: run.classNames.slice(),
    metrics: [...run.metrics].sort((a, b) => a.epoch - b.epoch),
    batches: run.batches.slice(),
    ...(Array.isArray(run.lrSteps) ? { lrSteps: run.lrSteps.slice() } : {}),
    ...(Array.isArray(run.advice) ? { advice: run.advice.slice() } : {}),
  };
}

// ───────────────────────── Derived values ─────────────────────────

export function bestMetrics(run: TrainingPanelState): EpochMetrics | undefined {
  return run.bestEpoch === undefined ? undefined : run.metrics.find((m) => m.epoch === run.bestEpoch);
}

/** First epoch the engine flagged as overfitting (from the metrics, else from the signal). */
export function firstOverfitEpoch(run: TrainingPanelState): number | undefined {
  return run.metrics.find((m) => m.overfitting)?.epoch ?? run.overfitting?.epoch;
}

/** Training time of the completed epochs, in seconds. */
export function elapsedSeconds(run: TrainingPanelState): number {
  return run.metrics.reduce((sum, m) => sum + (Number.isFinite(m.time_s) ? m.time_s : 0), 0);
}

/** Completed epochs plus the fraction of the one in progress, over the planned epochs (0…1). */
export function progressFraction(run: TrainingPanelState): number {
  if (run.epochsPlanned <= 0) return 0;
  const done = run.metrics.length > 0 ? run.metrics[run.metrics.length - 1].epoch : 0;
  const last = run.batches[run.batches.length - 1];
  const partial = last && last.batches > 0 ? last.batch / last.batches : 0;
  return Math.min(1, (done + partial) / run.epochsPlanned);
}

// ───────────────────────── Restoring persisted state ─────────────────────────

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads what `getState` returned. The page wrote it itself, but an older version of the page may have
 * written another shape: anything that does not look like a `PanelState` is discarded, not rendered.
 */
export function restorePanelState(saved: unknown): PanelState {
  if (!isObject(saved) || !isObject(saved.run)) return {};
  const run = saved.run;
  const looksValid =
    typeof run.runId === 'string' &&
    typeof run.name === 'string' &&
    typeof run.status === 'string' &&
    typeof run.backend === 'string' &&
    typeof run.epochsPlanned === 'number' &&
    Array.isArray(run.classNames) &&
    Array.isArray(run.metrics) &&
    Array.isArray(run.batches);
  if (!looksValid) return {};
  const cell = saved.cell;
  const cellValid =
    isObject(cell) && typeof cell.trueIndex === 'number' && typeof cell.predictedIndex === 'number';
  const applied = Array.isArray(saved.applied) ? saved.applied.filter((k) => typeof k === 'string') : [];
  return {
    run: cloneRun(run as unknown as TrainingPanelState),
    cell: cellValid ? (cell as unknown as CellSelection) : undefined,
    ...(applied.length > 0 ? { applied } : {}),
    ...(saved.tab === 'data' ? { tab: 'data' as const } : {}),
  };
}
