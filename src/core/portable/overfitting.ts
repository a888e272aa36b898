/**
 * The overfitting signal: the generalization gap (val_loss − loss) every epoch, and an alarm when val_loss
 * has risen `patience` epochs in a row while the training loss fell — the moment the curves pull apart.
 */
export interface LossPoint {
  epoch: number;
  loss: number;
  val_loss: number;
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
    if (now.val_loss > before.val_loss && now.loss < before.loss) streak += 1;
    else break;
  }
  if (streak < patience) return { overfitting: false, streak };
  const since = history[history.length - 1 - streak].epoch;
  return {
    overfitting: true,
    streak,
    since,
    reason: `val_loss rose ${streak} epochs in a row (since epoch ${since}) while loss fell: the model is overfitting`,
  };
}
