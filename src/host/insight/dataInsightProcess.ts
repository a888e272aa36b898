/**
 * The parent side of data insight: a trainer process started with `--analyze-data` (progress, then the
 * report) or `--explain` (one Grad-CAM overlay). No `vscode` import (tested in plain Node) and no
 * TensorFlow.js: the work happens in the child, which writes nothing but the shared activation cache, so
 * cancelling is simple — ask it to stop, and kill it if it does not go within a few seconds.
 */
import type { BackendChoice } from '../../protocol/experimentConfig';
import {
  TRAINER_ANALYZE_DATA_ARG,
  TRAINER_CLASS_ARG,
  TRAINER_EXPLAIN_ARG,
  TRAINER_FOLDS_ARG,
  TRAINER_IMAGE_ARG,
  TRAINER_RUN_ARG,
  type DataInsightProgress,
  type DataInsightReport,
  type GradCamResult,
} from '../../protocol/dataInsight';
import { isTrainerToHost } from '../../protocol/messageGuards';
import { TRAINER_BACKEND_ARG, TRAINER_CACHE_DIR_ARG } from '../../protocol/trainerMessages';
import { forkTrainer } from '../forkTrainer';

export interface TrainerLaunch {
  /** Path of the bundled trainer (dist/trainer.js). */
  trainerScript: string;
  backend?: BackendChoice;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The trainer's heap limit in MB (`fineTune.trainerMemoryMB`); 0 or absent: Node's default. */
  memoryLimitMB?: number;
}

export interface DataInsightLaunch extends TrainerLaunch {
  experimentPath: string;
  /** Analyse this run's snapshot (and its model's top losses). */
  runDir?: string;
  folds?: number;
  /** The activation cache training runs use (`<workspace>/.finetune/cache`). */
  cacheDir?: string;
  onProgress?: (progress: DataInsightProgress) => void;
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The analysis was cancelled (`cancel()`): no report, nothing to say. */
export class DataInsightCancelled extends Error {
  constructor() {
    super('The data analysis was cancelled.');
    this.name = 'DataInsightCancelled';
  }
}

export interface DataInsightRun {
  readonly result: Promise<DataInsightReport>;
  /** Stops the analysis; kills the process when it has not exited after `graceMs`. */
  cancel(graceMs?: number): void;
}

/** A trainer that exited without an answer: how, and why when its output says (out of memory). */
export function describeDeath(
  what: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
): string {
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  const tail = stderr.trim();
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(tail)) {
    return `The ${what} ran out of memory (${how}). Lower dataset.imageSize, or raise fineTune.trainerMemoryMB.`;
  }
  return `The ${what}'s process exited without an answer (${how}).${tail ? ` Its last output: ${tail.slice(-1000)}` : ''}`;
}

function commonArgs(launch: TrainerLaunch): string[] {
  return launch.backend ? [TRAINER_BACKEND_ARG, launch.backend] : [];
}

export function runDataInsight(launch: DataInsightLaunch): DataInsightRun {
  const args = [TRAINER_ANALYZE_DATA_ARG, launch.experimentPath, ...commonArgs(launch)];
  if (launch.runDir) args.push(TRAINER_RUN_ARG, launch.runDir);
  if (launch.folds) args.push(TRAINER_FOLDS_ARG, String(launch.folds));
  if (launch.cacheDir) args.push(TRAINER_CACHE_DIR_ARG, launch.cacheDir);
  const { child, stderrTail } = forkTrainer(launch.trainerScript, args, {
    cwd: launch.cwd,
    env: launch.env,
    memoryLimitMB: launch.memoryLimitMB,
  });
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const result = new Promise<DataInsightReport>((resolve, reject) => {
    let answer: { report: DataInsightReport } | { error: string } | undefined;
    child.on('message', (message: unknown) => {
      if (!isTrainerToHost(message)) return;
      if (message.type === 'dataInsightProgress') launch.onProgress?.(message.progress);
      else if (message.type === 'event' && message.event.type === 'log')
        launch.onLog?.(message.event.level, message.event.message);
      else if (message.type === 'dataInsightResult') answer = { report: message.report };
      else if (message.type === 'failed') answer = { error: message.error };
    });
    child.once('error', (error) => reject(error));
    // 'close' (not 'exit'): it fires after the IPC channel has delivered the child's last messages.
    child.once('close', (code, signal) => {
      clearTimeout(killTimer);
      if (answer && 'report' in answer) resolve(answer.report);
      else if (cancelled) reject(new DataInsightCancelled());
      else if (answer) reject(new Error(answer.error));
      else reject(new Error(describeDeath('data analysis', code, signal, stderrTail())));
    });
  });
  return {
    result,
    cancel(graceMs = 5000) {
      if (cancelled) return;
      cancelled = true;
      if (child.connected) child.send({ type: 'stop' });
      killTimer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, graceMs);
    },
  };
}

export interface GradCamLaunch extends TrainerLaunch {
  runDir: string;
  /** Relative to the run's dataset folder. */
  file: string;
  classIndex?: number;
  /** Killed after this long (default 60 s). */
  timeoutMs?: number;
}

export function runGradCam(launch: GradCamLaunch): Promise<GradCamResult> {
  const args = [TRAINER_EXPLAIN_ARG, launch.runDir, TRAINER_IMAGE_ARG, launch.file, ...commonArgs(launch)];
  if (launch.classIndex !== undefined) args.push(TRAINER_CLASS_ARG, String(launch.classIndex));
  const { child, stderrTail } = forkTrainer(launch.trainerScript, args, {
    cwd: launch.cwd,
    env: launch.env,
    memoryLimitMB: launch.memoryLimitMB,
  });
  const timeoutMs = launch.timeoutMs ?? 60000;
  return new Promise<GradCamResult>((resolve, reject) => {
    let answer: { result: GradCamResult } | { error: string } | undefined;
    const timer = setTimeout(() => {
      answer ??= { error: `Grad-CAM took longer than ${timeoutMs / 1000} s and was stopped.` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message: unknown) => {
      if (!isTrainerToHost(message)) return;
      if (message.type === 'gradCamResult') answer = { result: message.result };
      else if (message.type === 'failed') answer = { error: message.error };
    });
    child.once('error', (error) => reject(error));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (answer && 'result' in answer) resolve(answer.result);
      else if (answer) reject(new Error(answer.error));
      else reject(new Error(describeDeath('Grad-CAM', code, signal, stderrTail())));
    });
  });
}
