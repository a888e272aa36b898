/**
 * Side-by-side comparison of runs: the numbers that say which run generalizes best (best epoch and its
 * validation metrics, the final generalization gap, how long ago the best epoch was) and the experiment
 * parameters that differ between the runs — the rest is noise when asking "what changed?".
 * Pure functions over RunListings: nothing here touches the disk.
 */
import type { ExperimentConfig, MonitorName } from '../../protocol/experimentConfig';
import type { EpochMetrics, RunStatus } from '../../protocol/runRecord';
import type { RunListing } from './readRuns';
import { formatDuration } from '../portable/format';
import { runNotesOf } from './runNotes';

/** A metrics line as found on disk: only `epoch` is guaranteed (older or partial writers may omit the rest). */
export type MetricsLine = Partial<EpochMetrics> & { epoch: number };

export interface RunComparison {
  id: string;
  /** The name given with Rename (run.json `displayName`), else the experiment name. */
  name?: string;
  note?: string;
  status: RunStatus | 'unreadable';
  backend?: string;
  epochsCompleted: number;
  /** Metrics of the best epoch, when one is known. */
  best?: MetricsLine;
  /** val_loss − loss of the last epoch. */
  finalGap?: number;
  /** Epochs trained after the best one (what early stopping's patience spent). */
  epochsSinceBest?: number;
  durationS?: number;
  unreadable?: string;
}

export interface ParameterDiff {
  /** Dotted key, e.g. `training.learningRate` or `layers.block1/conv1`. */
  key: string;
  /** One value per config, in the order given; undefined where a config lacks the key. */
  values: unknown[];
}

const LOWER_IS_BETTER: Record<MonitorName, boolean> = {
  loss: true,
  val_loss: true,
  accuracy: false,
  val_accuracy: false,
};

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The metric early stopping watched; val_loss when early stopping was off (what "best" means then). */
export function monitoredMetric(config: ExperimentConfig | undefined): MonitorName {
  const earlyStopping = config?.training?.earlyStopping;
  return earlyStopping ? earlyStopping.monitor : 'val_loss';
}

/**
 * Best epoch by `monitor` (earliest on ties, as early stopping keeps the first best). When no line has
 * a finite value for it (e.g. a run without validation data), the next metric that has one is used.
 */
export function recomputeBestEpoch(
  metrics: readonly MetricsLine[],
  monitor: MonitorName,
): MetricsLine | undefined {
  const order: MonitorName[] = [monitor, 'val_loss', 'val_accuracy', 'loss', 'accuracy'];
  for (const metric of order) {
    let best: MetricsLine | undefined;
    for (const line of metrics) {
      const value = line[metric];
      if (!isFiniteNumber(value)) continue;
      const bestValue = best?.[metric] as number | undefined;
      if (bestValue === undefined || (LOWER_IS_BETTER[metric] ? value < bestValue : value > bestValue))
        best = line;
    }
    if (best) return best;
  }
  return undefined;
}

/** The best epoch as the run recorded it, else recomputed from metrics.jsonl by the monitored metric. */
export function bestEpochOf(run: RunListing): MetricsLine | undefined {
  const record = run.record;
  if (record && isFiniteNumber(record.bestEpoch)) {
    const line = run.metrics.find((m) => m.epoch === record.bestEpoch);
    if (line) return line;
    if (record.best) return { ...record.best, epoch: record.bestEpoch };
    return { epoch: record.bestEpoch };
  }
  return recomputeBestEpoch(run.metrics, monitoredMetric(record?.config));
}

function lastLine(metrics: readonly MetricsLine[]): MetricsLine | undefined {
  let last: MetricsLine | undefined;
  for (const line of metrics) if (!last || line.epoch >= last.epoch) last = line;
  return last;
}

/** val_loss − loss of the last epoch: how much worse the model does on data it did not train on. */
export function finalGap(metrics: readonly MetricsLine[]): number | undefined {
  const last = lastLine(metrics);
  if (!last || !isFiniteNumber(last.val_loss) || !isFiniteNumber(last.loss)) return undefined;
  return last.val_loss - last.loss;
}

function epochsCompletedOf(run: RunListing): number {
  const last = lastLine(run.metrics);
  return Math.max(last?.epoch ?? 0, run.record?.epochsCompleted ?? 0);
}

export function epochsSinceBest(
  run: RunListing,
  best: MetricsLine | undefined = bestEpochOf(run),
): number | undefined {
  if (!best) return undefined;
  return Math.max(0, epochsCompletedOf(run) - best.epoch);
}

/**
 * Wall-clock seconds of a run: start to end; start to `now` while it runs; otherwise (no end recorded,
 * e.g. a crashed run not yet marked) the sum of its epoch times.
 */
export function runDurationS(run: RunListing, now: number = Date.now()): number | undefined {
  const started = Date.parse(run.record?.startedAt ?? '');
  const ended = Date.parse(run.record?.endedAt ?? '');
  if (Number.isFinite(started) && Number.isFinite(ended)) return Math.max(0, (ended - started) / 1000);
  if (Number.isFinite(started) && run.effectiveStatus === 'running')
    return Math.max(0, (now - started) / 1000);
  const times = run.metrics.map((m) => m.time_s).filter(isFiniteNumber);
  return times.length > 0 ? times.reduce((a, b) => a + b, 0) : undefined;
}

export function summarizeRun(run: RunListing, now: number = Date.now()): RunComparison {
  const best = bestEpochOf(run);
  const notes = runNotesOf(run.record);
  return {
    id: run.id,
    name: notes.displayName ?? run.record?.name,
    ...(notes.note ? { note: notes.note } : {}),
    status: run.effectiveStatus,
    backend: run.record?.backend,
    epochsCompleted: epochsCompletedOf(run),
    best,
    finalGap: finalGap(run.metrics),
    epochsSinceBest: epochsSinceBest(run, best),
    durationS: runDurationS(run, now),
    unreadable: run.unreadable,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Dotted keys to leaf values; arrays become JSON strings so `[32,32]` compares as one value. */
export function flattenConfig(config: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const visit = (prefix: string, value: unknown): void => {
    if (Array.isArray(value)) {
      out[prefix] = JSON.stringify(value);
    } else if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) visit(prefix ? `${prefix}.${key}` : key, child);
    } else if (prefix) {
      out[prefix] = value;
    }
  };
  visit('', config);
  return out;
}

export interface ParameterRow extends ParameterDiff {
  /** Not the same in every config (missing configs aside). */
  differs: boolean;
}

/**
 * Every parameter of the configs, keys in first-seen order, each with its values and whether they differ.
 * A missing config (a run whose run.json is unreadable) gets undefined values but does not by itself make
 * a key differ: it says nothing about the parameters.
 */
export function parameterTable(configs: readonly (ExperimentConfig | undefined)[]): ParameterRow[] {
  const flat = configs.map((config) => (config === undefined ? undefined : flattenConfig(config)));
  const known = flat.filter((entries): entries is Record<string, unknown> => entries !== undefined);
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const entries of known) {
    for (const key of Object.keys(entries)) {
      if (!seen.has(key)) {
        seen.add(key);
        keys.push(key);
      }
    }
  }
  return keys.map((key) => {
    const values = flat.map((entries) => (entries && key in entries ? entries[key] : undefined));
    const first = JSON.stringify(known[0][key]);
    return { key, values, differs: known.some((entries) => JSON.stringify(entries[key]) !== first) };
  });
}

/** The parameters whose values are not the same in every config (see parameterTable). */
export function diffParameters(configs: readonly (ExperimentConfig | undefined)[]): ParameterDiff[] {
  return parameterTable(configs)
    .filter((row) => row.differs)
    .map(({ key, values }) => ({ key, values }));
}

const NONE = '—';

export function formatMetric(value: number | undefined, digits = 4): string {
  return isFiniteNumber(value) ? value.toFixed(digits) : NONE;
}

export function formatSigned(value: number | undefined, digits = 4): string {
  if (!isFiniteNumber(value)) return NONE;
  return (value >= 0 ? '+' : '') + value.toFixed(digits);
}

export function formatParameterValue(value: unknown): string {
  if (value === undefined) return NONE;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One row per run: outcome columns first, then only the parameters that differ between the runs. */
export function compareTable(
  runs: readonly RunListing[],
  now: number = Date.now(),
): { columns: string[]; rows: string[][] } {
  const summaries = runs.map((run) => summarizeRun(run, now));
  const diffs = diffParameters(runs.map((run) => run.record?.config));
  const columns = [
    'run',
    'status',
    'best val_acc',
    'best val_loss',
    'best epoch',
    'final gap',
    'since best',
    'duration',
    'backend',
    ...diffs.map((d) => d.key),
  ];
  const rows = summaries.map((s, i) => [
    s.id,
    s.status,
    formatMetric(s.best?.val_accuracy),
    formatMetric(s.best?.val_loss),
    s.best ? String(s.best.epoch) : NONE,
    formatSigned(s.finalGap),
    s.epochsSinceBest === undefined ? NONE : String(s.epochsSinceBest),
    formatDuration(s.durationS),
    s.backend ?? NONE,
    ...diffs.map((d) => formatParameterValue(d.values[i])),
  ]);
  return { columns, rows };
}
