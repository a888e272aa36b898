/**
 * Smoothing of the per-batch values of the epoch in progress. Batch losses are noisy (one batch is a
 * handful of images), so the live curve is an exponential moving average; the EMA starts at 0 and would
 * sit far below the real loss for the first batches, so it is debiased by 1 − βᵗ (as Adam does with its
 * moment estimates). Pure: no DOM.
 */
import type { BatchPoint } from '../../src/protocol/webviewMessages';

/**
 * Weight of the history. 0.8 keeps about the last five batches: small datasets have ~10 batches per
 * epoch, and a heavier history would still be catching up when the epoch ends.
 */
export const SMOOTHING_BETA = 0.8;

/** avgₜ = β·avgₜ₋₁ + (1 − β)·xₜ with avg₀ = 0; returns avgₜ / (1 − βᵗ) for t = 1…n. */
export function debiasedEma(values: readonly number[], beta = SMOOTHING_BETA): number[] {
  const out: number[] = [];
  let avg = 0;
  let betaPower = 1;
  for (const value of values) {
    // A NaN/Infinity batch (a diverging step) would poison every later point: it is skipped, and the
    // point repeats the previous smoothed value.
    if (Number.isFinite(value)) {
      avg = beta * avg + (1 - beta) * value;
      betaPower *= beta;
    }
    out.push(betaPower === 1 ? Number.NaN : avg / (1 - betaPower));
  }
  return out;
}

export interface XY {
  x: number;
  y: number;
}

/** Fractional epoch of a batch: epoch 3, batch 5 of 10 → 2.5 (epoch N's metrics are plotted at x = N). */
export function batchX(point: BatchPoint): number {
  return point.epoch - 1 + (point.batches > 0 ? point.batch / point.batches : 1);
}

/** The smoothed live curve of one field (loss or accuracy) over the batches of the epoch in progress. */
export function smoothedBatchSeries(
  batches: readonly BatchPoint[],
  field: 'loss' | 'accuracy',
  beta = SMOOTHING_BETA,
): XY[] {
  const smoothed = debiasedEma(
    batches.map((b) => b[field]),
    beta,
  );
  const series: XY[] = [];
  batches.forEach((b, i) => {
    if (Number.isFinite(smoothed[i])) series.push({ x: batchX(b), y: smoothed[i] });
  });
  return series;
}
