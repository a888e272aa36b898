/**
 * The overfitting signal as a callback: after every epoch, `metrics.overfitting` says whether val_loss has
 * risen `patience` epochs in a row while the training loss fell (overfitting.ts), and the epoch where it
 * turns on carries the explanation (`afterEpoch.overfittingReason`).
 */
import { overfittingSignal } from '../../../core/portable/overfitting';
import type { EpochLogs, FitState, TrainingCallback } from './trainingCallback';

export class OverfittingSignalCallback implements TrainingCallback {
  constructor(private readonly patience: number) {}

  afterEpoch(logs: EpochLogs, state: FitState): void {
    const signal = overfittingSignal(state.history, this.patience);
    logs.metrics.overfitting = signal.overfitting;
    const before = state.history.length > 1 ? state.history[state.history.length - 2].overfitting : false;
    if (signal.overfitting && !before) logs.overfittingReason = signal.reason;
  }
}
