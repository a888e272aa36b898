/**
 * The compare panel's state and pure derivations: host messages → data, the user's view settings
 * (metric, x axis, smoothing, hidden runs, sort, toggles) persisted with setState, the curve points of a
 * run (wall-time axis, debiased EMA smoothing) and the table's sort. No DOM: tested directly.
 */
import type {
  CompareMetric,
  ComparePanelState,
  CompareRun,
  CompareSeries,
  HostToComparePanel,
} from '../../src/protocol/webviewMessages';
import { debiasedEma, type XY } from '../shared/smoothing';

export type XAxis = 'epoch' | 'time';

/** Run outcomes the parallel-coordinates chart can end on. */
export type OutcomeKey = 'bestValAccuracy' | 'bestValLoss' | 'finalGap' | 'epochsSinceBest' | 'durationS';

export const METRICS: readonly { key: CompareMetric; label: string }[] = [
  { key: 'val_loss', label: 'val_loss' },
  { key: 'val_accuracy', label: 'val_accuracy' },
  { key: 'loss', label: 'loss' },
  { key: 'accuracy', label: 'accuracy' },
  { key: 'gap', label: 'gap (val_loss − loss)' },
  { key: 'lr', label: 'learning rate' },
];

export const OUTCOMES: readonly { key: OutcomeKey; label: string; lowerIsBetter: boolean }[] = [
  { key: 'bestValAccuracy', label: 'best val_accuracy', lowerIsBetter: false },
  { key: 'bestValLoss', label: 'best val_loss', lowerIsBetter: true },
  { key: 'finalGap', label: 'final gap', lowerIsBetter: true },
  { key: 'epochsSinceBest', label: 'epochs since best', lowerIsBetter: true },
  { key: 'durationS', label: 'duration', lowerIsBetter: true },
];

export interface SortOrder {
  /** A column id: see TABLE_COLUMNS, or `param:<key>`. */
  column: string;
  descending: boolean;
}

export interface CompareUi {
  metric: CompareMetric;
  x: XAxis;
  /** EMA weight β in [0, 0.99]; 0 draws the raw values. */
  smoothing: number;
  /** Run folders whose curves are hidden (legend toggles). */
  hidden: string[];
  sort?: SortOrder;
  onlyDifferences: boolean;
  onlyDifferingLayers: boolean;
  outcome: OutcomeKey;
}

export const DEFAULT_UI: CompareUi = {
  metric: 'val_loss',
  x: 'epoch',
  smoothing: 0,
  hidden: [],
  onlyDifferences: true,
  onlyDifferingLayers: false,
  outcome: 'bestValAccuracy',
};

export interface PageState {
  data?: ComparePanelState;
  ui: CompareUi;
}

/** Applies a host message. `runs` replaces the runs it names (by folder) and keeps the rest. */
export function reduce(page: PageState, message: HostToComparePanel): PageState {
  switch (message.type) {
    case 'init': {
      const dirs = new Set(message.state.runs.map((run) => run.dir));
      // Runs no longer shown do not stay hidden for the next selection that includes them.
      const ui = { ...page.ui, hidden: page.ui.hidden.filter((d) => dirs.has(d)) };
      // A sweep's trials open coloured by the sweep's own metric (the user may pick another after).
      const sweep = message.state.sweep;
      if (sweep && page.data?.sweep?.name !== sweep.name) ui.outcome = sweepOutcome(sweep.metric, ui.outcome);
      return { data: message.state, ui };
    }
    case 'runs': {
      if (!page.data) return page;
      const updates = new Map(message.runs.map((run) => [run.dir, run]));
      const runs = page.data.runs.map((run) => updates.get(run.dir) ?? run);
      return { ...page, data: { ...page.data, runs } };
    }
    case 'freeze':
      return page.data ? { ...page, data: { ...page.data, freeze: message.freeze } } : page;
  }
}

/** The parallel chart's outcome for a sweep metric: the validation loss or accuracy of the best epoch. */
export function sweepOutcome(metric: string, current: OutcomeKey): OutcomeKey {
  if (metric === 'val_loss') return 'bestValLoss';
  if (metric === 'val_accuracy') return 'bestValAccuracy';
  return current; // training loss / accuracy are not outcomes the chart offers
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What setState stores: the view settings and the runs shown (the host's serializer reopens those). */
export interface SavedState {
  runDirs: string[];
  ui: CompareUi;
}

/**
 * `restoredRunDirs`: what the previous page saved, kept until the host's `init` arrives — a reload in
 * between must not forget which runs the panel showed.
 */
export function savedState(page: PageState, restoredRunDirs: readonly string[] = []): SavedState {
  return { runDirs: page.data?.runs.map((run) => run.dir) ?? [...restoredRunDirs], ui: page.ui };
}

/** The run folders a saved state names (for savedState before `init`). */
export function restoreRunDirs(saved: unknown): string[] {
  const dirs = isObject(saved) && Array.isArray(saved.runDirs) ? saved.runDirs : [];
  return dirs.filter((d): d is string => typeof d === 'string');
}

/** Reads back what getState returned; anything of another shape falls back to the defaults. */
export function restoreUi(saved: unknown): CompareUi {
  const ui = isObject(saved) && isObject(saved.ui) ? saved.ui : {};
  const pick = <T>(value: unknown, ok: (v: unknown) => boolean, fallback: T): T =>
    ok(value) ? (value as T) : fallback;
  const sort = isObject(ui.sort) && typeof ui.sort.column === 'string' ? ui.sort : undefined;
  return {
    metric: pick(ui.metric, (v) => METRICS.some((m) => m.key === v), DEFAULT_UI.metric),
    x: pick(ui.x, (v) => v === 'epoch' || v === 'time', DEFAULT_UI.x),
    smoothing: pick(ui.smoothing, (v) => typeof v === 'number' && v >= 0 && v <= 0.99, DEFAULT_UI.smoothing),
    hidden: Array.isArray(ui.hidden) ? ui.hidden.filter((d): d is string => typeof d === 'string') : [],
    ...(sort ? { sort: { column: sort.column as string, descending: sort.descending === true } } : {}),
    onlyDifferences: pick(ui.onlyDifferences, (v) => typeof v === 'boolean', DEFAULT_UI.onlyDifferences),
    onlyDifferingLayers: pick(
      ui.onlyDifferingLayers,
      (v) => typeof v === 'boolean',
      DEFAULT_UI.onlyDifferingLayers,
    ),
    outcome: pick(ui.outcome, (v) => OUTCOMES.some((o) => o.key === v), DEFAULT_UI.outcome),
  };
}

// ───────────────────────── Curves ─────────────────────────

/**
 * Wall-clock seconds at the end of each epoch: the running sum of time_s. Known only up to the first
 * epoch whose time is missing or that does not follow the one before (a line lost to a crash): later
 * points would be placed too early, so they are left out rather than drawn at a wrong time.
 */
export function wallTimes(series: CompareSeries): (number | null)[] {
  const out: (number | null)[] = [];
  let total = 0;
  let known = true;
  series.epoch.forEach((epoch, i) => {
    const t = series.time_s[i];
    const follows = i === 0 ? epoch === 1 : epoch === series.epoch[i - 1] + 1;
    if (t === null || !follows) known = false;
    if (known) total += t!;
    out.push(known ? total : null);
  });
  return out;
}

export interface CurvePoints {
  raw: XY[];
  /** Equal to `raw` when smoothing is 0. */
  smoothed: XY[];
}

/** The points of one metric of one run; epochs where the metric (or, on the time axis, the time) is unknown are skipped. */
export function curvePoints(
  run: CompareRun,
  metric: CompareMetric,
  x: XAxis,
  smoothing: number,
): CurvePoints {
  const values = run.series[metric];
  const xs = x === 'epoch' ? run.series.epoch : wallTimes(run.series);
  const raw: XY[] = [];
  values.forEach((y, i) => {
    const xv = xs[i];
    if (y !== null && xv !== null) raw.push({ x: xv, y });
  });
  if (smoothing <= 0 || raw.length === 0) return { raw, smoothed: raw };
  const ema = debiasedEma(
    raw.map((p) => p.y),
    smoothing,
  );
  return { raw, smoothed: raw.map((p, i) => ({ x: p.x, y: ema[i] })) };
}

// ───────────────────────── Table ─────────────────────────

export type CellValue = string | number | boolean | null | undefined;

/** The fixed columns of the runs table: id, header, tooltip, and how to read the value from a run. */
export const TABLE_COLUMNS: readonly {
  id: string;
  label: string;
  title: string;
  value: (run: CompareRun) => CellValue;
  numeric: boolean;
}[] = [
  {
    id: 'name',
    label: 'Run',
    title: 'Run name (click to open its training panel)',
    value: (r) => r.name,
    numeric: false,
  },
  { id: 'status', label: 'Status', title: 'Run status', value: (r) => r.status, numeric: false },
  {
    id: 'bestValAccuracy',
    label: 'Best val_acc',
    title: 'val_accuracy at the best epoch',
    value: (r) => r.bestValAccuracy,
    numeric: true,
  },
  {
    id: 'bestValLoss',
    label: 'Best val_loss',
    title: 'val_loss at the best epoch',
    value: (r) => r.bestValLoss,
    numeric: true,
  },
  {
    id: 'bestEpoch',
    label: 'Best epoch',
    title: 'The epoch kept as best',
    value: (r) => r.bestEpoch,
    numeric: true,
  },
  {
    id: 'finalGap',
    label: 'Final gap',
    title: 'Generalization gap of the last epoch: val_loss − loss',
    value: (r) => r.finalGap,
    numeric: true,
  },
  {
    id: 'epochsSinceBest',
    label: 'Since best',
    title: 'Epochs trained after the best one',
    value: (r) => r.epochsSinceBest,
    numeric: true,
  },
  {
    id: 'epochs',
    label: 'Epochs',
    title: 'Epochs completed (of planned)',
    value: (r) => r.epochsCompleted,
    numeric: true,
  },
  { id: 'durationS', label: 'Duration', title: 'Wall-clock time', value: (r) => r.durationS, numeric: true },
  {
    id: 'backend',
    label: 'Backend',
    title: 'TensorFlow.js backend used',
    value: (r) => r.backend,
    numeric: false,
  },
];

/** The value a run has in a column (a fixed one, or `param:<key>`). */
export function cellValue(data: ComparePanelState, runIndex: number, column: string): CellValue {
  if (column.startsWith('param:')) {
    const key = column.slice('param:'.length);
    return data.parameters.find((p) => p.key === key)?.values[runIndex];
  }
  const fixed = TABLE_COLUMNS.find((c) => c.id === column);
  return fixed ? fixed.value(data.runs[runIndex]) : undefined;
}

/**
 * Run indices in table order. Without a sort: the order the runs were given (newest first). Missing
 * values always sort last, numbers numerically, text by locale with numbers inside ("run 2" < "run 10").
 */
export function sortedRunIndices(data: ComparePanelState, sort: SortOrder | undefined): number[] {
  const indices = data.runs.map((_, i) => i);
  if (!sort) return indices;
  const values = indices.map((i) => cellValue(data, i, sort.column));
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const direction = sort.descending ? -1 : 1;
  return indices.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    const missingA = va === null || va === undefined;
    const missingB = vb === null || vb === undefined;
    if (missingA || missingB) return missingA === missingB ? a - b : missingA ? 1 : -1;
    const order =
      typeof va === 'number' && typeof vb === 'number' ? va - vb : collator.compare(String(va), String(vb));
    return order !== 0 ? order * direction : a - b;
  });
}

/** Clicking a header: a new column sorts ascending (numbers: best first where that is known), then toggles. */
export function nextSort(current: SortOrder | undefined, column: string): SortOrder | undefined {
  if (current?.column !== column) return { column, descending: column === 'bestValAccuracy' };
  return { column, descending: !current.descending };
}
