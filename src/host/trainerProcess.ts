/**
 * The parent side of the trainer child process: fork, handshake (`ready`), start, events, stop, and
 * crash detection. It has no `vscode` import so it is tested in plain Node, and it never loads
 * TensorFlow.js — that only happens inside the child.
 */
import type { ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import type { BackendChoice, BackendName } from '../protocol/experimentConfig';
import { isGpuAdapterRecord, type GpuAdapterRecord } from '../protocol/gpuAdapter';
import {
  TRAINER_BACKEND_ARG,
  TRAINER_THREADS_ARG,
  type DoneMessage,
  type HostToTrainer,
  type StartRequest,
} from '../protocol/trainerMessages';
import { isTrainerToHost } from '../protocol/messageGuards';
import type { TrainingEvent } from '../protocol/trainingEvents';
import { listRunsAsync, markRunCrashedAsync } from '../core/runs/readRuns';
import { forkTrainer } from './forkTrainer';

export type TrainerExit =
  | { kind: 'done'; result: DoneMessage }
  | { kind: 'failed'; error: string }
  /** The process died without saying done/failed (killed, out of memory, native crash). */
  | {
      kind: 'crashed';
      code: number | null;
      signal: NodeJS.Signals | null;
      stderrTail: string;
      runDir?: string;
      /** What happened, for the user: how it died, why if known (out of memory), what is kept. */
      message: string;
    };

export interface LaunchOptions {
  /** Path of the bundled trainer (dist/trainer.js). */
  trainerScript: string;
  backend?: BackendChoice;
  /** Working directory of the child. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `ready` (backend initialisation). */
  readyTimeoutMs?: number;
  /**
   * Heap limit of the trainer in MB (`--max-old-space-size`, the `fineTune.trainerMemoryMB` setting): past
   * it the trainer dies with a clear "out of memory" crash instead of swapping the machine to a halt.
   * Absent or 0: Node's default limit.
   */
  memoryLimitMB?: number;
  /** Threads of the trainer's wasm backend (`fineTune.trainerThreads`); absent: every core. */
  threads?: number;
}

/** V8's words when a heap limit is hit (Node 20: "Reached heap limit … JavaScript heap out of memory"). */
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed|Out of memory/i;

/**
 * The user-facing account of a trainer that died without reporting: how (signal / exit code), why when the
 * output says (out of memory), what to do, and that completed epochs are kept. Shown as the run's error.
 */
export function describeTrainerDeath(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
  memoryLimitMB?: number,
): string {
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  const tail = stderrTail.trim();
  const kept =
    'Completed epochs and the best model so far are kept; Resume Run continues from the last epoch.';
  if (OUT_OF_MEMORY.test(tail)) {
    const limit = memoryLimitMB
      ? `its memory limit, fineTune.trainerMemoryMB = ${memoryLimitMB} MB`
      : "Node's default memory limit (set fineTune.trainerMemoryMB to change it)";
    return (
      `The trainer ran out of memory (${how}): it reached ${limit}. Raise the limit if the machine has the ` +
      `memory, or lower training.batchSize or dataset.imageSize. ${kept}`
    );
  }
  const byKill =
    signal === 'SIGKILL'
      ? ' (by hand, or by the system when memory ran out)'
      : signal === 'SIGSEGV'
        ? ' (a native crash)'
        : '';
  return `The trainer process died (${how})${byKill}.${tail ? ` Its last output: ${tail.slice(-1000)}` : ''} ${kept}`;
}

export class TrainerProcess {
  private listeners: ((event: TrainingEvent) => void)[] = [];
  private stderrTail: () => string = () => '';
  private runDir: string | undefined;
  private runsDir: string | undefined;
  private exitResolver!: (exit: TrainerExit) => void;
  private reported: TrainerExit | undefined;
  /** Settles once, when the process has exited, with how it ended. */
  readonly finished: Promise<TrainerExit>;

  private constructor(
    private readonly child: ChildProcess,
    readonly backend: BackendName,
    readonly available: BackendName[],
    private readonly memoryLimitMB?: number,
  ) {
    this.finished = new Promise((resolve) => (this.exitResolver = resolve));
  }

  /** Backend webgpu: the adapter the trainer initialised (from its `ready`). */
  adapter: GpuAdapterRecord | undefined;

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Forks the trainer and resolves once it is `ready`; rejects with the reason when it cannot start. */
  static launch(options: LaunchOptions): Promise<TrainerProcess> {
    const { child, stderrTail } = forkTrainer(
      options.trainerScript,
      [
        TRAINER_BACKEND_ARG,
        options.backend ?? 'auto',
        ...(options.threads ? [TRAINER_THREADS_ARG, String(options.threads)] : []),
      ],
      {
        cwd: options.cwd,
        env: options.env,
        memoryLimitMB: options.memoryLimitMB,
        pipeStdout: true,
      },
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `The trainer did not start within ${(options.readyTimeoutMs ?? 60000) / 1000} s.${stderrTail() ? ` Its output: ${stderrTail().trim()}` : ''}`,
          ),
        );
      }, options.readyTimeoutMs ?? 60000);
      const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(
          new Error(
            `The trainer exited before it was ready (code ${code}, signal ${signal}).${stderrTail() ? ` ${stderrTail().trim()}` : ''}`,
          ),
        );
      };
      child.once('exit', onEarlyExit);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('message', function onFirst(message: unknown) {
        if (!isTrainerToHost(message)) return;
        if (message.type === 'failed') {
          clearTimeout(timer);
          child.off('exit', onEarlyExit);
          child.kill();
          reject(new Error(message.error));
        } else if (message.type === 'ready') {
          clearTimeout(timer);
          child.off('exit', onEarlyExit);
          child.off('message', onFirst);
          const trainer = new TrainerProcess(
            child,
            message.backend,
            message.available,
            options.memoryLimitMB && options.memoryLimitMB > 0
              ? Math.round(options.memoryLimitMB)
              : undefined,
          );
          trainer.stderrTail = stderrTail;
          if (isGpuAdapterRecord(message.adapter)) trainer.adapter = message.adapter;
          trainer.attach();
          resolve(trainer);
        }
      });
    });
  }

  onEvent(listener: (event: TrainingEvent) => void): { dispose(): void } {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  }

  start(request: Omit<StartRequest, 'type'>): void {
    this.runsDir = request.runsDir;
    this.post({ type: 'start', ...request });
  }

  /** Asks the run to end after the current batch (the best model is kept); kills it if it has not exited after `graceMs`. */
  async stop(graceMs = 10000): Promise<TrainerExit> {
    this.post({ type: 'stop' });
    const timer = setTimeout(() => this.kill(), graceMs);
    try {
      return await this.finished;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private post(message: HostToTrainer): void {
    if (this.child.connected) this.child.send(message);
  }

  private attach(): void {
    this.child.on('message', (message: unknown) => {
      if (!isTrainerToHost(message)) return;
      if (message.type === 'event') {
        if (message.event.type === 'beforeFit') this.runDir = message.event.runDir;
        for (const listener of this.listeners) listener(message.event);
      } else if (message.type === 'done') {
        this.reported = { kind: 'done', result: message };
      } else if (message.type === 'failed') {
        this.reported = { kind: 'failed', error: message.error };
      }
    });
    // 'close' (not 'exit'): it fires after the IPC channel has delivered the child's last messages.
    this.child.once('close', (code, signal) => {
      if (this.reported) return this.exitResolver(this.reported);
      const stderrTail = this.stderrTail().trim();
      const message = describeTrainerDeath(code, signal, stderrTail, this.memoryLimitMB);
      // The run folder must not say `running` forever: record the death with what the trainer last said.
      // A trainer killed between creating its run folder and telling us about it is found by its pid.
      void (async () => {
        const runDirs = this.runDir ? [this.runDir] : await this.ownRunningRuns();
        for (const dir of runDirs) await markRunCrashedAsync(dir, message);
        this.exitResolver({ kind: 'crashed', code, signal, stderrTail, runDir: runDirs[0], message });
      })();
    });
  }

  /** Run folders in the runs folder this trainer was started on that say `running` with its pid. */
  private async ownRunningRuns(): Promise<string[]> {
    if (!this.runsDir || this.child.pid === undefined) return [];
    try {
      return (await listRunsAsync(this.runsDir))
        .filter(
          (run) =>
            run.record?.status === 'running' &&
            run.record.pid === this.child.pid &&
            run.record.hostname === os.hostname(),
        )
        .map((run) => run.dir);
    } catch {
      return []; // an unreadable runs folder: nothing of ours can be in it
    }
  }
}
