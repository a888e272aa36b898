/**
 * The model and metrics exports of the host, run by the bundled CLI in a child process (cliChild.ts): the
 * ONNX conversion needs TensorFlow.js, which never loads in the host; the TensorFlow.js export copies the
 * run's weight files; the metrics export reads metrics.jsonl and writes CSV or TensorBoard event files.
 * None of those files is read or written on the extension host's thread.
 */
import type { MetricsFormat } from '../core/export/exportMetrics';
import { runCliJson } from './cliChild';

export interface OnnxExportResult {
  outDir: string;
  files: string[];
  onnxBytes: number;
  weightBytes: number;
  /** Where the replaced export was moved (the caller moves it to the trash). */
  replacedTo?: string;
}

export interface TfjsExportResult {
  outDir: string;
  files: string[];
  imageSize: [number, number];
  classes: number;
  replacedTo?: string;
}

export interface ModelExportRequest {
  /** Path of the bundled CLI (dist/cli.js). */
  cliScript: string;
  runDir: string;
  target: string;
  overwrite: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((f) => typeof f === 'string');
const optionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

function isOnnxResult(value: unknown): value is OnnxExportResult {
  const v = value as Partial<OnnxExportResult> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.outDir === 'string' &&
    isStringArray(v.files) &&
    typeof v.onnxBytes === 'number' &&
    typeof v.weightBytes === 'number' &&
    optionalString(v.replacedTo)
  );
}

function isTfjsResult(value: unknown): value is TfjsExportResult {
  const v = value as Partial<TfjsExportResult> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.outDir === 'string' &&
    isStringArray(v.files) &&
    Array.isArray(v.imageSize) &&
    v.imageSize.length === 2 &&
    v.imageSize.every((n) => typeof n === 'number') &&
    typeof v.classes === 'number' &&
    optionalString(v.replacedTo)
  );
}

function exportArgs(request: ModelExportRequest, format: 'onnx' | 'tfjs'): string[] {
  const args = ['export', request.runDir, request.target, '--format', format, '--json'];
  // A replaced export is moved aside, not deleted: the host moves it to the trash.
  if (request.overwrite) args.push('--force', '--keep-replaced');
  return args;
}

export function exportOnnxInChild(request: ModelExportRequest): Promise<OnnxExportResult> {
  return runCliJson({
    cliScript: request.cliScript,
    args: exportArgs(request, 'onnx'),
    what: 'the ONNX export',
    isResult: isOnnxResult,
    timeoutMs: request.timeoutMs,
    env: request.env,
  });
}

export function exportTfjsInChild(request: ModelExportRequest): Promise<TfjsExportResult> {
  return runCliJson({
    cliScript: request.cliScript,
    args: exportArgs(request, 'tfjs'),
    what: 'the TensorFlow.js export',
    isResult: isTfjsResult,
    timeoutMs: request.timeoutMs ?? 600000,
    env: request.env,
  });
}

export interface MetricsExportResult {
  format: MetricsFormat;
  /** The CSV file, or the folder holding train/ and validation/ event files. */
  path: string;
  files: string[];
  epochs: number;
}

function isMetricsResults(value: unknown): value is MetricsExportResult[] {
  return (
    Array.isArray(value) &&
    value.length === 1 &&
    value.every((v: Partial<MetricsExportResult> | null) => {
      return (
        typeof v === 'object' &&
        v !== null &&
        (v.format === 'csv' || v.format === 'tensorboard') &&
        typeof v.path === 'string' &&
        isStringArray(v.files) &&
        typeof v.epochs === 'number'
      );
    })
  );
}

/** `finetune export-metrics <run> --format <format> --json` in a child process. */
export async function exportMetricsInChild(request: {
  cliScript: string;
  runDir: string;
  format: MetricsFormat;
  timeoutMs?: number;
}): Promise<MetricsExportResult> {
  const [result] = await runCliJson({
    cliScript: request.cliScript,
    args: ['export-metrics', request.runDir, '--format', request.format, '--json'],
    what: 'the metrics export',
    isResult: isMetricsResults,
    timeoutMs: request.timeoutMs ?? 120000,
  });
  return result;
}
