/**
 * What a trial's run folder says about it: its score (the sweep metric at the run's best epoch, the model
 * it keeps), its metric per epoch (what ASHA judges), the sweep's best trial, and — once its process or
 * Slurm task has ended — the state the trial ended in. The run folder is the truth; this only reads it.
 */
import type { RunListing } from '../runs/readRuns';
import type { SweepBest, SweepMetric, TrialRecord, TrialState } from '../../protocol/sweepConfig';

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The metric at the run's best epoch; before run.json names one, the best epoch line so far. */
export function trialScore(run: RunListing, metric: SweepMetric): number | undefined {
  const best = run.record?.best as Record<string, unknown> | undefined;
  if (best && finite(best[metric.name])) return best[metric.name] as number;
  const values = metricHistory(run, metric).filter(finite);
  if (values.length === 0) return undefined;
  return metric.goal === 'maximize' ? Math.max(...values) : Math.min(...values);
}

/** The metric per completed epoch, epoch 1 first (NaN where a line lacks it). */
export function metricHistory(run: RunListing, metric: SweepMetric): number[] {
  const byEpoch = new Map<number, number>();
  for (const line of run.metrics) {
    const value = (line as unknown as Record<string, unknown>)[metric.name];
    byEpoch.set(line.epoch, finite(value) ? value : Number.NaN);
  }
  const epochs = [...byEpoch.keys()].filter((e) => Number.isInteger(e) && e >= 1).sort((a, b) => a - b);
  // Epochs are contiguous from 1 in a healthy file; a gap ends the history ASHA may use.
  const history: number[] = [];
  for (const [i, epoch] of epochs.entries()) {
    if (epoch !== i + 1) break;
    history.push(byEpoch.get(epoch)!);
  }
  return history;
}

export function bestTrial(trials: readonly TrialRecord[], metric: SweepMetric): SweepBest | undefined {
  let best: TrialRecord | undefined;
  for (const trial of trials) {
    if (!finite(trial.score)) continue;
    if (!best || (metric.goal === 'maximize' ? trial.score > best.score! : trial.score < best.score!))
      best = trial;
  }
  return best
    ? {
        trial: best.trial,
        score: best.score!,
        params: best.params,
        ...(best.runId ? { runId: best.runId } : {}),
      }
    : undefined;
}

export interface EndedTrial {
  state: Exclude<TrialState, 'pending' | 'running'>;
  endReason?: string;
  error?: string;
  /** The run still says `running` although its trainer is gone: record it as crashed with this error. */
  markCrashed?: string;
}

/**
 * The state a trial ended in, from its run folder once its process or task has ended. `stopRequested`
 * is what the controller asked (ASHA or a cancel); `how` says how the process ended, for the messages.
 */
export function endedTrial(
  run: RunListing | undefined,
  stopRequested: TrialRecord['stopRequested'],
  how: string,
  logTail: string,
): EndedTrial {
  const record = run?.record;
  if (!record) {
    if (stopRequested === 'cancel')
      return { state: 'stopped', endReason: 'sweep cancelled before the trial started' };
    const tail = logTail ? `; its output ends with:\n${logTail.split('\n').slice(-8).join('\n')}` : '';
    return { state: 'failed', error: `the trainer ${how} without creating a run folder${tail}` };
  }
  const reason = typeof record.endReason === 'string' ? record.endReason : undefined;
  switch (record.status) {
    case 'completed':
      return { state: 'completed', ...(reason ? { endReason: reason } : {}) };
    case 'stopped':
      return {
        state: stopRequested === 'asha' ? 'pruned' : 'stopped',
        ...(reason ? { endReason: reason } : {}),
      };
    case 'failed':
      return {
        state: 'failed',
        ...(reason ? { endReason: reason } : {}),
        error: record.error ?? 'the run failed',
      };
    case 'crashed':
      return { state: 'crashed', error: record.error ?? 'the trainer crashed' };
    default: {
      const error = `the trainer ${how} before it finished the run — the last completed epoch and best model are kept${logTail ? ` (output: ${logTail.split('\n').slice(-3).join(' / ')})` : ''}`;
      return { state: 'crashed', error, markCrashed: error };
    }
  }
}
