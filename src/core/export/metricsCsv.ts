/**
 * A run's metrics.jsonl as CSV (RFC 4180): one row per epoch, a fixed column order, empty cells for
 * values an epoch does not have (lr_base without trainable pre-trained layers, a NaN loss that JSON
 * stored as null). Numbers keep full precision, so nothing is lost against metrics.jsonl.
 */
import type { EpochMetrics } from '../../protocol/runRecord';

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

function cell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function metricsToCsv(metrics: readonly EpochMetrics[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const m of metrics) {
    const row = m as unknown as Record<string, unknown>;
    lines.push(CSV_COLUMNS.map((column) => cell(row[column])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
