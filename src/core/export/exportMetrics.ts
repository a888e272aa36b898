/**
 * Metrics interop in one place for the CLI and the extension: a run's epochs as CSV, or as TensorBoard
 * event files. No TensorFlow.js here, so the extension host calls it directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomicFile';
import { readRun } from '../runs/readRuns';
import { UserError } from '../userError';
import { metricsToCsv } from './metricsCsv';
import { exportTensorBoard, TENSORBOARD_DIR } from './tensorboardExport';

export const METRICS_FORMATS = ['csv', 'tensorboard'] as const;
export type MetricsFormat = (typeof METRICS_FORMATS)[number];

export const CSV_FILE = 'metrics.csv';

export interface MetricsExport {
  format: MetricsFormat;
  /** The CSV file, or the folder holding train/ and validation/ event files. */
  path: string;
  files: string[];
  epochs: number;
}

/** Writes the run's metrics as CSV to `out` (default `<run>/metrics.csv`; a folder gets metrics.csv inside). */
export function exportMetricsCsv(runDir: string, out?: string): MetricsExport {
  const run = readRun(runDir);
  if (run.metrics.length === 0) {
    throw new UserError(
      `Run ${run.id} has no finished epochs yet (metrics.jsonl is missing or empty): nothing to export.`,
      run.dir,
    );
  }
  let file = out ?? path.join(run.dir, CSV_FILE);
  // lstat: a metrics.csv that is a link to a folder (a cloned run folder may hold one) is replaced by the
  // rename, never written through. An --out folder the user names is taken as it is.
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  if (out !== undefined ? fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() : stat?.isDirectory())
    file = path.join(file, CSV_FILE);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, metricsToCsv(run.metrics));
  return { format: 'csv', path: file, files: [file], epochs: run.metrics.length };
}

export function exportMetrics(runDir: string, format: MetricsFormat, out?: string): MetricsExport {
  if (format === 'csv') return exportMetricsCsv(runDir, out);
  const result = exportTensorBoard(runDir, out ?? path.join(runDir, TENSORBOARD_DIR));
  return { format, path: result.dir, files: result.files, epochs: result.epochs };
}
