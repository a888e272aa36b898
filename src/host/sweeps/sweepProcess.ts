/**
 * The sweep controller VS Code starts: `dist/cli.js sweep <file> --json` as a child process with an IPC
 * channel — the very command a terminal runs, so the extension host never loads TensorFlow.js nor runs
 * the controller's loop itself. Its stdout is one SweepEvent per line; `cancel()` asks it (over IPC) to
 * stop every trial cleanly; when the host goes away (window reload) the channel closes and the controller
 * stops the trials and leaves the sweep `interrupted`, to be resumed by the next Start Sweep.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { isSweepEvent } from '../../protocol/messageGuards';
import type { SweepEvent } from '../../protocol/sweepEvents';

const STDERR_TAIL = 4096;

export interface SweepProcessOptions {
  cliScript: string;
  sweepFile: string;
  runsDir: string;
  /** More `finetune sweep` arguments (`--backend`, `--memory-budget`, `--no-cache`, `--threads`). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  onEvent(event: SweepEvent): void;
}

export interface SweepExit {
  code: number | null;
  /** What the controller printed on stderr (an `error: …` line when the sweep could not start). */
  stderr: string;
}

/**
 * A line of the controller's stdout as an event, or undefined when it is not one (a stray print, a
 * malformed event): checked against its description (sweepEventSchemas.ts) before the host reads it.
 */
export function parseSweepEvent(line: string): SweepEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isSweepEvent(value) ? value : undefined;
}

export class SweepProcess {
  private readonly child: ChildProcess;
  readonly exited: Promise<SweepExit>;
  private stderr = '';

  constructor(options: SweepProcessOptions) {
    this.child = fork(
      options.cliScript,
      ['sweep', options.sweepFile, '--runs-dir', options.runsDir, '--json', ...(options.args ?? [])],
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        execArgv: [],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'json',
      },
    );
    let pending = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const event = parseSweepEvent(line);
        if (event) options.onEvent(event);
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on(
      'data',
      (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL)),
    );
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => resolve({ code: -1, stderr: `${this.stderr}${error.message}` }));
      this.child.on('close', (code) => resolve({ code, stderr: this.stderr }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops every trial cleanly and ends the sweep as stopped (resumable with Start Sweep). */
  cancel(): void {
    if (this.child.connected) this.child.send({ type: 'cancel' });
    else this.child.kill('SIGTERM');
  }

  /** The `error: …` line(s) the controller printed, without the prefix. */
  errorText(): string {
    const lines = this.stderr
      .split('\n')
      .filter((line) => line.startsWith('error: ') || (line !== '' && !line.startsWith('warning: ')));
    return lines
      .join('\n')
      .replace(/^error: /, '')
      .trim();
  }
}
