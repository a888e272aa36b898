/**
 * When a run has diverged without the loss ever becoming NaN: a learning rate far too high saturates the
 * softmax, the model becomes confidently wrong, and the loss sits far above what guessing gives — ln K for
 * K classes — epoch after epoch (with tfjs' clipping at 1e-7, a saturated model's loss is about
 * 16.1 × the fraction it gets wrong: ~10.7 for 3 classes at chance). Pure, on a run's epoch metrics: the
 * divergence guard ends such a run `failed`, and the curve advice says the same, from the same rules.
 *
 * The rules (both need the validation loss far above chance too, so one noisy training epoch is not enough):
 * - saturated and not falling: the training loss far above chance in this epoch and the one before, and
 *   down by less than 10 % between them;
 * - a jump: the training loss far above chance now, and at least 5× the lowest epoch loss so far (the run
 *   had learned, then blew up).
 * "Far above chance" is max(2 ln K, ln K + 1), capped halfway between ln K and the largest loss there is
 * (−ln 1e-7), which a model with many classes could otherwise never reach.
 */
import type { EpochMetrics } from '../../protocol/runRecord';

/** The largest per-image cross-entropy: probabilities are clipped at 1e-7 (evaluate.ts). */
export const MAX_CROSS_ENTROPY = -Math.log(1e-7);
/** The loss has to fall by at least this fraction per epoch to count as falling. */
export const FALLING_FRACTION = 0.1;
/** A jump: the loss this many times its lowest epoch so far. */
export const JUMP_FACTOR = 5;

export type DivergenceMetrics = Pick<
  EpochMetrics,
  'epoch' | 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy'
>;

/** ln K: the loss of a model that predicts every class with probability 1/K. */
export function chanceLoss(numClasses: number): number {
  return Math.log(Math.max(2, numClasses));
}

/** The loss above which a model is confidently wrong rather than unsure (see the file comment). */
export function farAboveChance(numClasses: number): number {
  const chance = chanceLoss(numClasses);
  return Math.min(Math.max(2 * chance, chance + 1), (chance + MAX_CROSS_ENTROPY) / 2);
}

export interface DivergenceVerdict {
  /** The epoch the verdict is about (the last one). */
  epoch: number;
  /** What was seen, in words, to follow "Training diverged: ". */
  reason: string;
}

const f2 = (n: number): string => n.toFixed(2);

/** Diverged as of the last epoch of `history` (undefined when not). */
export function divergenceVerdict(
  history: readonly DivergenceMetrics[],
  numClasses: number,
): DivergenceVerdict | undefined {
  const now = history[history.length - 1];
  if (!now) return undefined;
  const limit = farAboveChance(numClasses);
  const chance = chanceLoss(numClasses);
  const far = (m: DivergenceMetrics): boolean => m.loss > limit && m.val_loss > limit;
  if (!far(now)) return undefined;
  const guessing = 1 / Math.max(2, numClasses);
  const atChance = now.val_accuracy <= 1.5 * guessing;
  const accuracy = atChance
    ? `, and val_accuracy ${f2(now.val_accuracy)} is no better than guessing (${f2(guessing)})`
    : '';
  const chanceText = `${f2(chance)}, the loss of guessing among ${numClasses} classes`;

  const before = history[history.length - 2];
  if (before && far(before) && now.loss > (1 - FALLING_FRACTION) * before.loss) {
    return {
      epoch: now.epoch,
      reason: `the loss has stayed far above ${chanceText}, and is not falling (${f2(before.loss)} at epoch ${before.epoch}, ${f2(now.loss)} at epoch ${now.epoch}; val_loss ${f2(now.val_loss)})${accuracy}`,
    };
  }
  const lowest = history
    .slice(0, -1)
    .reduce<DivergenceMetrics | undefined>(
      (best, m) => (Number.isFinite(m.loss) && (best === undefined || m.loss < best.loss) ? m : best),
      undefined,
    );
  if (lowest && now.loss >= JUMP_FACTOR * lowest.loss) {
    return {
      epoch: now.epoch,
      reason: `the loss jumped from ${f2(lowest.loss)} (epoch ${lowest.epoch}) to ${f2(now.loss)} at epoch ${now.epoch}, far above ${chanceText} (val_loss ${f2(now.val_loss)})${accuracy}`,
    };
  }
  return undefined;
}

/** What to change, to follow the reason: the finder's suggestion when there is one. */
export function lowerLearningRateAdvice(learningRate: number, suggestion?: number): string {
  return `lower training.learningRate (now ${learningRate}${
    suggestion !== undefined
      ? `; the learning-rate finder suggested ${Number(suggestion.toPrecision(2))} for this experiment`
      : '; Fine-Tune: Find Learning Rate suggests one'
  })`;
}

/** The message of a run the guard ends: "Training diverged: …; lower training.learningRate …". */
export function divergenceMessage(
  verdict: DivergenceVerdict,
  learningRate: number,
  suggestion?: number,
): string {
  return `Training diverged: ${verdict.reason}; ${lowerLearningRateAdvice(learningRate, suggestion)}.`;
}
