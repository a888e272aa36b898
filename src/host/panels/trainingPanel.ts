/**
 * Host side of the Training panel (one per run): builds the panel state from the run folder, forwards
 * live events from our own trainer, follows runs it does not drive (started from the CLI) by watching the
 * run folder, and answers the webview (confusion-matrix cells, opening validation images, stop).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunSummary } from '../../protocol/runRecord';
import type { TrainingEvent } from '../../protocol/trainingEvents';
import {
  isTrainingPanelToHost,
  type HostToTrainingPanel,
  type TrainingPanelState,
  type TrainingPanelToHost,
} from '../../protocol/webviewMessages';
import { readRun } from '../../engine/runs/readRuns';
import { WebviewPanelHost, webviewOptions } from './webviewPanelHost';

export const TRAINING_VIEW_TYPE = 'fineTune.training';

export interface TrainingPanelContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** True while our trainer drives this run (then IPC events, not files, update the panel). */
  isLive(runDir: string): boolean;
  stop(runDir: string): void;
}

function readSummary(runDir: string): RunSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
  } catch {
    return undefined;
  }
}

/** The panel state of a run as its folder describes it. */
export function stateFromDisk(runDir: string): TrainingPanelState {
  const listing = readRun(runDir);
  const record = listing.record;
  const metrics = listing.metrics;
  const firstOverfit = metrics.find((m) => m.overfitting);
  return {
    runId: listing.id,
    name: record?.name ?? listing.id,
    status: listing.effectiveStatus === 'unreadable' ? 'failed' : listing.effectiveStatus,
    backend: record?.backend ?? '?',
    classNames: record?.classNames ?? [],
    epochsPlanned: record?.epochsPlanned ?? metrics.length,
    metrics,
    bestEpoch: record?.bestEpoch,
    batches: [],
    ...(firstOverfit
      ? {
          overfitting: {
            reason: `val_loss rose while loss fell (flagged at epoch ${firstOverfit.epoch})`,
            epoch: firstOverfit.epoch,
          },
        }
      : {}),
    ...(record?.endReason ? { endReason: record.endReason } : {}),
    ...(record?.error || listing.unreadable
      ? { error: record?.error ?? `run folder unreadable: ${listing.unreadable}` }
      : {}),
    ...(readSummary(runDir) ? { summary: readSummary(runDir) } : {}),
  };
}

export class TrainingPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, TrainingPanel>();
  private readonly host: WebviewPanelHost<TrainingPanelToHost, HostToTrainingPanel>;
  private readonly disposables: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;

  /** Shows (or reveals) the panel of a run. */
  static show(runDir: string, context: TrainingPanelContext, preserveFocus = false): TrainingPanel {
    const existing = TrainingPanel.panels.get(runDir);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return existing;
    }
    const name = readRun(runDir).record?.name ?? path.basename(runDir);
    const panel = vscode.window.createWebviewPanel(
      TRAINING_VIEW_TYPE,
      `Training: ${name}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      webviewOptions(context.extensionUri),
    );
    return new TrainingPanel(panel, runDir, context);
  }

  /** Re-attaches a panel restored after a window reload. */
  static revive(panel: vscode.WebviewPanel, runDir: string, context: TrainingPanelContext): TrainingPanel {
    return new TrainingPanel(panel, runDir, context);
  }

  static forRun(runDir: string): TrainingPanel | undefined {
    return TrainingPanel.panels.get(runDir);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    readonly runDir: string,
    private readonly context: TrainingPanelContext,
  ) {
    TrainingPanel.panels.set(runDir, this);
    this.host = new WebviewPanelHost({
      panel,
      extensionUri: context.extensionUri,
      bundle: 'training',
      title: panel.title,
      isMessage: isTrainingPanelToHost,
      log: context.log,
      onReady: () => this.host.post({ type: 'init', state: stateFromDisk(runDir) }),
      onMessage: (message) => this.onMessage(message),
    });
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(runDir, '{run.json,metrics.jsonl,summary.json}'),
    );
    const onFile = (): void => {
      if (this.context.isLive(runDir)) return;
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(
        () => this.host.post({ type: 'init', state: stateFromDisk(runDir) }),
        250,
      );
    };
    this.disposables.push(
      this.host,
      watcher,
      watcher.onDidChange(onFile),
      watcher.onDidCreate(onFile),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Live events of the run from our trainer. */
  onEvent(event: TrainingEvent): void {
    switch (event.type) {
      case 'afterBatch':
        this.host.post({
          type: 'batch',
          epoch: event.epoch,
          batch: event.batch,
          batches: event.batches,
          loss: event.loss,
          accuracy: event.accuracy,
        });
        break;
      case 'afterEpoch':
        this.host.post({
          type: 'epoch',
          metrics: event.metrics,
          isBest: event.isBest,
          bestEpoch: event.bestEpoch,
          ...(event.overfittingReason ? { overfittingReason: event.overfittingReason } : {}),
        });
        break;
      case 'afterFit': {
        this.host.post({
          type: 'status',
          status: event.status,
          endReason: event.endReason,
          error: event.error,
        });
        const summary = readSummary(this.runDir);
        if (summary) this.host.post({ type: 'summary', summary });
        break;
      }
      default:
        break;
    }
  }

  /** The run ended without an afterFit (crash): show the status recorded on disk. */
  refreshFromDisk(): void {
    this.host.post({ type: 'init', state: stateFromDisk(this.runDir) });
  }

  private async onMessage(message: TrainingPanelToHost): Promise<void> {
    if (message.type === 'stopRun') {
      this.context.stop(this.runDir);
      return;
    }
    const summary = readSummary(this.runDir);
    if (!summary) return;
    if (message.type === 'showCell') {
      const files = summary.predictions
        .filter((p) => p.trueIndex === message.trueIndex && p.predictedIndex === message.predictedIndex)
        .map((p) => ({ file: p.file, confidence: p.confidence }));
      this.host.post({
        type: 'cellImages',
        trueIndex: message.trueIndex,
        predictedIndex: message.predictedIndex,
        files,
      });
    } else if (message.type === 'openImage') {
      // Only files of this run's validation set: a webview message never opens an arbitrary path.
      if (!summary.predictions.some((p) => p.file === message.file)) return;
      const datasetDir = readRun(this.runDir).record?.config.dataset.path;
      if (!datasetDir) return;
      const file = path.resolve(datasetDir, message.file);
      if (!file.startsWith(path.resolve(datasetDir) + path.sep)) return;
      await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), {
        preview: true,
        viewColumn: vscode.ViewColumn.Active,
      });
    }
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    TrainingPanel.panels.delete(this.runDir);
    this.disposables.forEach((d) => d.dispose());
  }
}
