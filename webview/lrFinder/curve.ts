/**
 * What the LR finder panel derives from a sweep, pure (no DOM): the rounded rates the buttons offer,
 * the points to plot, the loss axis range, and the sentences that explain the result.
 */
import type { LrFinderResult } from '../../src/protocol/lrFinder';
import { formatDuration, formatLearningRate } from '../shared/format';

export interface XY {
  x: number;
  y: number;
}

/** Two significant digits: what a person would type (3.2e-4), and exactly what the button writes. */
export function roundLearningRate(lr: number): number {
  return Number(lr.toPrecision(2));
}

/** The same value, as the panel prints it. */
export function formatRate(lr: number): string {
  return formatLearningRate(lr);
}

export function lossSeries(result: LrFinderResult): { raw: XY[]; smoothed: XY[] } {
  return {
    raw: result.points.map((p) => ({ x: p.lr, y: p.loss })),
    smoothed: result.points.map((p) => ({ x: p.lr, y: p.smoothed })),
  };
}

/** The smoothed loss at the point of the sweep nearest to `lr` (on a log scale). */
export function smoothedAt(result: LrFinderResult, lr: number): number | undefined {
  let best: { distance: number; y: number } | undefined;
  for (const p of result.points) {
    const distance = Math.abs(Math.log(p.lr) - Math.log(lr));
    if (!best || distance < best.distance) best = { distance, y: p.smoothed };
  }
  return best?.y;
}

/**
 * The loss axis, fitted to the part that matters: from the lowest loss up to a margin above the smoothed
 * curve's highest value before its minimum. Past the minimum the loss blows up (that is why the sweep
 * stopped); that rise runs off the top instead of flattening the descent into a line at the bottom.
 */
export function lossAxisRange(result: LrFinderResult): { min: number; max: number } | undefined {
  if (result.points.length === 0) return undefined;
  const smoothed = result.points.map((p) => p.smoothed);
  const minIndex = smoothed.indexOf(Math.min(...smoothed));
  const top = Math.max(...smoothed.slice(0, minIndex + 1));
  const bottom = Math.min(...smoothed, ...result.points.map((p) => p.loss));
  const span = Math.max(top - bottom, 1e-6);
  return { min: Math.max(0, bottom - span * 0.05), max: top + span * 0.35 };
}

/** One line under the title: how far the sweep went, where, and how long it took. */
export function sweepSummary(result: LrFinderResult): string {
  const range = `${formatRate(result.startLr)} → ${formatRate(result.endLr)}`;
  const steps = `${result.points.length} of ${result.steps} steps`;
  return `${steps} · ${range} · ${result.backend} · ${formatDuration(result.seconds)}`;
}

/** Why the sweep ended where it did. */
export function stopExplanation(result: LrFinderResult): string | undefined {
  if (!result.stoppedEarly) return undefined;
  const last = result.points[result.points.length - 1];
  const at = last ? ` at ${formatRate(last.lr)}` : '';
  return `The sweep stopped early${at}: the loss blew up (over 4× its lowest value, or not a number), so higher rates would diverge.`;
}
