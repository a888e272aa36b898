/**
 * The overfitting signal: the generalization gap (val_loss − loss) every epoch, and an alarm when val_loss
 * has risen `patience` epochs in a row while the training loss fell — the moment the curves pull apart.
 * With soft training targets both sides are measured against the same kind of target (comparableValLoss).
 */
export interface LossPoint {
  epoch: number;
  loss: number;
  val_loss: number;
  /** With soft training targets: the validation loss on targets made the same way (runRecord.ts). */
  val_loss_same_targets?: number;
}

/**
 * The validation loss that is comparable with `loss`: on training-style targets when the run has them
 * (label smoothing, mixup, CutMix), else val_loss. The gap, the signal and the advice all use this.
 */
export function comparableValLoss(point: LossPoint): number {
  return typeof point.val_loss_same_targets === 'number' ? point.val_loss_same_targets : point.val_loss;
}

export interface OverfittingSignal {
  overfitting: boolean;
  /** Epochs in a row (ending now) with val_loss up and loss down. */
  streak: number;
  /** First epoch of the current streak's rise, when overfitting. */
  since?: number;
  reason?: string;
}

export function overfittingSignal(history: LossPoint[], patience: number): OverfittingSignal {
  let streak = 0;
  for (let i = history.length - 1; i > 0; i--) {
    const now = history[i];
    const before = history[i - 1];
    if (comparableValLoss(now) > comparableValLoss(before) && now.loss < before.loss) streak += 1;
    else break;
  }
  if (streak < patience) return { overfitting: false, streak };
  const since = history[history.length - 1 - streak].epoch;
  return {
    overfitting: true,
    streak,
    since,
    reason: `${valLossName(history[history.length - 1])} rose ${streak} epochs in a row (since epoch ${since}) while loss fell: the model is overfitting`,
  };
}

/** How the comparable validation loss is called in messages. */
export function valLossName(point: LossPoint): string {
  return typeof point.val_loss_same_targets === 'number' ? 'val_loss on the training targets' : 'val_loss';
}
