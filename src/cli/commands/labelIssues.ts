/**
 * `finetune label-issues <file.finetune.json> [--folds K] [--top N] [--json]`: images whose folder
 * (label) is probably wrong, most likely first, and validation images that duplicate training images.
 * `--json` prints `{"issues":[{"file","label","suggested","score",…}],"duplicates":[…],…}` (DESIGN.md).
 */
import * as path from 'node:path';
import type { DataInsightReport } from '../../protocol/dataInsight';
import type { BackendChoice } from '../../protocol/experimentConfig';
import type { RankBy } from '../../core/insight/confidentLearning';
import { resolveRunRef } from '../../core/runs/readRuns';
import { initBackend } from '../../engine/backend/selectBackend';
import { pipelineOptions } from '../../engine/cache/prepareInputs';
import { analyzeData } from '../../engine/insight/analyzeData';
import { type CliIO, routeConsoleToStderr } from '../io';
import { existingFile, runsDirOf } from '../inputPaths';
import { formatTable } from '../table';

export interface LabelIssuesOptions {
  folds?: number;
  top?: number;
  json?: boolean;
  backend?: BackendChoice;
  rankBy?: RankBy;
  duplicateThreshold?: number;
  /** A run whose config snapshot to analyse and whose model gives the top losses. */
  run?: string;
  runsDir?: string;
  memoryBudget?: number;
  /** commander's `--no-cache`. */
  cache?: boolean;
  /** Threads of the wasm backend (default: every core). */
  threads?: number;
}

export const DEFAULT_TOP = 20;

export async function labelIssuesCommand(
  file: string,
  options: LabelIssuesOptions,
  io: CliIO,
): Promise<number> {
  const experimentPath = existingFile(io.cwd, file, 'Experiment file');
  const runsDir = runsDirOf(io.cwd, options.runsDir);
  const runDir = options.run !== undefined ? resolveRunRef(runsDir, options.run).dir : undefined;
  const top = options.top ?? DEFAULT_TOP;
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort();
  process.on('SIGINT', onInterrupt);
  const restoreConsole = options.json ? routeConsoleToStderr(io) : () => {};
  try {
    await initBackend(options.backend ?? 'auto', { threads: options.threads });
    const report = await analyzeData({
      experimentPath,
      ...(runDir ? { runDir } : {}),
      ...(options.folds !== undefined ? { folds: options.folds } : {}),
      ...(options.rankBy ? { rankBy: options.rankBy } : {}),
      ...(options.duplicateThreshold !== undefined ? { duplicateThreshold: options.duplicateThreshold } : {}),
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.cache === false ? {} : { cacheDir: path.join(runsDir, '..', 'cache') }),
      pipeline: pipelineOptions({
        ...(options.memoryBudget !== undefined ? { memoryBudgetMiB: options.memoryBudget } : {}),
      }),
      signal: controller.signal,
      onLog: (level, message) => {
        if (level === 'warn') io.err(`warning: ${message}\n`);
      },
      onProgress: (p) => {
        if (io.terminal && p.stage === 'training folds' && p.step) io.err(`fold ${p.step}/${p.steps}…\n`);
      },
    });
    if (options.json) io.out(`${JSON.stringify(jsonReport(report, top), null, 2)}\n`);
    else io.out(textReport(report, top));
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    restoreConsole();
  }
}

/** The contract's `issues` (top N), and the rest of what the analysis found. */
export function jsonReport(report: DataInsightReport, top: number): Record<string, unknown> {
  return {
    issues: report.issues.slice(0, top),
    issuesFound: report.issues.length,
    estimatedIssues: report.estimatedIssues,
    duplicates: report.duplicates,
    ...(report.topLosses ? { topLosses: report.topLosses, run: report.runId } : {}),
    experiment: report.experimentName,
    dataset: report.datasetPath,
    classNames: report.classNames,
    images: report.images,
    folds: report.folds,
    rankBy: report.rankBy,
    mode: report.mode,
    outOfSampleAccuracy: report.outOfSampleAccuracy,
    thresholds: Object.fromEntries(report.classNames.map((c, i) => [c, report.thresholds[i]])),
    duplicateThreshold: report.duplicateThreshold,
    backend: report.backend,
    seconds: report.seconds,
    notes: report.notes,
  };
}

const percent = (v: number): string => `${(v * 100).toFixed(1)}%`;

function textReport(report: DataInsightReport, top: number): string {
  const parts: string[] = [];
  const shown = report.issues.slice(0, top);
  if (shown.length === 0) {
    parts.push('No likely label errors found.\n');
  } else {
    parts.push(
      `Likely label errors (${shown.length} of ${report.issues.length}, most likely first; confident learning estimates ${report.estimatedIssues}, marked *):\n`,
      formatTable(
        ['#', 'file', 'label', 'suggested', 'score', 'p(label)', 'split'],
        shown.map((issue, i) => [
          `${issue.confident ? '*' : ''}${i + 1}`,
          issue.file,
          issue.label,
          issue.suggested,
          issue.score.toFixed(3),
          percent(issue.selfConfidence),
          issue.split,
        ]),
        ['right', 'left', 'left', 'left', 'right', 'right', 'left'],
      ),
    );
  }
  if (report.duplicates.length > 0) {
    parts.push(
      `\nValidation images that duplicate training images (a leak that inflates val_accuracy):\n`,
      formatTable(
        ['validation', 'training', 'similarity'],
        report.duplicates.map((d) => [
          `${d.val} (${d.valLabel})`,
          `${d.train} (${d.trainLabel})`,
          d.identical ? 'identical' : d.similarity.toFixed(4),
        ]),
        ['left', 'left', 'right'],
      ),
    );
  }
  const { train, val, skipped } = report.images;
  parts.push(
    `\n${train + val} images (${train} training, ${val} validation${skipped ? `, ${skipped} unreadable` : ''}), ` +
      `${report.folds}-fold out-of-sample accuracy ${percent(report.outOfSampleAccuracy)}, on ${report.mode}, ` +
      `${report.backend}, ${report.seconds.toFixed(1)} s.\n`,
  );
  for (const note of report.notes) parts.push(`note: ${note}\n`);
  return parts.join('');
}
