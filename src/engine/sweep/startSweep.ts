/**
 * A sweep from its file to its end, as `finetune sweep` runs it (and VS Code, through that command in a
 * child process): prepare (new or resumed), build the executor, drive it with the controller. Also the
 * cancel of a sweep whose controller is gone: its trials are adopted and stopped the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SweepEvent } from '../../protocol/sweepEvents';
import type { SweepState, TrialRecord } from '../../protocol/sweepConfig';
import { countTrials, readSnapshot, writeState, type SweepListing } from '../../core/sweep/sweepStore';
import { isProcessAlive } from '../../core/runs/readRuns';
import type { Executor } from './executor';
import { LocalExecutor } from './localExecutor';
import { localTrialThreads, prepareSweep, type PreparedSweep, type SweepStartOptions } from './prepareSweep';
import { checkSlurm, SlurmExecutor } from './slurmExecutor';
import { runSweep } from './sweepController';

export interface SweepProcessOptions {
  /** Extra `train` arguments for every trial (backend, memory budget, cache). */
  trainArgs?: string[];
  signal?: AbortSignal;
  onEvent: (event: SweepEvent) => void;
  pollMs?: number;
  cancelGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called once the sweep is prepared, before any trial starts (warnings, notes). */
  onPrepared?: (prepared: PreparedSweep) => void;
}

/** The CLI the local executor runs trials with: this very bundle (dist/cli.js), found from here. */
export function cliScript(): string {
  const candidates = [
    path.join(__dirname, 'cli.js'),
    path.resolve(__dirname, '..', '..', '..', '..', 'dist', 'cli.js'),
    path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js'),
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found)
    throw new Error(`Cannot find the finetune CLI (dist/cli.js) near ${__dirname}: run \`npm run build\`.`);
  return found;
}

/**
 * The executor of a prepared sweep. `threads` (`--threads`) is each trial's wasm thread count: on Slurm
 * passed only when given (a task has the cores of its allocation), locally the cores shared out over the
 * trials at once when not given (localTrialThreads).
 */
export function createExecutor(
  prepared: PreparedSweep,
  trainArgs: string[] = [],
  env?: NodeJS.ProcessEnv,
  threads?: number,
): Executor {
  const { state, snapshot, sweepDir } = prepared;
  const executor = snapshot.config.executor;
  if (state.executor === 'slurm') {
    return new SlurmExecutor({
      parallel: state.parallel,
      sweepId: state.id,
      sweepDir,
      runsDir: state.runsDir,
      executor: executor.type === 'slurm' ? executor : { type: 'slurm' },
      trainArgs: [...trainArgs, ...(threads !== undefined ? ['--threads', String(threads)] : [])],
      env,
    });
  }
  return new LocalExecutor({
    parallel: state.parallel,
    runsDir: state.runsDir,
    cliCommand: [process.execPath, cliScript()],
    trainArgs,
    threads: localTrialThreads(state.parallel, threads),
    env,
  });
}

export async function startSweep(
  start: SweepStartOptions,
  options: SweepProcessOptions,
): Promise<SweepState> {
  const prepared = prepareSweep({
    ...start,
    preflight: (executor) => {
      if (executor.type === 'slurm') checkSlurm(executor, options.env);
    },
  });
  options.onPrepared?.(prepared);
  const executor = createExecutor(prepared, options.trainArgs, options.env, start.threads);
  return runSweep({
    prepared,
    executor,
    signal: options.signal,
    onEvent: options.onEvent,
    pollMs: options.pollMs,
    cancelGraceMs: options.cancelGraceMs,
  });
}

/**
 * Cancels a sweep whose controller is gone: trials still running are adopted and asked to stop (through
 * their run folders; Slurm's pending tasks are cancelled), trials that never started are marked stopped.
 */
export async function cancelOrphanedSweep(
  listing: SweepListing,
  options: SweepProcessOptions,
): Promise<SweepState> {
  const snapshot = readSnapshot(listing.dir);
  const state: SweepState = structuredClone(listing.state!);
  const adopt: PreparedSweep['adopt'] = [];
  for (const trial of state.trials) {
    if (trial.state === 'pending') Object.assign(trial, stoppedBeforeStart());
    else if (trial.state === 'running') {
      if (state.executor === 'slurm' && trial.jobId) adopt.push({ trial: trial.trial, jobId: trial.jobId });
      // A dead pid (-1 when none is known) is reported ended at once and judged by its run folder.
      else
        adopt.push({
          trial: trial.trial,
          pid: trial.pid !== undefined && isProcessAlive(trial.pid) ? trial.pid : -1,
        });
    }
  }
  state.counts = countTrials(state.trials);
  writeState(listing.dir, state);
  const prepared: PreparedSweep = {
    sweepDir: listing.dir,
    snapshot,
    state,
    launches: [],
    adopt,
    resumed: true,
    warnings: [],
    notes: [],
  };
  const abort = new AbortController();
  abort.abort('stopped');
  const executor = createExecutor(prepared, [], options.env);
  return runSweep({
    prepared,
    executor,
    signal: abort.signal,
    onEvent: options.onEvent,
    pollMs: options.pollMs,
    cancelGraceMs: options.cancelGraceMs,
  });
}

function stoppedBeforeStart(): Partial<TrialRecord> {
  return {
    state: 'stopped',
    endReason: 'sweep cancelled before the trial started',
    endedAt: new Date().toISOString(),
  };
}
