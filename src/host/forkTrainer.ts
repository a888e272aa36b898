/**
 * Starting `dist/trainer.js` in one of its modes (train, --describe, --find-lr, --preview-augmentation):
 * one place for the fork options (IPC channel, JSON serialization, the optional heap cap added to the
 * parent's own flags) and for keeping the tail of its stderr, which explains a crash.
 */
import { fork, type ChildProcess } from 'node:child_process';

export const STDERR_TAIL_BYTES = 4096;

export interface ForkTrainerOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Heap cap of the trainer (`--max-old-space-size`), in MB; 0 or absent: Node's default. */
  memoryLimitMB?: number;
  /** Pipe stdout too (drained); otherwise it is ignored. */
  pipeStdout?: boolean;
}

export interface ForkedTrainer {
  child: ChildProcess;
  /** The last STDERR_TAIL_BYTES of what the trainer wrote to stderr so far. */
  stderrTail(): string;
}

export function forkTrainer(
  trainerScript: string,
  args: string[],
  options: ForkTrainerOptions = {},
): ForkedTrainer {
  const memory = options.memoryLimitMB && options.memoryLimitMB > 0 ? Math.round(options.memoryLimitMB) : 0;
  const child = fork(trainerScript, args, {
    // The parent's own flags are kept (as fork does by default); the heap limit is added to them.
    execArgv: memory
      ? [
          ...process.execArgv.filter((a) => !a.startsWith('--max-old-space-size')),
          `--max-old-space-size=${memory}`,
        ]
      : process.execArgv,
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', options.pipeStdout ? 'pipe' : 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES)));
  child.stdout?.resume();
  return { child, stderrTail: () => stderr };
}
