/**
 * A sweep in the Runs view: one node per sweep folder (`<runs folder>/../sweeps/<id>/`) with its trials'
 * runs as children — label the sweep's name, description the trial counts (done / running / stopped /
 * failed) and the best trial, a tooltip with the metric, the executor and each trial's values. Runs that
 * belong to a listed sweep are shown under it, the others stay at the top level (groupBySweep).
 *
 * Context values: `fineTune.sweep.running`, `fineTune.sweep.ended` (completed / failed),
 * `fineTune.sweep.resumable` (stopped / interrupted), `fineTune.sweep.unreadable`.
 */
import * as vscode from 'vscode';
import type { SweepListing } from '../../core/sweep/sweepStore';
import { describeParams, formatParamValue } from '../../core/sweep/loadSweep';
import type { RunListing } from '../../core/runs/readRuns';
import type { SweepState } from '../../protocol/sweepConfig';
import { RunItem } from './runItem';

const LOOKS: Record<string, { icon: string; color?: string }> = {
  running: { icon: 'sync~spin', color: 'charts.blue' },
  completed: { icon: 'beaker', color: 'charts.green' },
  stopped: { icon: 'debug-stop' },
  interrupted: { icon: 'debug-pause', color: 'charts.orange' },
  failed: { icon: 'error', color: 'charts.red' },
  unreadable: { icon: 'question' },
};

export class SweepItem extends vscode.TreeItem {
  constructor(
    readonly sweep: SweepListing,
    /** The trials' runs, trial 0 first. */
    readonly trials: RunItem[],
  ) {
    super(sweep.state?.name ?? sweep.id, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = sweep.dir;
    const status = sweep.effectiveStatus;
    const look = LOOKS[status] ?? LOOKS.unreadable;
    this.iconPath = new vscode.ThemeIcon(
      look.icon,
      look.color ? new vscode.ThemeColor(look.color) : undefined,
    );
    const state = sweep.state;
    if (!state) {
      this.description = `sweep · unreadable: ${sweep.unreadable ?? ''}`;
      this.tooltip = `${sweep.dir}\n${sweep.unreadable ?? ''}`;
      this.contextValue = 'fineTune.sweep.unreadable';
      return;
    }
    this.contextValue =
      status === 'running'
        ? 'fineTune.sweep.running'
        : status === 'stopped' || status === 'interrupted'
          ? 'fineTune.sweep.resumable'
          : 'fineTune.sweep.ended';
    this.description = sweepDescription(state, status);
    this.tooltip = sweepTooltip(sweep, state);
    this.accessibilityInformation = { label: `Sweep ${state.name}, ${status}, ${this.description}` };
  }
}

/** `sweep · 5/8 done · 2 running · 1 failed · best val_accuracy 0.95 (#3)`. */
export function sweepDescription(state: SweepState, status: string): string {
  const c = state.counts;
  const done = c.completed + c.pruned;
  const parts = [`sweep · ${done}/${state.trials.length} done`];
  if (c.running > 0) parts.push(`${c.running} running`);
  if (c.pruned > 0) parts.push(`${c.pruned} stopped early`);
  if (c.stopped > 0) parts.push(`${c.stopped} stopped`);
  if (c.failed + c.crashed > 0) parts.push(`${c.failed + c.crashed} failed`);
  if (state.best)
    parts.push(`best ${state.metric.name} ${formatParamValue(state.best.score)} (#${state.best.trial})`);
  if (status !== 'running' && status !== 'completed') parts.push(status);
  return parts.join(' · ');
}

function sweepTooltip(sweep: SweepListing, state: SweepState): vscode.MarkdownString {
  const tooltip = new vscode.MarkdownString(undefined, false);
  tooltip.appendMarkdown('**');
  tooltip.appendText(state.name);
  tooltip.appendMarkdown('** — sweep, ');
  tooltip.appendText(sweep.effectiveStatus);
  tooltip.appendMarkdown('\n\n');
  const lines = [
    `Sweep ${state.id}`,
    `${state.trials.length} trials on ${state.executor === 'slurm' ? `Slurm${state.slurmJobs?.length ? ` (job ${state.slurmJobs.join(', ')})` : ''}` : 'this machine'}, ${state.parallel} at a time`,
    `Ranked by ${state.metric.name} (${state.metric.goal}) of each trial's best epoch`,
    ...(state.asha ? [`ASHA rungs at epochs ${state.asha.rungs.join(', ')}`] : []),
    ...(state.best
      ? [
          `Best: trial ${state.best.trial}, ${formatParamValue(state.best.score)} — ${describeParams(state.best.params)}`,
        ]
      : []),
    ...(state.endReason ? [`Ended: ${state.endReason}`] : []),
    ...(sweep.effectiveStatus === 'interrupted'
      ? ['Its controller is gone: Resume Sweep continues it.']
      : []),
    '',
    ...state.trials.map(
      (t) =>
        `#${t.trial} ${t.state === 'pruned' ? 'stopped early' : t.state}${t.score !== undefined ? ` ${formatParamValue(t.score)}` : ''}: ${describeParams(t.params)}${t.error ? ` — ${t.error.split('\n')[0]}` : ''}`,
    ),
    '',
    sweep.dir,
  ];
  tooltip.appendText(lines.join('\n'));
  return tooltip;
}

/**
 * Splits the runs into those of the listed sweeps (each sweep's, trial order) and the others. A trial's
 * run is recognised by run.json `sweep.id`.
 */
export function groupBySweep(
  runs: readonly RunListing[],
  sweeps: readonly SweepListing[],
): { sweeps: Map<string, RunListing[]>; others: RunListing[] } {
  const known = new Set(sweeps.map((s) => s.id));
  const grouped = new Map<string, RunListing[]>(sweeps.map((s) => [s.id, []]));
  const others: RunListing[] = [];
  for (const run of runs) {
    const id = run.record?.sweep?.id;
    if (typeof id === 'string' && known.has(id)) grouped.get(id)!.push(run);
    else others.push(run);
  }
  for (const list of grouped.values())
    list.sort((a, b) => (a.record?.sweep?.trial ?? 0) - (b.record?.sweep?.trial ?? 0));
  return { sweeps: grouped, others };
}
