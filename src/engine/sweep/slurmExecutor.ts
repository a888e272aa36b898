/**
 * Slurm executor: one `sbatch --array=…%parallel` job per submission from a generated batch script
 * (slurmScript.ts); tasks are followed with `squeue` and cancelled with `scancel`. Trials write into the
 * shared runs folder, so the controller (and VS Code) see them as they train, on whichever node. A resumed
 * sweep submits the trials it still needs as a new array job (same indices); an interrupted trial's task
 * continues its run (`finetune train --resume`, named by trials/<n>/resume-run).
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SlurmExecutorConfig } from '../../protocol/sweepConfig';
import {
  batchScript,
  parseSqueue,
  RESUME_RUN_FILE,
  sbatchArgs,
  type BatchScriptInput,
} from '../../core/sweep/slurmScript';
import { UserError } from '../../core/userError';
import type { Executor, TaskStatus, TrialLaunch } from './executor';
import { readTail } from './localExecutor';

/** A task not yet listed by squeue right after sbatch returned is waiting, not ended, for this long. */
const SUBMIT_GRACE_MS = 15_000;

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

/** Runs a Slurm command; never throws (ENOENT comes back as `missing`). */
export function runSlurmCommand(
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: env ?? process.env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (code === 'ENOENT') resolve({ code: null, stdout: '', stderr: '', missing: true });
        else resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

export const NO_SBATCH_MESSAGE =
  'sbatch is not on the PATH: the slurm executor submits trials with Slurm\'s sbatch, squeue and scancel, so start the sweep where they are installed (a cluster\'s login node), or use "executor": { "type": "local" } (finetune sweep --executor local).';

/** The file a command name resolves to on the PATH, or undefined. */
export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Checks, before a sweep folder is created, that Slurm can take the sweep: sbatch is on the PATH and the
 * partition the file names exists. Each problem is a UserError that says what to do.
 */
export function checkSlurm(executor: SlurmExecutorConfig, env: NodeJS.ProcessEnv = process.env): void {
  if (!onPath('sbatch', env)) throw new UserError(NO_SBATCH_MESSAGE);
  if (!executor.partition) return;
  let partitions: string[];
  try {
    const out = execFileSync('sinfo', ['-h', '-o', '%R'], {
      env,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    partitions = [
      ...new Set(
        out
          .split('\n')
          .map((line) => line.trim())
          .filter(Boolean),
      ),
    ];
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new UserError(
      `Slurm does not answer (sinfo failed${stderr ? `: ${stderr.split('\n')[0]}` : ''}): is slurmctld running and reachable from here? \`sinfo\` should list the partitions.`,
    );
  }
  if (!partitions.includes(executor.partition)) {
    throw new UserError(
      `Slurm has no partition "${executor.partition}" (executor.partition in the sweep file). This cluster has: ${partitions.join(', ') || 'none'}. Use one of them, or leave "partition" out for the default.`,
    );
  }
}

export interface SlurmExecutorOptions {
  parallel: number;
  sweepId: string;
  sweepDir: string;
  runsDir: string;
  executor: SlurmExecutorConfig;
  trainArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

interface SlurmTask {
  jobId: string;
  submittedAt: number;
  seen: boolean;
  state: TaskStatus['state'];
  detail?: string;
  trialDir?: string;
}

export class SlurmExecutor implements Executor {
  readonly type = 'slurm' as const;
  readonly parallel: number;
  private readonly tasks = new Map<number, SlurmTask>();
  private submissions = 0;

  constructor(private readonly options: SlurmExecutorOptions) {
    this.parallel = Math.max(1, options.parallel);
    this.submissions = fs.existsSync(this.slurmDir()) ? fs.readdirSync(this.slurmDir()).length : 0;
  }

  private slurmDir(): string {
    return path.join(this.options.sweepDir, 'slurm');
  }

  private scriptInput(): BatchScriptInput {
    return {
      sweepId: this.options.sweepId,
      sweepDir: this.options.sweepDir,
      runsDir: this.options.runsDir,
      executor: this.options.executor,
      trainArgs: this.options.trainArgs,
    };
  }

  async submit(trials: TrialLaunch[]): Promise<string | undefined> {
    if (trials.length === 0) return undefined;
    fs.mkdirSync(this.slurmDir(), { recursive: true });
    for (const t of trials) {
      const marker = path.join(t.trialDir, RESUME_RUN_FILE);
      if (t.resumeRunDir) fs.writeFileSync(marker, `${t.resumeRunDir}\n`);
      else fs.rmSync(marker, { force: true });
    }
    const script = path.join(this.slurmDir(), `array-${++this.submissions}.sbatch`);
    fs.writeFileSync(script, batchScript(this.scriptInput()), { mode: 0o755 });
    const indices = trials.map((t) => t.trial);
    const jobId = await this.sbatch(sbatchArgs(this.options.executor, indices, this.parallel, script));
    for (const t of trials) this.track(t.trial, `${jobId}_${t.trial}`, t.trialDir);
    return jobId;
  }

  private track(trial: number, jobId: string, trialDir?: string): void {
    this.tasks.set(trial, { jobId, submittedAt: Date.now(), seen: false, state: 'waiting', trialDir });
  }

  private async sbatch(args: string[]): Promise<string> {
    const result = await runSlurmCommand('sbatch', args, this.options.env);
    if (result.missing) throw new UserError(NO_SBATCH_MESSAGE);
    if (result.code !== 0) {
      const why = result.stderr
        .replace(/^sbatch: error: /gm, '')
        .trim()
        .split('\n')
        .join('; ');
      const partition = this.options.executor.partition;
      let hint = 'Check the executor settings in the sweep file.';
      if (/partition/i.test(why)) {
        const sinfo = await runSlurmCommand('sinfo', ['-h', '-o', '%R'], this.options.env);
        const known =
          sinfo.code === 0
            ? [
                ...new Set(
                  sinfo.stdout
                    .split('\n')
                    .map((s) => s.trim())
                    .filter(Boolean),
                ),
              ]
            : [];
        hint = `Check "partition" in the sweep file's executor${partition ? ` (it says "${partition}")` : ''}${known.length > 0 ? `; this cluster has: ${known.join(', ')}` : ' (`sinfo -s` lists the partitions)'}.`;
      }
      throw new UserError(
        `Slurm refused the sweep's array job: ${why || `sbatch exited with ${result.code}`}. ${hint}`,
      );
    }
    const jobId = result.stdout.trim().split(';')[0];
    if (!/^\d+$/.test(jobId))
      throw new UserError(`sbatch answered "${result.stdout.trim()}" instead of a job id.`);
    return jobId;
  }

  adopt(trials: { trial: number; jobId?: string }[]): void {
    for (const { trial, jobId } of trials) {
      if (!jobId) continue;
      this.tasks.set(trial, { jobId, submittedAt: Date.now(), seen: false, state: 'waiting' });
    }
  }

  async poll(): Promise<Map<number, TaskStatus>> {
    const open = [...this.tasks.values()].filter((t) => t.state !== 'ended');
    if (open.length > 0) {
      const jobs = [...new Set(open.map((t) => t.jobId.split('_')[0]))];
      const result = await runSlurmCommand(
        'squeue',
        ['-h', '-r', '-j', jobs.join(','), '-o', '%i|%T|%r'],
        this.options.env,
      );
      // squeue fails for job ids slurmctld no longer knows: then none of them is queued.
      const listed =
        result.code === 0
          ? parseSqueue(result.stdout)
          : /Invalid job id/i.test(result.stderr)
            ? new Map()
            : undefined;
      if (listed) {
        const now = Date.now();
        for (const task of open) {
          const entry = listed.get(task.jobId);
          if (entry) {
            task.seen = true;
            task.state = entry.state;
            task.detail = entry.state === 'waiting' ? entry.reason : entry.slurmState;
          } else if (task.seen || now - task.submittedAt > SUBMIT_GRACE_MS) {
            task.state = 'ended';
          }
        }
      }
      // squeue failing otherwise (slurmctld restarting): keep the last known states and ask again next time.
    }
    return new Map(
      [...this.tasks].map(([trial, t]) => [
        trial,
        { state: t.state, jobId: t.jobId, ...(t.detail ? { detail: t.detail } : {}) },
      ]),
    );
  }

  async cancel(noRunFolder: number[]): Promise<void> {
    const jobs = [
      ...new Set(
        [...this.tasks.values()].filter((t) => t.state !== 'ended').map((t) => t.jobId.split('_')[0]),
      ),
    ];
    if (jobs.length > 0) await runSlurmCommand('scancel', ['--state=PENDING', ...jobs], this.options.env);
    // Tasks that run but have no run folder yet are preparing: SIGTERM makes them stop as soon as they can.
    const preparing = noRunFolder
      .map((trial) => this.tasks.get(trial)?.jobId)
      .filter((id): id is string => !!id);
    if (preparing.length > 0) await runSlurmCommand('scancel', preparing, this.options.env);
  }

  async forceStop(trials: number[]): Promise<void> {
    const ids = trials.map((trial) => this.tasks.get(trial)?.jobId).filter((id): id is string => !!id);
    if (ids.length > 0) await runSlurmCommand('scancel', ids, this.options.env);
  }

  logTail(trial: number): string {
    const dir = path.join(this.options.sweepDir, 'trials', String(trial));
    try {
      const logs = fs.readdirSync(dir).filter((f) => f.startsWith('slurm-') && f.endsWith('.log'));
      const newest = logs
        .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
        .sort((a, b) => b.t - a.t)[0];
      return newest ? readTail(path.join(dir, newest.f)) : '';
    } catch {
      return '';
    }
  }
}
