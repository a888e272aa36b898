/** Number and duration formatting of the panels. Pure (no DOM). */
import type { RunSummary } from '../../src/protocol/runRecord';

// Durations read the same in the CLI, the Runs view and every panel.
export { formatDuration } from '../../src/core/portable/format';

/** A loss: four significant digits are enough to see it move; NaN/Infinity (divergence) spelled out. */
export function formatLoss(value: number | undefined): string {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toExponential(2) : value.toPrecision(4);
}

/** An accuracy / precision / recall in 0…1 as a percentage. */
export function formatPercent(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

/** A learning rate: they span decades (1e-5 … 1e-1), so exponent notation below 0.01. */
export function formatLearningRate(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  return Math.abs(value) < 0.01 ? value.toExponential(1) : String(Number(value.toPrecision(3)));
}

/** "240 validation images", or "500 of 5000 validation images (…)" when Stop cut the evaluation short. */
export function imagesEvaluated(summary: RunSummary): string {
  const evaluated = summary.predictions.length;
  const total = summary.validationCount ?? evaluated;
  return total > evaluated
    ? `${evaluated} of ${total} validation images (the run was stopped: the evaluation was cut short)`
    : `${evaluated} validation images`;
}
