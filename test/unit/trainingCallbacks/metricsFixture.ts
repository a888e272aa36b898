/** Epoch metrics for callback tests: defaults for every field, the test's values over them. */
import type { EpochMetrics } from '../../../src/protocol/runRecord';

export function epochMetrics(values: Partial<EpochMetrics> & { epoch: number }): EpochMetrics {
  return {
    loss: 1,
    accuracy: 0.5,
    val_loss: 1,
    val_accuracy: 0.5,
    lr: 0.01,
    time_s: 0,
    gap: 0,
    overfitting: false,
    ...values,
  };
}
