/**
 * The axes of the parallel-coordinates chart: every numeric or true/false parameter that differs between
 * the runs, the number of frozen layers when it differs (the freeze pattern in one number), and last the
 * chosen outcome. Pure: positions are fractions (0 = bottom, 1 = top), the canvas code only scales them.
 */
import type { ComparePanelState } from '../../src/protocol/webviewMessages';
import { formatDuration, formatLearningRate, formatLoss, formatPercent } from '../shared/format';
import { OUTCOMES, type OutcomeKey } from './model';

export interface ParallelAxis {
  key: string;
  /** Last part of the key, shown under the axis group. */
  label: string;
  group: string;
  kind: 'number' | 'boolean' | 'outcome';
  /** One per run (all runs, panel order); null where unknown. */
  values: (number | null)[];
  min: number;
  max: number;
  /** Values spread over decades (learning rates, L2): placed on a log scale. */
  log: boolean;
  format(value: number): string;
}

function numeric(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

function axis(
  key: string,
  kind: ParallelAxis['kind'],
  values: (number | null)[],
  format: (v: number) => string,
): ParallelAxis {
  const known = values.filter((v): v is number => v !== null);
  const min = Math.min(...known);
  const max = Math.max(...known);
  const log = kind === 'number' && min > 0 && max / min >= 100;
  const cut = key.lastIndexOf('.');
  return {
    key,
    label: cut >= 0 ? key.slice(cut + 1) : key,
    group: cut >= 0 ? key.slice(0, cut) : '',
    kind,
    values,
    min,
    max,
    log,
    format,
  };
}

const formatNumber = (v: number): string =>
  Math.abs(v) !== 0 && (Math.abs(v) < 0.01 || Math.abs(v) >= 1e5)
    ? formatLearningRate(v)
    : String(Number(v.toPrecision(4)));

export function outcomeValue(run: ComparePanelState['runs'][number], outcome: OutcomeKey): number | null {
  const value = run[outcome];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function formatOutcome(outcome: OutcomeKey, value: number): string {
  if (outcome === 'bestValAccuracy') return formatPercent(value);
  if (outcome === 'durationS') return formatDuration(value);
  if (outcome === 'epochsSinceBest') return String(value);
  return formatLoss(value);
}

export function parallelAxes(data: ComparePanelState, outcome: OutcomeKey): ParallelAxis[] {
  const axes: ParallelAxis[] = [];
  for (const parameter of data.parameters) {
    if (!parameter.differs) continue;
    const present = parameter.values.filter((v) => v !== null);
    if (present.length === 0) continue;
    const kind = present.every((v) => typeof v === 'boolean')
      ? 'boolean'
      : present.every((v) => typeof v === 'number')
        ? 'number'
        : undefined;
    if (!kind) continue; // text (optimizer, paths) and lists have no order to draw
    const values = parameter.values.map(numeric);
    if (new Set(values.filter((v) => v !== null)).size < 2) continue;
    axes.push(
      axis(parameter.key, kind, values, kind === 'boolean' ? (v) => (v ? 'true' : 'false') : formatNumber),
    );
  }
  if (data.freeze.source === 'model' && data.freeze.rows.length > 0) {
    const frozen = data.runs.map((_, i) =>
      data.freeze.rows.every((row) => row.states[i] === null)
        ? null
        : data.freeze.rows.filter((row) => row.states[i] === 'frozen').length,
    );
    if (new Set(frozen.filter((v) => v !== null)).size > 1)
      axes.push(axis('frozen layers', 'number', frozen, (v) => String(v)));
  }
  const values = data.runs.map((run) => outcomeValue(run, outcome));
  if (values.some((v) => v !== null)) {
    const label = OUTCOMES.find((o) => o.key === outcome)?.label ?? outcome;
    const a = axis(label, 'outcome', values, (v) => formatOutcome(outcome, v));
    axes.push({ ...a, label, group: 'outcome' });
  }
  return axes;
}

/** Where a value sits on its axis: 0 (bottom, min) … 1 (top, max); 0.5 when the axis has one value. */
export function axisPosition(axis: ParallelAxis, value: number): number {
  if (axis.max === axis.min) return 0.5;
  if (axis.log) return (Math.log(value) - Math.log(axis.min)) / (Math.log(axis.max) - Math.log(axis.min));
  return (value - axis.min) / (axis.max - axis.min);
}

/** 0 = worst of the runs, 1 = best, by the outcome's direction (lower loss is better). */
export function goodness(axis: ParallelAxis, outcome: OutcomeKey, value: number): number {
  const t = axis.max === axis.min ? 1 : (value - axis.min) / (axis.max - axis.min);
  return OUTCOMES.find((o) => o.key === outcome)?.lowerIsBetter ? 1 - t : t;
}
