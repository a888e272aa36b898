/**
 * The parent side of the learning-rate finder: a trainer process started with `--find-lr <experiment>`
 * reports each step and then its result. No `vscode` import (tested in plain Node) and no TensorFlow.js:
 * the sweep runs in the child. The child writes nothing but the shared activation cache, so cancelling
 * is simple: ask it to stop, and kill it if it does not go within a few seconds.
 */
import { forkTrainer } from './forkTrainer';
import type { LrFinderResult } from '../protocol/lrFinder';
import {
  TRAINER_CACHE_DIR_ARG,
  TRAINER_THREADS_ARG,
  TRAINER_FIND_LR_ARG,
  type LrFinderProgressMessage,
} from '../protocol/trainerMessages';
import { isTrainerToHost } from '../protocol/messageGuards';

export interface LrFinderLaunch {
  /** Path of the bundled trainer (dist/trainer.js). */
  trainerScript: string;
  experimentPath: string;
  /** The activation cache folder training runs use (`<workspace>/.finetune/cache`). */
  cacheDir?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The trainer's heap limit in MB (`fineTune.trainerMemoryMB`); 0 or absent: Node's default. */
  memoryLimitMB?: number;
  /** Threads of its wasm backend (`fineTune.trainerThreads`); absent: every core. */
  threads?: number;
  onProgress?: (progress: Omit<LrFinderProgressMessage, 'type'>) => void;
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The sweep was cancelled (`cancel()`): no result, nothing to report. */
export class LrFinderCancelled extends Error {
  constructor() {
    super('The learning-rate finder was cancelled.');
    this.name = 'LrFinderCancelled';
  }
}

export interface LrFinderRun {
  /** Resolves with the result; rejects with the trainer's error, its death, or LrFinderCancelled. */
  readonly result: Promise<LrFinderResult>;
  /** Stops the sweep after its current step; kills the process when it has not exited after `graceMs`. */
  cancel(graceMs?: number): void;
}

/** A trainer that exited without an answer: how, and why when its output says (out of memory). */
function describeDeath(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  const tail = stderr.trim();
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(tail)) {
    return `The learning-rate finder ran out of memory (${how}). Lower training.batchSize or dataset.imageSize, or raise fineTune.trainerMemoryMB.`;
  }
  return `The learning-rate finder's process exited without an answer (${how}).${tail ? ` Its last output: ${tail.slice(-1000)}` : ''}`;
}

export function runLrFinder(options: LrFinderLaunch): LrFinderRun {
  const args = [TRAINER_FIND_LR_ARG, options.experimentPath];
  if (options.cacheDir) args.push(TRAINER_CACHE_DIR_ARG, options.cacheDir);
  if (options.threads) args.push(TRAINER_THREADS_ARG, String(options.threads));
  const { child, stderrTail } = forkTrainer(options.trainerScript, args, {
    cwd: options.cwd,
    env: options.env,
    memoryLimitMB: options.memoryLimitMB,
  });
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;

  const result = new Promise<LrFinderResult>((resolve, reject) => {
    let answer: { result: LrFinderResult } | { error: string } | undefined;
    child.on('message', (message: unknown) => {
      if (!isTrainerToHost(message)) return;
      switch (message.type) {
        case 'lrFinderProgress': {
          const { step, steps, lr, loss } = message;
          options.onProgress?.({ step, steps, lr, loss });
          break;
        }
        case 'event':
          if (message.event.type === 'log') options.onLog?.(message.event.level, message.event.message);
          break;
        case 'lrFinderResult':
          answer = { result: message.result };
          break;
        case 'failed':
          answer = { error: message.error };
          break;
        default:
          break;
      }
    });
    child.once('error', (error) => reject(error));
    // 'close' (not 'exit'): it fires after the IPC channel has delivered the child's last messages.
    child.once('close', (code, signal) => {
      clearTimeout(killTimer);
      if (answer && 'result' in answer) resolve(answer.result);
      else if (cancelled) reject(new LrFinderCancelled());
      else if (answer) reject(new Error(answer.error));
      else reject(new Error(describeDeath(code, signal, stderrTail())));
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
