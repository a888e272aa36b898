/** Number and duration formatting for the training panel. Pure (no DOM). */
import type { RunSummary } from '../../src/protocol/runRecord';

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

/** 4.2 → "4.2s", 125 → "2m 05s", 3725 → "1h 02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${pad(m)}m` : `${m}m ${pad(s)}s`;
}

/** "240 validation images", or "500 of 5000 validation images (…)" when Stop cut the evaluation short. */
export function imagesEvaluated(summary: RunSummary): string {
  const evaluated = summary.predictions.length;
  const total = summary.validationCount ?? evaluated;
  return total > evaluated
    ? `${evaluated} of ${total} validation images (the run was stopped: the evaluation was cut short)`
    : `${evaluated} validation images`;
}
