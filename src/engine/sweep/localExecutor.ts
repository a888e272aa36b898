/**
 * Local executor: up to `parallel` trainer processes on this machine, each `node <cli.js> train …` — the
 * same CLI path a user runs — with its output in trials/<n>/trial.log. The processes get their own process
 * group, so a Ctrl-C in the terminal reaches the controller alone, which then stops each trial cleanly
 * (stop request, or SIGTERM before its run folder exists); and a controller that is killed leaves its
 * trials to finish — a resumed sweep adopts them by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive } from '../../core/runs/readRuns';
import type { Executor, TaskStatus, TrialLaunch } from './executor';

export const TRIAL_LOG = 'trial.log';

export interface LocalExecutorOptions {
  parallel: number;
  runsDir: string;
  /** How to run the CLI: [node, cli.js]. */
  cliCommand: string[];
  /** Extra `train` arguments (backend, memory budget, cache). */
  trainArgs?: string[];
  /** Each trial's wasm threads (`train --threads`, for new and resumed trials alike). */
  threads?: number;
  env?: NodeJS.ProcessEnv;
}

interface LocalTask {
  launch?: TrialLaunch;
  child?: ChildProcess;
  pid?: number;
  exitCode?: number | null;
  ended: boolean;
  /** Adopted from a dead controller: only its pid is known. */
  adopted?: boolean;
}

export class LocalExecutor implements Executor {
  readonly type = 'local' as const;
  readonly parallel: number;
  private readonly tasks = new Map<number, LocalTask>();
  private readonly queue: TrialLaunch[] = [];
  private trialDirs = new Map<number, string>();

  constructor(private readonly options: LocalExecutorOptions) {
    this.parallel = Math.max(1, options.parallel);
  }

  async submit(trials: TrialLaunch[]): Promise<undefined> {
    for (const launch of trials) {
      this.trialDirs.set(launch.trial, launch.trialDir);
      this.tasks.set(launch.trial, { launch, ended: false });
      this.queue.push(launch);
    }
    this.fill();
    return undefined;
  }

  adopt(trials: { trial: number; pid?: number }[]): void {
    for (const { trial, pid } of trials) {
      if (pid !== undefined) this.tasks.set(trial, { pid, ended: false, adopted: true });
    }
  }

  async poll(): Promise<Map<number, TaskStatus>> {
    for (const task of this.tasks.values()) {
      if (task.adopted && !task.ended && !isProcessAlive(task.pid ?? -1)) task.ended = true;
    }
    this.fill();
    const statuses = new Map<number, TaskStatus>();
    for (const [trial, task] of this.tasks) {
      statuses.set(trial, {
        state: task.ended ? 'ended' : task.pid !== undefined ? 'running' : 'waiting',
        ...(task.pid !== undefined ? { pid: task.pid } : {}),
        ...(task.ended ? { exitCode: task.exitCode } : {}),
      });
    }
    return statuses;
  }

  async cancel(noRunFolder: number[]): Promise<void> {
    // Queued trials never start.
    for (const launch of this.queue.splice(0)) {
      const task = this.tasks.get(launch.trial);
      if (task) Object.assign(task, { ended: true, exitCode: null });
    }
    for (const trial of noRunFolder) this.signal(trial, 'SIGTERM');
  }

  async forceStop(trials: number[]): Promise<void> {
    for (const trial of trials) this.signal(trial, 'SIGKILL');
  }

  logTail(trial: number): string {
    const dir = this.trialDirs.get(trial);
    return dir ? readTail(path.join(dir, TRIAL_LOG)) : '';
  }

  private signal(trial: number, signal: NodeJS.Signals): void {
    const task = this.tasks.get(trial);
    if (!task || task.ended || task.pid === undefined) return;
    try {
      process.kill(task.pid, signal);
    } catch {
      // already gone
    }
  }

  private running(): number {
    return [...this.tasks.values()].filter((t) => t.pid !== undefined && !t.ended).length;
  }

  private fill(): void {
    while (this.queue.length > 0 && this.running() < this.parallel) this.start(this.queue.shift()!);
  }

  private start(launch: TrialLaunch): void {
    const task = this.tasks.get(launch.trial)!;
    const log = fs.openSync(path.join(launch.trialDir, TRIAL_LOG), 'a');
    const threads = this.options.threads !== undefined ? ['--threads', String(this.options.threads)] : [];
    const args = launch.resumeRunDir
      ? [
          'train',
          '--resume',
          launch.resumeRunDir,
          '--runs-dir',
          this.options.runsDir,
          '--sweep-trial',
          path.join(launch.trialDir, 'trial.json'),
          ...threads,
        ]
      : [
          'train',
          path.join(launch.trialDir, 'experiment.json'),
          '--runs-dir',
          this.options.runsDir,
          '--sweep-trial',
          path.join(launch.trialDir, 'trial.json'),
          ...(this.options.trainArgs ?? []),
          ...threads,
        ];
    const [command, ...prefix] = this.options.cliCommand;
    let child: ChildProcess;
    try {
      child = spawn(command, [...prefix, ...args], {
        cwd: launch.trialDir,
        env: this.options.env ?? process.env,
        stdio: ['ignore', log, log],
        detached: true,
      });
    } finally {
      fs.closeSync(log);
    }
    task.child = child;
    task.pid = child.pid;
    child.on('error', (error) => {
      fs.appendFileSync(
        path.join(launch.trialDir, TRIAL_LOG),
        `could not start the trainer: ${error.message}\n`,
      );
      Object.assign(task, { ended: true, exitCode: -1 });
    });
    child.on('exit', (code) => {
      Object.assign(task, { ended: true, exitCode: code });
      // The freed slot is taken at once, not at the controller's next look.
      this.fill();
    });
    // The controller must not wait for detached trials to exit before it may exit itself.
    child.unref();
  }
}

export function readTail(file: string, bytes = 2000): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      fs.readSync(fd, buffer, 0, buffer.length, start);
      return buffer.toString('utf8').trim();
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}
