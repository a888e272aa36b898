/**
 * How `finetune sweep` reports: one line per thing that happens to a trial (started, its run, stopped by
 * ASHA, ended, a new best), a summary at the end; with `--json`, each event as one JSON line instead.
 * Also the trial table of `finetune sweep status`.
 */
import type { SweepEvent } from '../protocol/sweepEvents';
import type { SweepState, TrialRecord } from '../protocol/sweepConfig';
import { describeParams } from '../core/sweep/loadSweep';
import type { CliIO } from './io';
import { formatTable } from './table';

const score = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? '—' : String(Number(value.toPrecision(4)));

export function createSweepReporter(io: CliIO, json: boolean) {
  let metric = 'score';
  const line = (text: string): void => io.out(`${text}\n`);
  return {
    notice(text: string): void {
      if (json) io.err(`${text}\n`);
      else line(text);
    },
    event(event: SweepEvent): void {
      if (json) {
        io.out(`${JSON.stringify(event)}\n`);
        return;
      }
      switch (event.type) {
        case 'sweepStart':
          line(
            `sweep ${event.sweepId}: ${event.trials} trials on ${event.executor === 'slurm' ? `Slurm${event.jobId ? ` (array job ${event.jobId})` : ''}` : 'this machine'}, ${event.parallel} at a time` +
              (event.resumed ? ` — resumed, ${event.resumed.finished} already finished` : ''),
          );
          line(`  folder: ${event.sweepDir}`);
          return;
        case 'trialStart':
          line(
            `trial ${event.trial} started${event.jobId ? ` (Slurm ${event.jobId})` : ''}: ${describeParams(event.params)}`,
          );
          return;
        case 'trialRun':
          line(`trial ${event.trial}: run ${event.runId}`);
          return;
        case 'trialPruned':
          line(`trial ${event.trial}: ${event.reason}`);
          return;
        case 'trialEnd':
          line(
            `trial ${event.trial} ${event.state === 'pruned' ? 'stopped by ASHA' : event.state}` +
              (event.epochs !== undefined
                ? ` after ${event.epochs} epoch${event.epochs === 1 ? '' : 's'}`
                : '') +
              (event.score !== undefined ? `: ${metric} ${score(event.score)}` : '') +
              (event.error ? ` — ${event.error}` : ''),
          );
          return;
        case 'best':
          line(`best so far: trial ${event.trial}, ${metric} ${score(event.score)}`);
          return;
        case 'log':
          (event.level === 'warn' ? io.err : io.out)(
            `${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`,
          );
          return;
        case 'sweepEnd':
          line('');
          line(summary(event.state));
          return;
        default:
          return;
      }
    },
    setMetric(name: string): void {
      metric = name;
    },
  };
}

/** `sweep … completed: 8 trials — 3 completed, 5 stopped by ASHA. Best: trial 2, val_accuracy 0.95 (…)`. */
export function summary(state: SweepState): string {
  const c = state.counts;
  const parts = [
    c.completed && `${c.completed} completed`,
    c.pruned && `${c.pruned} stopped by ASHA`,
    c.stopped && `${c.stopped} stopped`,
    c.failed && `${c.failed} failed`,
    c.crashed && `${c.crashed} crashed`,
    c.running && `${c.running} running`,
    c.pending && `${c.pending} not started`,
  ].filter(Boolean);
  const lines = [
    `sweep ${state.id} ${state.status}: ${state.trials.length} trials — ${parts.join(', ')}${state.endReason ? ` (${state.endReason})` : ''}`,
  ];
  if (state.best) {
    lines.push(
      `best: trial ${state.best.trial}, ${state.metric.name} ${score(state.best.score)} — ${describeParams(state.best.params)}${state.best.runId ? ` (run ${state.best.runId})` : ''}`,
    );
  }
  const failed = state.trials.filter((t) => t.state === 'failed' || t.state === 'crashed');
  for (const trial of failed.slice(0, 5))
    lines.push(
      `trial ${trial.trial} ${trial.state}: ${trial.error ?? trial.endReason ?? 'no reason recorded'}`,
    );
  return lines.join('\n');
}

export function trialTable(state: SweepState): string {
  const paramKeys = Object.keys(state.trials[0]?.params ?? {});
  const shown = (t: TrialRecord): string => (t.state === 'pruned' ? 'stopped (ASHA)' : t.state);
  const rows = state.trials.map((t) => [
    String(t.trial),
    shown(t),
    t.epochsCompleted !== undefined ? String(t.epochsCompleted) : '—',
    `${score(t.score)}${state.best?.trial === t.trial ? ' ★' : ''}`,
    ...paramKeys.map((key) => describeParams({ [key]: t.params[key] }).slice(key.length + 1)),
    t.jobId ?? t.runId ?? '—',
  ]);
  return formatTable(
    ['trial', 'state', 'epochs', state.metric.name, ...paramKeys, state.executor === 'slurm' ? 'job' : 'run'],
    rows,
    ['right', 'left', 'right', 'right', ...paramKeys.map(() => 'left' as const), 'left'],
  );
}
