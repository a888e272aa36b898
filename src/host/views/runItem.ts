/**
 * How one run folder looks in the Runs view: a RunItem built from readRuns' listing — label, description
 * (epochs, best val_acc, progress and time left while running, backend, duration, note), icon by status,
 * a tooltip with the run's details, and the "Open Run" command. Kept apart from RunsViewProvider, which only
 * decides which run folders to read and when; the commands (runCommands.ts, resumeRun.ts, extension.ts)
 * recognise the view's items with `instanceof RunItem`.
 *
 * Nothing on disk may break the view: a garbage run.json lists as "unreadable: <reason>".
 *
 * Context values (for menus): `fineTune.run` (ended), `fineTune.run.running`, `fineTune.run.unreadable`,
 * `fineTune.run.starting`. The run commands (rename, note, delete, re-run…) are in commands/runCommands.ts.
 */
import * as vscode from 'vscode';
import { adapterLabel, backendWithAdapter, isGpuAdapterRecord } from '../../protocol/gpuAdapter';
import type { RunStatus } from '../../protocol/runRecord';
import { formatDuration } from '../../core/portable/format';
import { formatMetric, summarizeRun } from '../../core/runs/compareRuns';
import type { RunListing } from '../../core/runs/readRuns';
import { runNotesOf } from '../../core/runs/runNotes';
import { errorMessage } from '../../core/userError';

/** A run folder this young without run.json is a run that is starting, not a broken one. */
const STARTING_GRACE_MS = 60_000;

type ShownStatus = RunStatus | 'unreadable';

const STATUS_ICONS: Record<ShownStatus, { icon: string; color?: string; text: string }> = {
  running: { icon: 'sync~spin', color: 'charts.blue', text: 'running' },
  completed: { icon: 'pass', color: 'charts.green', text: 'completed' },
  stopped: { icon: 'debug-stop', text: 'stopped' },
  failed: { icon: 'error', color: 'charts.red', text: 'failed' },
  crashed: { icon: 'warning', color: 'charts.orange', text: 'crashed' },
  unreadable: { icon: 'question', text: 'unreadable' },
};

/** One run folder as the view shows it. */
export class RunItem extends vscode.TreeItem {
  constructor(
    readonly run: RunListing,
    /** Where the runs folder is, shown when the workspace has more than one. */
    runsLocation: string | undefined,
  ) {
    super(run.id, vscode.TreeItemCollapsibleState.None);
    this.id = run.dir;
    try {
      describeRun(this, run, runsLocation);
    } catch (error) {
      // A run.json with the right status but odd fields must still list.
      this.label = run.id;
      this.description = `unreadable: ${errorMessage(error)}`;
      this.iconPath = new vscode.ThemeIcon('question');
      this.tooltip = `${run.dir}\n${errorMessage(error)}`;
      this.contextValue = 'fineTune.run.unreadable';
    }
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const int = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

function describeRun(item: RunItem, run: RunListing, runsLocation: string | undefined): void {
  const status: ShownStatus = run.effectiveStatus;
  const look = STATUS_ICONS[status] ?? STATUS_ICONS.unreadable;
  item.iconPath = new vscode.ThemeIcon(look.icon, look.color ? new vscode.ThemeColor(look.color) : undefined);
  item.contextValue = status === 'running' ? 'fineTune.run.running' : 'fineTune.run';
  const record = run.record;
  const tooltip = new vscode.MarkdownString(undefined, false);

  if (!record && isStarting(run)) {
    item.label = run.id;
    item.description = 'starting…';
    item.iconPath = new vscode.ThemeIcon('loading~spin');
    item.tooltip = `${run.dir}\nThe trainer has created the run folder and not yet written run.json.`;
    item.contextValue = 'fineTune.run.starting';
    return;
  }
  if (!record) {
    item.label = run.id;
    item.contextValue = 'fineTune.run.unreadable';
    item.description = `unreadable: ${run.unreadable ?? 'no run.json'}`;
    tooltip.appendMarkdown('**');
    tooltip.appendText(run.id);
    tooltip.appendMarkdown('** — unreadable\n\n');
    tooltip.appendText(`${run.unreadable ?? 'no run.json'}\n${run.dir}`);
    if (run.metrics.length > 0) tooltip.appendText(`\n${run.metrics.length} epochs in metrics.jsonl`);
    item.tooltip = tooltip;
    // Curves can still be drawn from metrics.jsonl; without any there is nothing to open.
    if (run.metrics.length > 0) item.command = openRunCommand(run.dir);
    item.accessibilityInformation = { label: `Run ${run.id}, unreadable` };
    return;
  }

  const summary = summarizeRun(run);
  const notes = runNotesOf(record);
  const name = notes.displayName ?? text(record.name) ?? run.id;
  const planned = int(record.epochsPlanned) ?? int(record.config?.training?.epochs);
  const epochs = `epoch ${summary.epochsCompleted}${planned !== undefined ? `/${planned}` : ''}`;
  const bestAcc = summary.best?.val_accuracy;
  const parts: string[] = [];
  if (status === 'running') parts.push(epochs, ...runningProgress(run, summary.epochsCompleted, planned));
  if (bestAcc !== undefined) parts.push(`best val_acc ${formatMetric(bestAcc, 3)}`);
  if (status !== 'running') parts.push(epochs);
  if (status === 'failed' || status === 'crashed' || status === 'stopped') parts.push(look.text);
  // run.json is hand-editable: an adapter that is not one is left out.
  const adapter = isGpuAdapterRecord(record.adapter) ? record.adapter : undefined;
  if (text(record.backend)) parts.push(backendWithAdapter(record.backend, adapter));
  if (summary.durationS !== undefined) parts.push(formatDuration(summary.durationS));
  if (runsLocation) parts.push(runsLocation);
  if (notes.note) parts.push(`“${oneLine(notes.note, NOTE_PREVIEW_CHARS)}”`);
  item.label = name;
  item.description = parts.join(' · ');
  item.command = openRunCommand(run.dir);
  item.accessibilityInformation = { label: `Run ${name}, ${look.text}, ${parts.join(', ')}` };

  tooltip.appendMarkdown('**');
  tooltip.appendText(name);
  tooltip.appendMarkdown(`** — ${look.text}\n\n`);
  const lines: string[] = [`Run ${run.id}`];
  if (notes.displayName && text(record.name)) lines.push(`Experiment name ${record.name}`);
  if (notes.note) lines.push(`Note: ${notes.note}`);
  const started = Date.parse(record.startedAt);
  if (Number.isFinite(started)) {
    const ended = Date.parse(record.endedAt ?? '');
    lines.push(
      `Started ${new Date(started).toLocaleString()}${Number.isFinite(ended) ? `, ended ${new Date(ended).toLocaleString()}` : ''}` +
        (summary.durationS !== undefined ? ` (${formatDuration(summary.durationS)})` : ''),
    );
  }
  lines.push(`${epochs[0].toUpperCase()}${epochs.slice(1)} completed`);
  if (summary.best) {
    const b = summary.best;
    lines.push(
      `Best epoch ${b.epoch}: val_acc ${formatMetric(b.val_accuracy, 3)}, val_loss ${formatMetric(b.val_loss)}, ` +
        `acc ${formatMetric(b.accuracy, 3)}, loss ${formatMetric(b.loss)}`,
    );
  }
  if (summary.finalGap !== undefined)
    lines.push(`Final generalization gap (val_loss − loss): ${formatMetric(summary.finalGap)}`);
  if (text(record.backend)) {
    const requested = text(record.requestedBackend);
    lines.push(
      `Backend ${record.backend}${requested && requested !== record.backend ? ` (requested ${requested})` : ''}` +
        (text(record.backendNote) ? ` — ${record.backendNote}` : ''),
    );
    if (adapter) lines.push(`GPU adapter: ${adapterLabel(adapter)}`);
  }
  if (Array.isArray(record.classNames)) {
    const counts = record.counts;
    lines.push(
      `${record.classNames.length} classes` +
        (counts && int(counts.train) !== undefined
          ? `, ${counts.train} training / ${counts.val} validation images`
          : ''),
    );
  }
  if (text(record.experimentPath))
    lines.push(`Experiment ${vscode.workspace.asRelativePath(record.experimentPath)}`);
  if (text(record.endReason)) lines.push(`Ended: ${record.endReason}`);
  if (text(record.error)) lines.push(`Error: ${record.error}`);
  if (Array.isArray(record.warnings) && record.warnings.length > 0)
    lines.push(
      `${record.warnings.length} warning(s), latest: ${record.warnings[record.warnings.length - 1]}`,
    );
  if (run.skippedMetricLines > 0)
    lines.push(`${run.skippedMetricLines} unreadable line(s) in metrics.jsonl skipped`);
  lines.push(run.dir);
  tooltip.appendText(lines.join('\n'));
  item.tooltip = tooltip;
}

const NOTE_PREVIEW_CHARS = 40;

function oneLine(value: string, max: number): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Progress of a running run: the share of planned epochs done and, once an epoch has been timed, the time
 * left at the average epoch time so far (early stopping may end it sooner).
 */
function runningProgress(run: RunListing, done: number, planned: number | undefined): string[] {
  if (planned === undefined || planned <= 0) return [];
  const parts = [`${Math.min(100, Math.round((done / planned) * 100))}%`];
  const times = run.metrics.map((m) => m.time_s).filter((t) => typeof t === 'number' && Number.isFinite(t));
  if (times.length > 0 && done < planned) {
    const perEpoch = times.reduce((a, b) => a + b, 0) / times.length;
    parts.push(`~${formatDuration(perEpoch * (planned - done))} left`);
  }
  return parts;
}

/**
 * Just created, run.json not written yet: a starting run rather than an unreadable one. readRunAsync
 * notes the folder's last change exactly when run.json is missing and no epoch was read.
 */
function isStarting(run: RunListing): boolean {
  return run.folderMtimeMs !== undefined && Date.now() - run.folderMtimeMs < STARTING_GRACE_MS;
}

/**
 * A click on the row opens the run's panel beside and leaves the focus in the view, as the Explorer's
 * single click does: Ctrl/Shift+click can go on selecting runs, the arrow keys keep moving in the list,
 * and a context menu opened meanwhile is not closed by the panel taking the focus when it appears.
 */
function openRunCommand(runDir: string): vscode.Command {
  return { command: 'fineTune.openRun', title: 'Open Run', arguments: [runDir, { preserveFocus: true }] };
}
