/**
 * The arithmetic of the learning-rate finder, pure so it can be tested on scripted curves: the
 * exponential sweep, the debiased moving average of the loss, the stop rule, and the suggestions read
 * off the smoothed curve (fastai's lr_find: β = 0.98, stop beyond 4× the best loss, steepest descent and
 * "minimum / 10").
 */

/** Weight of the past in the loss's moving average. */
export const SMOOTHING_BETA = 0.98;
/** The sweep stops once the smoothed loss is this many times its minimum so far. */
export const DIVERGENCE_FACTOR = 4;

/** The learning rate of step `step` (0-based) of a sweep from `startLr` to `endLr` in `steps` steps. */
export function sweepLearningRate(step: number, steps: number, startLr: number, endLr: number): number {
  if (steps <= 1) return startLr;
  return startLr * (endLr / startLr) ** (step / (steps - 1));
}

/**
 * Exponential moving average with the bias correction of Adam: the raw average starts at 0, so early
 * values are divided by 1 − βⁿ; without it the first points would sit far below the real loss.
 */
export class SmoothedLoss {
  private average = 0;
  private count = 0;

  constructor(private readonly beta = SMOOTHING_BETA) {}

  /** Adds a step's loss; returns the smoothed value now. */
  add(loss: number): number {
    this.count += 1;
    this.average = this.beta * this.average + (1 - this.beta) * loss;
    return this.average / (1 - this.beta ** this.count);
  }
}

/** True when the sweep should stop: the loss is not finite, or it has blown up past 4× its minimum. */
export function hasDiverged(loss: number, smoothed: number, minSmoothed: number): boolean {
  if (!Number.isFinite(loss) || !Number.isFinite(smoothed)) return true;
  return smoothed > DIVERGENCE_FACTOR * minSmoothed;
}

export interface CurvePoint {
  lr: number;
  smoothed: number;
}

export interface LrSuggestion {
  /** The learning rate at the steepest descent of the smoothed loss. */
  suggestion: number;
  /** The learning rate at the lowest smoothed loss (`minLossLr / 10` is the "valley" hint). */
  minLossLr: number;
  /** Why the suggestion deserves less trust, when it does. */
  note?: string;
}

/**
 * Slope of the smoothed loss against log10(lr) at each point: central differences inside, one-sided
 * at the ends (numpy's `gradient`, which fastai's min_grad_lr uses). The sweep spaces log lr evenly, but
 * the actual spacing is used so that any list of points works.
 */
export function logSlopes(points: readonly CurvePoint[]): number[] {
  const n = points.length;
  const x = points.map((p) => Math.log10(p.lr));
  const y = points.map((p) => p.smoothed);
  return points.map((_, i) => {
    const lo = Math.max(0, i - 1);
    const hi = Math.min(n - 1, i + 1);
    return hi === lo ? 0 : (y[hi] - y[lo]) / (x[hi] - x[lo]);
  });
}

/**
 * Reads the suggestions off a sweep. The steepest descent is searched between the first tenth of the
 * points (where the average still rests on few losses; fastai skips it too) and the minimum (beyond it the
 * loss rises, and the fall after a spike of a diverging run is no place to train at).
 */
export function suggestLearningRate(points: readonly CurvePoint[]): LrSuggestion {
  if (points.length === 0) throw new Error('suggestLearningRate needs at least one point');
  let minIndex = 0;
  for (let i = 1; i < points.length; i++) if (points[i].smoothed < points[minIndex].smoothed) minIndex = i;
  const minLossLr = points[minIndex].lr;
  const valley = minLossLr / 10;
  if (points.length < 5) {
    return {
      suggestion: valley,
      minLossLr,
      note: `Only ${points.length} step${points.length === 1 ? '' : 's'} before the loss blew up: too few to see where it falls fastest. Lower the start of the sweep.`,
    };
  }
  const slopes = logSlopes(points);
  const from = Math.floor(points.length / 10);
  // The level the loss starts from: the mean over the first tenth, steadier than its first value.
  const first = points.slice(0, from + 1);
  const start = first.reduce((sum, p) => sum + p.smoothed, 0) / first.length;
  const drop = start > 0 ? (start - points[minIndex].smoothed) / start : 0;
  let steepest = from;
  for (let i = from; i <= minIndex; i++) if (slopes[i] < slopes[steepest]) steepest = i;
  if (minIndex <= from || slopes[steepest] >= 0) {
    return {
      suggestion: valley,
      minLossLr,
      note: 'The loss never fell during the sweep: even its lowest learning rate may be too high, or the model cannot learn from this data as set up. The suggestion is the lowest loss ÷ 10.',
    };
  }
  return {
    suggestion: points[steepest].lr,
    minLossLr,
    ...(drop < 0.05
      ? {
          note: `The loss fell only ${(drop * 100).toFixed(1)}% during the sweep, so the curve says little; try more steps or a wider range.`,
        }
      : {}),
  };
}
