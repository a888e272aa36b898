/**
 * A run's metrics.jsonl as CSV (src/core/portable/csv.ts): one row per epoch, a fixed column order, empty cells for
 * values an epoch does not have (lr_base without trainable pre-trained layers, a NaN loss that JSON
 * stored as null). Numbers keep full precision, so nothing is lost against metrics.jsonl.
 */
import type { EpochMetrics } from '../../protocol/runRecord';
import { csvText } from '../portable/csv';

export const CSV_COLUMNS = [
  'epoch',
  'loss',
  'accuracy',
  'val_loss',
  'val_accuracy',
  'gap',
  'overfitting',
  'lr',
  'lr_base',
  'reg_loss',
  'time_s',
] as const;

export function metricsToCsv(metrics: readonly EpochMetrics[]): string {
  const rows = metrics.map((m) => {
    const row = m as unknown as Record<string, unknown>;
    return CSV_COLUMNS.map((column) => row[column]);
  });
  return csvText([CSV_COLUMNS, ...rows]);
}
