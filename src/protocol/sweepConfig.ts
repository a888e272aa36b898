/**
 * Sweeps (`*.sweep.json`) as the engine, the CLI, the host and the webviews see them: the file a user
 * writes, the resolved sweep, the `sweep` field of a trial's run.json, and the sweep's state as kept in
 * `<runs folder>/../sweeps/<sweepId>/state.json`. Key names are a public contract (README.md, "Sweeps").
 */

export type SweepMethod = 'grid' | 'random';
export const SWEEP_METHODS: readonly SweepMethod[] = ['grid', 'random'];

/** The metrics of a trial's best epoch a sweep can rank trials by. */
export type SweepMetricName = 'val_accuracy' | 'val_loss' | 'accuracy' | 'loss';
export const SWEEP_METRICS: readonly SweepMetricName[] = ['val_accuracy', 'val_loss', 'accuracy', 'loss'];
export type SweepGoal = 'maximize' | 'minimize';

export type Distribution = 'uniform' | 'log_uniform' | 'int_uniform';
export const DISTRIBUTIONS: readonly Distribution[] = ['uniform', 'log_uniform', 'int_uniform'];

/** A value an experiment key can take (any JSON). */
export type ParamValue = string | number | boolean | null | ParamValue[] | { [key: string]: ParamValue };

/** One searched key: a list of values, or a range with a distribution (default uniform). */
export type SweepParameter =
  { values: ParamValue[] } | { min: number; max: number; distribution?: Distribution };

export type ExecutorType = 'local' | 'slurm';

export interface LocalExecutorConfig {
  type: 'local';
}

export interface SlurmExecutorConfig {
  type: 'slurm';
  /** `--partition`; absent: the cluster's default partition. */
  partition?: string;
  /** `--time` per trial, e.g. "01:00:00". */
  time?: string;
  /** `--cpus-per-task`. */
  cpusPerTask?: number;
  /** `--gpus` per trial: a count or "type:count". */
  gpus?: number | string;
  /** More sbatch arguments, as given (e.g. ["--account=lab", "--mem=8G"]). */
  sbatchArgs?: string[];
  /** The command that runs `<command> train …` on the compute node; default `finetune`. */
  command?: string;
}

export type ExecutorConfig = LocalExecutorConfig | SlurmExecutorConfig;

export interface AshaConfig {
  type: 'asha';
  /** The first rung: every trial trains at least this many epochs. */
  minEpochs: number;
  /** η: rung k is at minEpochs·η^k epochs, and 1/η of the trials reaching a rung go on. */
  reductionFactor: number;
}

export interface SweepMetric {
  name: SweepMetricName;
  goal: SweepGoal;
}

/** What may appear in the file. */
export interface SweepFile {
  $schema?: string;
  name: string;
  description?: string;
  /** The experiment every trial starts from, relative to the sweep file. */
  experiment: string;
  method: SweepMethod;
  metric?: Partial<SweepMetric>;
  parameters: Record<string, SweepParameter>;
  maxTrials?: number;
  parallel?: number;
  seed?: number;
  earlyTermination?: AshaConfig;
  executor?: ExecutorConfig;
}

/** A sweep with defaults applied and the experiment path absolute. */
export interface SweepConfig {
  name: string;
  description?: string;
  /** Absolute path of the sweep file. */
  sweepPath: string;
  /** Absolute path of the experiment file. */
  experimentPath: string;
  method: SweepMethod;
  metric: SweepMetric;
  /** In the file's order (the order random draws are made in). */
  parameters: Record<string, SweepParameter>;
  /** random: how many trials; grid: at most this many (the grid must fit). */
  maxTrials: number;
  /** Trials at once; absent: the executor's default (core count on CPU backends, 1 on a GPU). */
  parallel?: number;
  seed: number;
  earlyTermination?: AshaConfig;
  executor: ExecutorConfig;
}

export const DEFAULT_RANDOM_TRIALS = 10;

/** The goal a metric has unless the file says otherwise: losses go down, accuracies up. */
export function defaultGoal(metric: SweepMetricName): SweepGoal {
  return metric.endsWith('loss') ? 'minimize' : 'maximize';
}

/** run.json `sweep`: which sweep and trial a run is, with what parameters, on which executor. */
export interface SweepTrialRef {
  id: string;
  /** 0-based; for Slurm also the array index. */
  trial: number;
  /** Dotted experiment key → the value this trial uses. */
  params: Record<string, ParamValue>;
  executor: ExecutorType;
  /** Slurm only: `<array job id>_<array index>`. */
  jobId?: string;
}

// ───────────────────────── state.json ─────────────────────────

export type SweepStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

/**
 * pending: not started · running: its trainer runs (or Slurm holds it) · completed: trained to its end ·
 * pruned: stopped by ASHA at a rung · stopped: stopped by a cancel · failed: the trainer failed or never
 * started · crashed: the trainer died.
 */
export type TrialState = 'pending' | 'running' | 'completed' | 'pruned' | 'stopped' | 'failed' | 'crashed';
export const TRIAL_STATES: readonly TrialState[] = [
  'pending',
  'running',
  'completed',
  'pruned',
  'stopped',
  'failed',
  'crashed',
];

export interface TrialRecord {
  trial: number;
  params: Record<string, ParamValue>;
  state: TrialState;
  runId?: string;
  runDir?: string;
  /** Slurm: `<array job id>_<index>`. */
  jobId?: string;
  /** Local: the trainer's process id. */
  pid?: number;
  epochsCompleted?: number;
  /** The sweep metric at the trial's best epoch. */
  score?: number;
  /** ASHA: the rungs this trial passed (epoch counts). */
  rungsPassed?: number[];
  /** What the controller asked the trial's trainer to do: stop at an ASHA rung, or stop for a cancel. */
  stopRequested?: 'asha' | 'cancel';
  endReason?: string;
  error?: string;
  startedAt?: string;
  endedAt?: string;
}

/** A trial's metric (best so far) when it reached a rung, in the order the rungs were reached. */
export interface AshaRecord {
  rung: number;
  trial: number;
  value: number;
}

export interface SweepBest {
  trial: number;
  runId?: string;
  score: number;
  params: Record<string, ParamValue>;
}

export interface SweepState {
  id: string;
  name: string;
  status: SweepStatus;
  sweepPath: string;
  experimentPath: string;
  runsDir: string;
  metric: SweepMetric;
  executor: ExecutorType;
  parallel: number;
  /** ASHA, when early termination is on: the rungs (epoch counts) and each trial's value at each rung reached. */
  asha?: { rungs: number[]; recorded: AshaRecord[] };
  /** Slurm: the array jobs submitted for this sweep, oldest first (a resumed sweep may add one). */
  slurmJobs?: string[];
  createdAt: string;
  updatedAt: string;
  endedAt?: string;
  /** The process that drives the sweep now; a dead one means the sweep can be resumed. */
  controller?: { pid: number; hostname: string };
  trials: TrialRecord[];
  best?: SweepBest;
  counts: Record<TrialState, number>;
  /** Why the sweep ended the way it did. */
  endReason?: string;
}
