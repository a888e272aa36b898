/**
 * Drives a prepared sweep to its end: submits the trials to the executor, then, a few times a second,
 * reads each trial's run folder (its epochs, its outcome), lets ASHA judge trials that reached a rung
 * (a stop request into the run folder), notices trials that ended, keeps the best trial, and writes the
 * sweep's state atomically whenever it changes. A failed trial is counted and reported; the sweep goes on.
 * A cancel (the signal, or a cancel-request file from `finetune sweep cancel` / VS Code) asks every trial
 * to stop through its run folder, cancels what never started, and ends the sweep `stopped`
 * (`interrupted` when the process driving it is going away), which `finetune sweep` can resume.
 *
 * No TensorFlow.js: this runs in the CLI process (and, for VS Code, in that CLI as a child process).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SweepEvent } from '../../protocol/sweepEvents';
import type { SweepState, SweepStatus, TrialRecord } from '../../protocol/sweepConfig';
import { Asha, ashaStopReason } from '../../core/sweep/asha';
import {
  CANCEL_REQUEST_FILE,
  countTrials,
  readCancelRequest,
  trialDirOf,
  writeState,
} from '../../core/sweep/sweepStore';
import { resumeProblem } from '../../core/runs/resumable';
import { bestTrial, endedTrial, metricHistory, trialScore } from '../../core/sweep/trialOutcome';
import { markRunCrashed, readRun, type RunListing } from '../../core/runs/readRuns';
import { errorMessage } from '../../core/userError';
import type { Executor, TaskStatus } from './executor';
import type { PreparedSweep } from './prepareSweep';
import { requestStop, writeRungVerdict } from './stopRequest';
import { TrialRunFinder } from './trialRuns';

export interface SweepRunOptions {
  prepared: PreparedSweep;
  executor: Executor;
  /** Aborting cancels the sweep; `signal.reason === 'interrupted'` ends it as interrupted instead of stopped. */
  signal?: AbortSignal;
  onEvent: (event: SweepEvent) => void;
  /** How often trials are looked at (default 250 ms). */
  pollMs?: number;
  /** How long stopped trials get to end by themselves before they are killed (default 30 s). */
  cancelGraceMs?: number;
}

const FINAL = new Set<TrialRecord['state']>(['completed', 'pruned', 'stopped', 'failed', 'crashed']);
const HEARTBEAT_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSweep(options: SweepRunOptions): Promise<SweepState> {
  return new SweepController(options).run();
}

class SweepController {
  private readonly state: SweepState;
  private readonly dir: string;
  private readonly asha: Asha | undefined;
  private readonly finder: TrialRunFinder;
  private readonly emit: (event: SweepEvent) => void;
  private cancel: { reason: string; status: SweepStatus; since: number; forced: boolean } | undefined;
  private dirty = true;
  private lastWrite = 0;
  private bestKey = '';
  private readonly epochsSeen = new Map<number, number>();
  /** Rung verdicts ("go on") written in this life of the controller: `<trial>:<rung>`. */
  private readonly verdicts = new Set<string>();
  /** Trials that crashed once in this life of the controller and were continued from their checkpoint. */
  private readonly retried = new Set<number>();

  constructor(private readonly options: SweepRunOptions) {
    const { prepared } = options;
    this.state = prepared.state;
    this.dir = prepared.sweepDir;
    this.emit = options.onEvent;
    const early = prepared.snapshot.config.earlyTermination;
    this.asha =
      early && this.state.asha
        ? new Asha(early, this.state.metric.goal, this.state.asha.rungs, this.state.asha.recorded)
        : undefined;
    this.finder = new TrialRunFinder(this.state.runsDir, this.state.id);
    for (const trial of this.state.trials) if (trial.runDir) this.finder.remember(trial.trial, trial.runDir);
  }

  async run(): Promise<SweepState> {
    const { prepared, executor } = this.options;
    const state = this.state;
    state.controller = { pid: process.pid, hostname: os.hostname() };
    state.parallel = executor.parallel;
    // A cancel request left from an earlier life of the sweep was handled then.
    fs.rmSync(path.join(this.dir, CANCEL_REQUEST_FILE), { force: true });
    this.save(true);
    executor.adopt(prepared.adopt);
    let jobId: string | undefined;
    try {
      jobId = await executor.submit(prepared.launches);
    } catch (error) {
      // Nothing started (sbatch refused the job): the sweep ends failed, with the reason, which the caller reports.
      this.finish('failed', errorMessage(error), false);
      throw error;
    }
    if (jobId) state.slurmJobs = [...(state.slurmJobs ?? []), jobId];
    for (const launch of prepared.launches) {
      const trial = state.trials[launch.trial];
      if (jobId && executor.type === 'slurm') trial.jobId = `${jobId}_${launch.trial}`;
    }
    this.emit({
      type: 'sweepStart',
      sweepId: state.id,
      sweepDir: this.dir,
      name: state.name,
      trials: state.trials.length,
      parallel: executor.parallel,
      executor: executor.type,
      metric: state.metric,
      ...(prepared.resumed
        ? { resumed: { finished: state.trials.filter((t) => FINAL.has(t.state)).length } }
        : {}),
      ...(jobId ? { jobId } : {}),
    });
    const onAbort = (): void =>
      this.requestCancel(
        this.options.signal?.reason === 'interrupted'
          ? 'the process driving the sweep is going away'
          : 'cancelled',
        this.options.signal?.reason === 'interrupted' ? 'interrupted' : 'stopped',
      );
    if (this.options.signal?.aborted) onAbort();
    this.options.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        const fileCancel = readCancelRequest(this.dir);
        if (fileCancel && !this.cancel) this.requestCancel(fileCancel, 'stopped');
        await this.step(await executor.poll());
        if (state.trials.every((t) => FINAL.has(t.state))) break;
        this.save(false);
        await sleep(this.options.pollMs ?? 250);
      }
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
    }
    const failed = state.trials.filter((t) => t.state === 'failed' || t.state === 'crashed').length;
    const status: SweepStatus = this.cancel
      ? this.cancel.status
      : failed === state.trials.length
        ? 'failed'
        : 'completed';
    const reason = this.cancel
      ? this.cancel.reason
      : `all ${state.trials.length} trials ended${failed > 0 ? ` (${failed} failed)` : ''}`;
    this.finish(status, reason);
    return state;
  }

  private finish(status: SweepStatus, reason: string, announce = true): void {
    const state = this.state;
    state.status = status;
    state.endReason = reason;
    state.endedAt = new Date().toISOString();
    delete state.controller;
    fs.rmSync(path.join(this.dir, CANCEL_REQUEST_FILE), { force: true });
    this.save(true);
    if (announce) this.emit({ type: 'sweepEnd', status, state });
  }

  private requestCancel(reason: string, status: SweepStatus): void {
    if (this.cancel) return;
    this.cancel = { reason, status, since: Date.now(), forced: false };
    this.emit({ type: 'log', level: 'info', message: `stopping every trial: ${reason}` });
    const preparing: number[] = [];
    for (const trial of this.state.trials) {
      if (FINAL.has(trial.state)) continue;
      trial.stopRequested = 'cancel';
      if (trial.runDir) this.askToStop(trial, `sweep ${reason}`);
      else if (trial.state === 'running') preparing.push(trial.trial);
    }
    this.dirty = true;
    this.save(true);
    void this.options.executor
      .cancel(preparing)
      .catch((error: unknown) =>
        this.emit({ type: 'log', level: 'warn', message: `cancel: ${errorMessage(error)}` }),
      );
  }

  private askToStop(trial: TrialRecord, reason: string): void {
    try {
      requestStop(trial.runDir!, reason);
    } catch (error) {
      this.emit({
        type: 'log',
        level: 'warn',
        message: `trial ${trial.trial}: cannot write its stop request: ${errorMessage(error)}`,
      });
    }
  }

  private async step(statuses: Map<number, TaskStatus>): Promise<void> {
    const metric = this.state.metric;
    for (const trial of this.state.trials) {
      if (FINAL.has(trial.state)) continue;
      const task = statuses.get(trial.trial);
      if (!task) continue;
      if (task.pid !== undefined && trial.pid !== task.pid) [trial.pid, this.dirty] = [task.pid, true];
      if (task.jobId && trial.jobId !== task.jobId) [trial.jobId, this.dirty] = [task.jobId, true];
      if (trial.state === 'pending' && task.state !== 'waiting') {
        trial.state = 'running';
        trial.startedAt = new Date().toISOString();
        this.dirty = true;
        this.emit({
          type: 'trialStart',
          trial: trial.trial,
          params: trial.params,
          ...(trial.jobId ? { jobId: trial.jobId } : {}),
        });
      }
      if (!trial.runDir) {
        const dir = this.finder.find(trial.trial);
        if (dir) {
          trial.runDir = dir;
          trial.runId = path.basename(dir);
          this.dirty = true;
          this.emit({ type: 'trialRun', trial: trial.trial, runId: trial.runId, runDir: dir });
          // Found after a cancel was asked: it must stop too.
          if (trial.stopRequested === 'cancel' && this.cancel)
            this.askToStop(trial, `sweep ${this.cancel.reason}`);
        }
      }
      const run = trial.runDir ? readRun(trial.runDir) : undefined;
      if (run) this.observe(trial, run);
      if (task.state === 'ended') this.end(trial, run, task);
    }
    if (
      this.cancel &&
      !this.cancel.forced &&
      Date.now() - this.cancel.since > (this.options.cancelGraceMs ?? 30_000)
    ) {
      this.cancel.forced = true;
      const left = this.state.trials.filter((t) => !FINAL.has(t.state)).map((t) => t.trial);
      this.emit({
        type: 'log',
        level: 'warn',
        message: `trials ${left.join(', ')} did not stop within the grace period: ending them`,
      });
      await this.options.executor.forceStop(left);
    }
    const best = bestTrial(this.state.trials, metric);
    const key = best ? `${best.trial}:${best.score}` : '';
    if (key !== this.bestKey) {
      this.bestKey = key;
      this.state.best = best;
      this.dirty = true;
      if (best) this.emit({ type: 'best', ...best });
    }
  }

  /** New epochs: the score, and ASHA's verdict at any rung reached. */
  private observe(trial: TrialRecord, run: RunListing): void {
    const epochs = run.metrics.length;
    const score = trialScore(run, this.state.metric);
    if (epochs !== trial.epochsCompleted || score !== trial.score) {
      trial.epochsCompleted = epochs;
      if (score !== undefined) trial.score = score;
      this.dirty = true;
    }
    if ((this.epochsSeen.get(trial.trial) ?? 0) < epochs) {
      this.epochsSeen.set(trial.trial, epochs);
      const last = run.metrics[run.metrics.length - 1] as unknown as Record<string, unknown> | undefined;
      const value = last?.[this.state.metric.name];
      this.emit({
        type: 'trialEpoch',
        trial: trial.trial,
        epoch: epochs,
        ...(typeof value === 'number' ? { value } : {}),
      });
    }
    if (!this.asha || this.cancel || trial.stopRequested || run.record?.status !== 'running') return;
    const decisions = this.asha.observe(trial.trial, metricHistory(run, this.state.metric));
    if (decisions.length > 0) {
      this.state.asha = { rungs: [...this.asha.rungs], recorded: this.asha.recorded };
      this.dirty = true;
    }
    for (const decision of decisions) {
      if (!decision.stop) {
        trial.rungsPassed = [...(trial.rungsPassed ?? []), decision.rung];
        continue;
      }
      const planned = run.record?.epochsPlanned ?? run.record?.config?.training?.epochs ?? 0;
      const reason = ashaStopReason(
        decision,
        this.state.metric.name,
        this.state.metric.goal,
        this.options.prepared.snapshot.config.earlyTermination!.reductionFactor,
        planned,
      );
      trial.stopRequested = 'asha';
      this.save(true); // the decision is on disk before the trial acts on it: a resumed sweep knows why it stopped
      this.askToStop(trial, reason);
      this.emit({ type: 'trialPruned', trial: trial.trial, rung: decision.rung, reason });
    }
    // The trial waits at a rung for the verdict: "go on" unless it was just asked to stop.
    if (
      !trial.stopRequested &&
      this.asha.rungs.includes(epochs) &&
      !this.verdicts.has(`${trial.trial}:${epochs}`)
    ) {
      this.verdicts.add(`${trial.trial}:${epochs}`);
      try {
        writeRungVerdict(run.dir, epochs);
      } catch (error) {
        this.emit({
          type: 'log',
          level: 'warn',
          message: `trial ${trial.trial}: cannot write its rung verdict: ${errorMessage(error)}`,
        });
      }
    }
  }

  private end(trial: TrialRecord, run: RunListing | undefined, task: TaskStatus): void {
    const how =
      this.options.executor.type === 'slurm'
        ? `(Slurm task ${task.jobId ?? '?'}) ended`
        : task.exitCode === null
          ? 'was killed by a signal'
          : task.exitCode === undefined
            ? 'ended' // adopted from an earlier controller: how it ended is not known
            : `exited with code ${task.exitCode}`;
    const ended = endedTrial(run, trial.stopRequested, how, this.options.executor.logTail(trial.trial));
    if (ended.markCrashed && run) markRunCrashed(run, ended.markCrashed);
    // A trainer that died (killed, out of memory, its node lost) gets one more go from its last epoch.
    if (
      ended.state === 'crashed' &&
      run &&
      !this.cancel &&
      !this.retried.has(trial.trial) &&
      !resumeProblem(run.dir)
    ) {
      this.retried.add(trial.trial);
      this.emit({
        type: 'log',
        level: 'warn',
        message: `trial ${trial.trial} crashed (${ended.error}); it continues from its last completed epoch (once)`,
      });
      trial.state = 'pending';
      this.dirty = true;
      void this.options.executor
        .submit([{ trial: trial.trial, trialDir: trialDirOf(this.dir, trial.trial), resumeRunDir: run.dir }])
        .then((jobId) => {
          if (jobId) this.state.slurmJobs = [...(this.state.slurmJobs ?? []), jobId];
        })
        .catch((error: unknown) => {
          Object.assign(trial, {
            state: 'crashed',
            error: `${ended.error}; continuing it failed: ${errorMessage(error)}`,
          });
          this.dirty = true;
        });
      return;
    }
    trial.state = ended.state;
    trial.endedAt = new Date().toISOString();
    if (ended.endReason) trial.endReason = ended.endReason;
    if (ended.error) trial.error = ended.error;
    if (run) {
      trial.epochsCompleted = readRun(run.dir).metrics.length;
      const score = trialScore(readRun(run.dir), this.state.metric);
      if (score !== undefined) trial.score = score;
    }
    this.dirty = true;
    this.emit({
      type: 'trialEnd',
      trial: trial.trial,
      state: trial.state,
      ...(trial.score !== undefined ? { score: trial.score } : {}),
      ...(trial.epochsCompleted !== undefined ? { epochs: trial.epochsCompleted } : {}),
      ...(trial.endReason ? { endReason: trial.endReason } : {}),
      ...(trial.error ? { error: trial.error } : {}),
    });
  }

  /** Writes state.json when something changed, and every few seconds as a sign of life. */
  private save(force: boolean): void {
    const now = Date.now();
    if (!force && !this.dirty && now - this.lastWrite < HEARTBEAT_MS) return;
    this.state.counts = countTrials(this.state.trials);
    this.state.updatedAt = new Date(now).toISOString();
    try {
      writeState(this.dir, this.state);
      this.dirty = false;
      this.lastWrite = now;
    } catch (error) {
      this.emit({
        type: 'log',
        level: 'warn',
        message: `cannot write the sweep's state: ${errorMessage(error)}`,
      });
    }
  }
}
