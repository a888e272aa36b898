/**
 * What runs a sweep's trials. Every trial is an ordinary `finetune train` of the trial's experiment file
 * into the sweep's runs folder (or `finetune train --resume <run>` to continue an interrupted one); the
 * executor only starts, tracks and cancels those processes. What happens inside a trial — epochs, its
 * outcome — the controller reads from the run folder, the same for every executor.
 */
import type { ExecutorType } from '../../protocol/sweepConfig';

export interface TrialLaunch {
  trial: number;
  /** trials/<n>/ with experiment.json and trial.json. */
  trialDir: string;
  /** Continue this run folder from its last checkpoint instead of starting a run. */
  resumeRunDir?: string;
}

export interface TaskStatus {
  /** waiting: queued (locally for a free slot, or pending in Slurm) · running · ended. */
  state: 'waiting' | 'running' | 'ended';
  /** Local: the process's exit code (null when a signal ended it). */
  exitCode?: number | null;
  /** Local: the trainer's process id. */
  pid?: number;
  /** Slurm: `<array job id>_<index>`. */
  jobId?: string;
  /** Slurm: why a task waits (squeue's reason), or how it ended when known. */
  detail?: string;
}

export interface Executor {
  readonly type: ExecutorType;
  /** Trials at once. */
  readonly parallel: number;
  /** Queues trials to run (local: started as slots free; Slurm: one array job). Returns the Slurm job id. */
  submit(trials: TrialLaunch[]): Promise<string | undefined>;
  /** Takes over trials a dead controller started that still run (local: their pids; Slurm: their job ids). */
  adopt(trials: { trial: number; pid?: number; jobId?: string }[]): void;
  /** The state of every trial submitted or adopted. */
  poll(): Promise<Map<number, TaskStatus>>;
  /**
   * Stops what the run-folder stop requests cannot reach: trials that wait (never started) and trials
   * whose trainer has not created its run folder yet (`noRunFolder`). The others were asked to stop by the
   * controller and end by themselves.
   */
  cancel(noRunFolder: number[]): Promise<void>;
  /** Ends whatever still runs after the grace period of a cancel. */
  forceStop(trials: number[]): Promise<void>;
  /** The trial's output (trainer log), last lines, to explain a trial that failed without a run folder. */
  logTail(trial: number): string;
}
