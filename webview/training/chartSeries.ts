/**
 * The points and axis settings of the three charts, derived from the run state. Pure (no DOM, no
 * chart.js) so tests can check them directly; charts.ts only copies them into the Chart instances.
 * x is the epoch: epoch N's metrics sit at x = N, a batch of epoch N at N − 1 + batch/batches.
 */
import type { EpochMetrics } from '../../src/protocol/runRecord';
import type { TrainingPanelState } from '../../src/protocol/webviewMessages';
import { bestMetrics, firstOverfitEpoch } from './state';
import { spansDecade } from '../shared/logAxis';
import { smoothedBatchSeries, type XY } from '../shared/smoothing';

/** Dataset indices of the loss and accuracy charts (tests read `chart.data.datasets[i]`). */
export const CURVE_DATASETS = { train: 0, val: 1, batch: 2, best: 3 } as const;
/** Dataset indices of the learning-rate chart. */
export const LR_DATASETS = { lr: 0, lrBase: 1, lrSteps: 2 } as const;

export interface CurveSeries {
  train: XY[];
  val: XY[];
  /** Smoothed per-batch values of the epoch in progress (empty when none). */
  batch: XY[];
  /** One point at the best epoch (empty when there is none yet). */
  best: XY[];
}

export interface ChartSeries {
  loss: CurveSeries;
  accuracy: CurveSeries;
  lr: {
    lr: XY[];
    lrBase: XY[];
    /** Per-batch rates, only when the schedule changes the rate within epochs. */
    lrSteps: XY[];
    logScale: boolean;
  };
  x: { min: number; max: number };
  bestEpoch?: number;
  /** Where the overfitting band starts (first flagged epoch). */
  overfitFrom?: number;
}

export function chartSeries(run: TrainingPanelState): ChartSeries {
  const best = bestMetrics(run);
  const curve = (train: keyof EpochMetrics, val: keyof EpochMetrics, batchField: 'loss' | 'accuracy') => ({
    train: points(run.metrics, train),
    val: points(run.metrics, val),
    batch: smoothedBatchSeries(run.batches, batchField),
    best: best ? points([best], val) : [],
  });
  const lr = points(run.metrics, 'lr');
  const lrBase = points(run.metrics, 'lr_base');
  const lrSteps = changesWithinEpochs(run.lrSteps ?? []) ? (run.lrSteps ?? []).map((p) => ({ ...p })) : [];
  return {
    loss: curve('loss', 'val_loss', 'loss'),
    accuracy: curve('accuracy', 'val_accuracy', 'accuracy'),
    lr: { lr, lrBase, lrSteps, logScale: spansDecade([...lr, ...lrBase, ...lrSteps].map((p) => p.y)) },
    x: xRange(run),
    bestEpoch: best?.epoch,
    overfitFrom: firstOverfitEpoch(run),
  };
}

/** Points of one metric; epochs where it is missing or not finite (a diverged loss) are left out. */
function points(metrics: readonly EpochMetrics[], field: keyof EpochMetrics): XY[] {
  const out: XY[] = [];
  for (const m of metrics) {
    const y = m[field];
    if (typeof y === 'number' && Number.isFinite(y)) out.push({ x: m.epoch, y });
  }
  return out;
}

/**
 * Whether per-batch rates differ inside one epoch (cosine, one-cycle): only then are they worth a curve of
 * their own — a per-epoch schedule's batches repeat the epoch's rate.
 */
export function changesWithinEpochs(steps: readonly XY[]): boolean {
  const firstOfEpoch = new Map<number, number>();
  for (const p of steps) {
    // A batch of epoch e lies in (e − 1, e] (drawn at its end).
    const epoch = Math.ceil(p.x - 1e-9);
    const first = firstOfEpoch.get(epoch);
    if (first === undefined) firstOfEpoch.set(epoch, p.y);
    else if (Math.abs(p.y - first) > 1e-9 * Math.max(Math.abs(first), Math.abs(p.y))) return true;
  }
  return false;
}

/**
 * The epoch axis. While running it spans the planned epochs, so the curve visibly grows towards the
 * end; once finished (possibly stopped early) it spans the epochs that ran. It starts at 0 only while
 * epoch 1's batches are drawn (they sit between 0 and 1).
 */
function xRange(run: TrainingPanelState): { min: number; max: number } {
  const min = run.batches.some((b) => b.epoch === 1) ? 0 : 1;
  const lastEpoch = run.metrics.length > 0 ? run.metrics[run.metrics.length - 1].epoch : 0;
  const lastBatchEpoch = run.batches.length > 0 ? run.batches[run.batches.length - 1].epoch : 0;
  const ran = Math.max(lastEpoch, lastBatchEpoch);
  const max = run.status === 'running' ? Math.max(run.epochsPlanned, ran) : ran;
  return { min, max: Math.max(max, min + 1) };
}
