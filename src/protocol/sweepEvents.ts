/**
 * What a running sweep reports: `finetune sweep --json` prints one of these per line, and the extension
 * host reads them from the sweep controller it starts (a child process running that very command). The
 * sweep folder's state.json stays the truth; events are for progress and low latency.
 */
import type {
  ExecutorType,
  ParamValue,
  SweepMetric,
  SweepState,
  SweepStatus,
  TrialState,
} from './sweepConfig';

export type SweepEvent =
  | {
      type: 'sweepStart';
      sweepId: string;
      sweepDir: string;
      name: string;
      trials: number;
      parallel: number;
      executor: ExecutorType;
      metric: SweepMetric;
      /** Trials already finished when a resumed sweep starts again. */
      resumed?: { finished: number };
      /** Slurm: the array job submitted now. */
      jobId?: string;
    }
  | {
      type: 'trialStart';
      trial: number;
      params: Record<string, ParamValue>;
      jobId?: string;
      resumedRun?: string;
    }
  | { type: 'trialRun'; trial: number; runId: string; runDir: string }
  | { type: 'trialEpoch'; trial: number; epoch: number; value?: number }
  | { type: 'trialPruned'; trial: number; rung: number; reason: string }
  | {
      type: 'trialEnd';
      trial: number;
      state: TrialState;
      score?: number;
      epochs?: number;
      endReason?: string;
      error?: string;
    }
  | { type: 'best'; trial: number; score: number; params: Record<string, ParamValue>; runId?: string }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'sweepEnd'; status: SweepStatus; state: SweepState };
