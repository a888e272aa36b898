/**
 * Gets a sweep ready to run: a new one — its folder with the snapshot, every trial's experiment file and
 * run.json `sweep` reference, and its state, all before any trainer starts (the folder appears whole, by
 * rename) — or the unfinished sweep of the same, unchanged file, to resume: finished trials stay finished,
 * trials whose process still runs are adopted, interrupted runs continue from their checkpoints, trials
 * that never started start.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackendChoice } from '../../protocol/experimentConfig';
import type { ExecutorConfig, ExecutorType, SweepState, TrialRecord } from '../../protocol/sweepConfig';
import { ashaRungs } from '../../core/sweep/asha';
import { loadSweep, type LoadedSweep } from '../../core/sweep/loadSweep';
import { sweepTrials } from '../../core/sweep/sampleTrials';
import {
  countTrials,
  listSweeps,
  makeSweepId,
  readSnapshot,
  SWEEP_FILE,
  sweepsDirOf,
  trialDirOf,
  writeJsonAtomic,
  writeState,
  type SweepListing,
  type SweepSnapshot,
} from '../../core/sweep/sweepStore';
import { endedTrial } from '../../core/sweep/trialOutcome';
import { trialExperimentText } from '../../core/sweep/trialExperiment';
import { resolveNative } from '../../core/backend/nativePath';
import { isProcessAlive, markRunCrashed, readRun } from '../../core/runs/readRuns';
import { resumeProblem } from '../../core/runs/resumable';
import { UserError } from '../../core/userError';
import type { TrialLaunch } from './executor';
import type { TrialFileContents } from './trialRef';

export const TRIAL_EXPERIMENT_FILE = 'experiment.json';
export const TRIAL_REF_FILE = 'trial.json';

export interface SweepStartOptions {
  sweepFile: string;
  runsDir: string;
  /** `--executor`: replaces the file's executor type. */
  executor?: ExecutorType;
  /** `--parallel`: replaces the file's parallel. */
  parallel?: number;
  /** `--backend` for every trial (also decides the default parallelism). */
  backend?: BackendChoice;
  /** `--threads`: each trial's wasm threads (also decides the default parallelism). */
  threads?: number;
  /** `--new`: never resume, start a fresh sweep. */
  fresh?: boolean;
  /** Checks the executor can take the sweep (Slurm reachable) before anything is written; throws if not. */
  preflight?: (executor: ExecutorConfig) => void;
}

export interface PreparedSweep {
  sweepDir: string;
  snapshot: SweepSnapshot;
  state: SweepState;
  /** Trials to start (or continue from their run's checkpoint). */
  launches: TrialLaunch[];
  /** Trials a dead controller started whose process or Slurm task still runs. */
  adopt: { trial: number; pid?: number; jobId?: string }[];
  resumed: boolean;
  warnings: string[];
  notes: string[];
}

/** The cores this process may use (a Slurm allocation or `taskset` narrows them). */
function usableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * Local default on the CPU backends (wasm, cpu): as many trials at once as the cores hold at `threads` wasm
 * threads each — one trial per core when no thread count is given (separate trainers need no
 * synchronisation, so a trial per core trains more images per second in all than fewer trials on more
 * threads each). One at a time on a GPU or on the native CPU backend, which uses every core itself.
 */
export function defaultLocalParallel(
  backend: BackendChoice,
  env: NodeJS.ProcessEnv = process.env,
  threads = 1,
): number {
  const perThreads = Math.max(1, Math.floor(usableCores() / threads));
  if (backend === 'wasm' || backend === 'cpu') return perThreads;
  if (backend !== 'auto') return 1;
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      resolveNative(pkg, env);
      return 1; // auto picks a native backend when it is installed
    } catch {
      // not installed
    }
  }
  return perThreads;
}

/**
 * Threads of each local trial's wasm backend: the count given (`--threads`), else the cores shared out
 * over the trials that run at once — so trials at once × threads never exceeds the cores (a trainer's
 * threads wait for each other at every kernel; more threads than cores make them wait on the scheduler).
 */
export function localTrialThreads(parallel: number, threads?: number): number {
  return threads ?? Math.max(1, Math.floor(usableCores() / Math.max(1, parallel)));
}

export function prepareSweep(options: SweepStartOptions): PreparedSweep {
  const loaded = loadSweep(options.sweepFile);
  const sweepText = fs.readFileSync(loaded.config.sweepPath, 'utf8');
  const sweepsDir = sweepsDirOf(options.runsDir);
  const notes: string[] = [];
  if (!options.fresh) {
    const previous = listSweeps(sweepsDir).find((s) => s.state?.sweepPath === loaded.config.sweepPath);
    if (previous?.state && previous.effectiveStatus === 'running') {
      const c = previous.state.controller;
      throw new UserError(
        `Sweep ${previous.id} of this file is already running${c ? ` (controller process ${c.pid} on ${c.hostname})` : ''}. Follow it with \`finetune sweep status ${previous.id}\`, stop it with \`finetune sweep cancel ${previous.id}\`, or start another with --new.`,
      );
    }
    if (
      previous?.state &&
      (previous.effectiveStatus === 'interrupted' || previous.effectiveStatus === 'stopped')
    ) {
      const snapshot = readSnapshot(previous.dir);
      if (snapshot.sweepText === sweepText) {
        options.preflight?.(snapshot.config.executor);
        return resumeSweep(previous, snapshot, loaded.warnings);
      }
      notes.push(
        `The sweep file changed since sweep ${previous.id} (${previous.effectiveStatus}) was started, so a new sweep starts; that one stays as it was.`,
      );
    }
  }
  return { ...createSweep(loaded, sweepText, options), notes };
}

function createSweep(loaded: LoadedSweep, sweepText: string, options: SweepStartOptions): PreparedSweep {
  const config = loaded.config;
  const executor: ExecutorConfig =
    options.executor && options.executor !== config.executor.type
      ? options.executor === 'local'
        ? { type: 'local' }
        : { type: 'slurm' }
      : config.executor;
  options.preflight?.(executor);
  const trials = sweepTrials(config);
  const experimentText = fs.readFileSync(config.experimentPath, 'utf8');
  const backend = options.backend ?? loaded.experiment.training.backend;
  const parallel = Math.min(
    trials.length,
    options.parallel ??
      config.parallel ??
      (executor.type === 'local'
        ? defaultLocalParallel(backend, process.env, options.threads)
        : trials.length),
  );
  const sweepsDir = sweepsDirOf(options.runsDir);
  fs.mkdirSync(sweepsDir, { recursive: true });
  const now = new Date();
  const id = makeSweepId(config.name, now, (candidate) => fs.existsSync(path.join(sweepsDir, candidate)));
  const sweepDir = path.join(sweepsDir, id);
  const staging = fs.mkdtempSync(path.join(sweepsDir, `.${id}.creating-`));
  const snapshot: SweepSnapshot = {
    id,
    createdAt: now.toISOString(),
    sweepText,
    config: { ...config, executor },
    experimentText,
  };
  const maxEpochs = Math.max(
    ...trials.map((params) => {
      const epochs = params['training.epochs'];
      return typeof epochs === 'number' ? epochs : loaded.experiment.training.epochs;
    }),
  );
  const records: TrialRecord[] = trials.map((params, trial) => ({ trial, params, state: 'pending' }));
  const state: SweepState = {
    id,
    name: config.name,
    status: 'running',
    sweepPath: config.sweepPath,
    experimentPath: config.experimentPath,
    runsDir: path.resolve(options.runsDir),
    metric: config.metric,
    executor: executor.type,
    parallel,
    ...(config.earlyTermination
      ? { asha: { rungs: ashaRungs(config.earlyTermination, maxEpochs), recorded: [] } }
      : {}),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    trials: records,
    counts: countTrials(records),
  };
  try {
    writeJsonAtomic(path.join(staging, SWEEP_FILE), snapshot);
    for (const [trial, params] of trials.entries()) {
      // Written where it ends up: its paths are made relative to the final folder.
      const finalDir = trialDirOf(sweepDir, trial);
      const dir = trialDirOf(staging, trial);
      fs.mkdirSync(dir, { recursive: true });
      const ref: TrialFileContents = {
        id,
        trial,
        params,
        executor: executor.type,
        ...(state.asha ? { rungs: state.asha.rungs } : {}),
      };
      fs.writeFileSync(
        path.join(dir, TRIAL_EXPERIMENT_FILE),
        trialExperimentText({
          experimentText,
          experimentPath: config.experimentPath,
          trialDir: finalDir,
          params,
          name: `${config.name} #${trial}`,
          header: `Trial ${trial} of sweep ${id} (${path.basename(config.sweepPath)}), made from ${path.basename(config.experimentPath)}; written by finetune sweep.`,
        }),
      );
      writeJsonAtomic(path.join(dir, TRIAL_REF_FILE), ref);
    }
    writeState(staging, state);
    fs.renameSync(staging, sweepDir);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    sweepDir,
    snapshot,
    state,
    launches: trials.map((_, trial) => ({ trial, trialDir: trialDirOf(sweepDir, trial) })),
    adopt: [],
    resumed: false,
    warnings: loaded.warnings,
    notes: [],
  };
}

/** Decides, trial by trial, what a resumed sweep does (see the file comment). */
export function resumeSweep(
  listing: SweepListing,
  snapshot: SweepSnapshot,
  warnings: string[] = [],
): PreparedSweep {
  const state: SweepState = structuredClone(listing.state!);
  const launches: TrialLaunch[] = [];
  const adopt: PreparedSweep['adopt'] = [];
  const sameHost = state.controller?.hostname === undefined || state.controller.hostname === os.hostname();
  for (const trial of state.trials) {
    const trialDir = trialDirOf(listing.dir, trial.trial);
    if (trial.state === 'running') {
      if (state.executor === 'local' && sameHost && trial.pid !== undefined && isProcessAlive(trial.pid)) {
        adopt.push({ trial: trial.trial, pid: trial.pid });
        continue;
      }
      if (state.executor === 'slurm' && trial.jobId) {
        // The executor asks squeue; a task that is gone is judged by its run folder like any ended one.
        adopt.push({ trial: trial.trial, jobId: trial.jobId });
        continue;
      }
      const run = trial.runDir ? readRun(trial.runDir) : undefined;
      const ended = endedTrial(run, trial.stopRequested, 'stopped with its controller', '');
      if (ended.markCrashed && run) markRunCrashed(run, ended.markCrashed);
      Object.assign(trial, ended);
    }
    if (
      trial.state === 'pending' ||
      trial.state === 'stopped' ||
      trial.state === 'crashed' ||
      trial.state === 'running'
    ) {
      const run = trial.runDir ? readRun(trial.runDir) : undefined;
      const resumable = run && resumeProblem(run) === undefined;
      launches.push({ trial: trial.trial, trialDir, ...(resumable ? { resumeRunDir: run.dir } : {}) });
      Object.assign(trial, {
        state: 'pending',
        stopRequested: undefined,
        error: undefined,
        endReason: undefined,
      });
      if (!resumable) Object.assign(trial, { runDir: undefined, runId: undefined });
    }
  }
  const finished = state.trials.filter((t) => t.state !== 'pending').length - adopt.length;
  state.status = 'running';
  delete state.endedAt;
  delete state.endReason;
  state.counts = countTrials(state.trials);
  writeState(listing.dir, state);
  return {
    sweepDir: listing.dir,
    snapshot,
    state,
    launches,
    adopt,
    resumed: true,
    warnings,
    notes: [
      `Resuming sweep ${listing.id}: ${finished} trial(s) already finished, ${adopt.length} still running, ${launches.filter((l) => l.resumeRunDir).length} continue from their checkpoint, ${launches.filter((l) => !l.resumeRunDir).length} start.`,
    ],
  };
}
