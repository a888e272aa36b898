/**
 * Host side of the Training panel (one per run): builds the panel state from the run folder, forwards
 * live events from our own trainer, follows runs it does not drive (started from the CLI) by watching the
 * run folder, and answers the webview (confusion-matrix cells, opening validation images, stop).
 */
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import * as vscode from 'vscode';
import { adapterLabel, isGpuAdapterRecord } from '../../protocol/gpuAdapter';
import type { Advice } from '../../protocol/advice';
import type { LayerNode } from '../../protocol/layerTree';
import type { RunSummary } from '../../protocol/runRecord';
import type { PhaseEvent, TrainingEvent } from '../../protocol/trainingEvents';
import {
  type DataTabToHost,
  type HostToTrainingPanel,
  type LayerEdit,
  type TrainingPanelState,
  type TrainingPanelToHost,
  type UnfreezingInfo,
} from '../../protocol/webviewMessages';
import { isTrainingPanelToHost } from '../../protocol/messageGuards';
import { isImageFileName } from '../../core/data/scanDataset';
import { READ_LIMITS, readTextFile } from '../../core/files/regularFile';
import { readRunAsync, type RunListing } from '../../core/runs/readRuns';
import { experimentFileProblem, fileInWorkspaceFolder, isInWorkspace } from '../workspacePaths';
import { describeAdviceAction, findAdviceAction } from '../training/adviceActions';
import {
  adviceForRun,
  loadRunInsights,
  lrSuggestionForRun,
  lrStepsFromDisk,
  unfreezingFromEvent,
  unfreezingFromMetrics,
  type RunInsights,
} from '../training/runInsights';
import { WebviewPanelHost, webviewOptions } from './webviewPanelHost';
import { DataTabController, type DataInsightContext } from '../insight/dataTabController';

export const TRAINING_VIEW_TYPE = 'fineTune.training';

export interface TrainingPanelContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** True while our trainer drives this run (then IPC events, not files, update the panel). */
  isLive(runDir: string): boolean;
  stop(runDir: string): void;
  /** Edits experiment files (advice suggestions, undoable); absent: suggestions cannot be applied. */
  readonly experiments?: {
    text(uri: vscode.Uri): Promise<string>;
    setValue(uri: vscode.Uri, path: (string | number)[], value: unknown): Promise<boolean>;
    applyLayerEdit(uri: vscode.Uri, edit: LayerEdit): Promise<boolean>;
  };
  /** The layer tree of a base model (the unfreezing plan and the advice use it); absent: estimated without. */
  describeLayers?(modelJsonPath: string): Promise<LayerNode[]>;
}

/** summary.json: a regular file we wrote (never a link), with a byte cap; anything else is no summary. */
async function readSummary(runDir: string): Promise<RunSummary | undefined> {
  try {
    const text = await readTextFile(path.join(runDir, 'summary.json'), {
      maxBytes: READ_LIMITS.summary,
      noFollow: true,
    });
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && Array.isArray((value as RunSummary).predictions)
      ? (value as RunSummary)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The panel state of a run as its folder describes it (read asynchronously, every file bounded). */
export async function stateFromDisk(runDir: string): Promise<TrainingPanelState> {
  const [listing, summary] = await Promise.all([readRunAsync(runDir), readSummary(runDir)]);
  return stateOfListing(listing, summary);
}

function stateOfListing(listing: RunListing, summary: RunSummary | undefined): TrainingPanelState {
  const record = listing.record;
  const metrics = listing.metrics;
  const firstOverfit = metrics.find((m) => m.overfitting);
  return {
    runId: listing.id,
    name: record?.name ?? listing.id,
    status: listing.effectiveStatus === 'unreadable' ? 'failed' : listing.effectiveStatus,
    backend: record?.backend ?? '?',
    ...(isGpuAdapterRecord(record?.adapter) ? { adapter: adapterLabel(record.adapter) } : {}),
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
    ...(summary ? { summary } : {}),
    ...(record ? diskExtras(record, metrics) : {}),
  };
}

/** Per-batch learning rates and the unfreezing phase that metrics.jsonl alone cannot hold. */
function diskExtras(
  record: NonNullable<RunListing['record']>,
  metrics: RunListing['metrics'],
): Pick<TrainingPanelState, 'lrSteps' | 'unfreezing'> {
  try {
    const lrSteps = lrStepsFromDisk(record, metrics);
    const unfreezing = unfreezingFromMetrics(record, metrics);
    return { ...(lrSteps.length > 0 ? { lrSteps } : {}), ...(unfreezing ? { unfreezing } : {}) };
  } catch {
    return {}; // a run.json from an older writer without these settings
  }
}

const DATA_TAB_MESSAGES = new Set<string>([
  'analyzeData',
  'cancelAnalysis',
  'undoDataAction',
  'dataAction',
  'gradCam',
  'previewImage',
]);

const isDataTabMessage = (message: TrainingPanelToHost): message is DataTabToHost =>
  DATA_TAB_MESSAGES.has(message.type);

export class TrainingPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, TrainingPanel>();
  /** What the Data tab needs to start trainer processes (set once at activation). */
  private static dataInsight: DataInsightContext | undefined;
  /** The Data tab's host side (absent until configureDataInsight). */
  private readonly data: DataTabController | undefined;
  private matchChecked = false;

  static configureDataInsight(context: DataInsightContext): void {
    TrainingPanel.dataInsight = context;
  }
  private readonly host: WebviewPanelHost<TrainingPanelToHost, HostToTrainingPanel>;
  private readonly disposables: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Read once per panel: the dataset's class counts and the model's layers do not change during a run. */
  private insights: Promise<RunInsights | undefined> | undefined;
  private timeline: RunInsights['timeline'];
  /** The advice last posted: the only suggestions a click may apply. */
  private advice: Advice[] = [];
  /** The trainer's latest phase announcement (live runs). */
  private livePhase: PhaseEvent | undefined;
  private adviceTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  /** Shows (or reveals) the panel of a run. */
  static show(runDir: string, context: TrainingPanelContext, preserveFocus = false): TrainingPanel {
    const existing = TrainingPanel.panels.get(runDir);
    if (existing) {
      existing.panel.reveal(undefined, preserveFocus);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      TRAINING_VIEW_TYPE,
      `Training: ${path.basename(runDir)}`,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus },
      webviewOptions(context.extensionUri),
    );
    // The run's name from run.json, read without blocking (the folder name until then).
    void readRunAsync(runDir).then((listing) => {
      if (listing.record?.name && typeof listing.record.name === 'string')
        panel.title = `Training: ${listing.record.name}`;
    });
    return new TrainingPanel(panel, runDir, context);
  }

  /** Re-attaches a panel restored after a window reload. */
  static revive(panel: vscode.WebviewPanel, runDir: string, context: TrainingPanelContext): TrainingPanel {
    return new TrainingPanel(panel, runDir, context);
  }

  static forRun(runDir: string): TrainingPanel | undefined {
    return TrainingPanel.panels.get(runDir);
  }

  /** The run of the training panel in front, if one is. */
  static activeRunDir(): string | undefined {
    return [...TrainingPanel.panels.values()].find((p) => p.panel.active)?.runDir;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    readonly runDir: string,
    private readonly context: TrainingPanelContext,
  ) {
    TrainingPanel.panels.set(runDir, this);
    this.data = TrainingPanel.dataInsight
      ? new DataTabController(
          runDir,
          async () => (await readRunAsync(runDir)).record,
          () => readSummary(runDir),
          (message) => this.host.post(message),
          TrainingPanel.dataInsight,
        )
      : undefined;
    this.host = new WebviewPanelHost({
      panel,
      extensionUri: context.extensionUri,
      bundle: 'training',
      title: panel.title,
      isMessage: isTrainingPanelToHost,
      log: context.log,
      onReady: () => void this.postInit(),
      onMessage: (message) => this.onMessage(message),
    });
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(runDir, '{run.json,metrics.jsonl,summary.json}'),
    );
    const onFile = (): void => {
      if (this.context.isLive(runDir)) return;
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => void this.postInit(), 250);
    };
    this.disposables.push(
      ...(this.data ? [this.data] : []),
      this.host,
      watcher,
      watcher.onDidChange(onFile),
      watcher.onDidCreate(onFile),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** The run as its folder describes it, with what this panel knows beyond the folder. */
  private async postInit(): Promise<void> {
    const [listing, summary] = await Promise.all([readRunAsync(this.runDir), readSummary(this.runDir)]);
    if (this.disposed) return;
    const state = stateOfListing(listing, summary);
    const unfreezing = this.unfreezingOf(listing);
    this.host.post({
      type: 'init',
      state: {
        ...state,
        ...(unfreezing ? { unfreezing } : {}),
        ...(this.advice.length > 0 ? { advice: this.advice } : {}),
      },
    });
    this.data?.repost();
    if (this.data && !this.matchChecked) {
      this.matchChecked = true;
      void this.data.checkMatch();
    }
    this.scheduleAdvice(0);
  }

  /** Find Label Issues: the Data tab in front, and its analysis started (unless one is running). */
  showData(analyze: boolean): void {
    this.host.post({ type: 'showTab', tab: 'data' });
    if (analyze && this.data && !this.data.running) void this.data.analyze();
  }

  private loadInsights(record: NonNullable<RunListing['record']>): Promise<RunInsights | undefined> {
    this.insights ??= loadRunInsights(record, this.context.describeLayers?.bind(this.context), isInWorkspace)
      .then((insights) => {
        this.timeline = insights.timeline;
        return insights;
      })
      .catch((error: unknown) => {
        this.context.log.warn(`advice for ${this.runDir}: ${(error as Error).message}`);
        this.insights = undefined;
        return undefined;
      });
    return this.insights;
  }

  private unfreezingOf(listing: RunListing): UnfreezingInfo | undefined {
    if (!listing.record) return undefined;
    try {
      return this.livePhase
        ? unfreezingFromEvent(this.livePhase, listing.record, this.timeline)
        : unfreezingFromMetrics(listing.record, listing.metrics, this.timeline);
    } catch {
      return undefined;
    }
  }

  private async postUnfreezing(): Promise<void> {
    const unfreezing = this.unfreezingOf(await readRunAsync(this.runDir));
    if (unfreezing && !this.disposed) this.host.post({ type: 'unfreezing', unfreezing });
  }

  /** Advice after each epoch (debounced: a burst of file events or epochs computes it once). */
  private scheduleAdvice(delayMs = 100): void {
    clearTimeout(this.adviceTimer);
    this.adviceTimer = setTimeout(() => void this.refreshAdvice(), delayMs);
  }

  private async refreshAdvice(): Promise<void> {
    const first = await readRunAsync(this.runDir);
    if (!first.record || this.disposed) return;
    const insights = await this.loadInsights(first.record);
    const listing = await readRunAsync(this.runDir);
    if (!insights || !listing.record || this.disposed) return;
    const lrSuggestion = await lrSuggestionForRun(this.runDir, listing.record);
    if (this.disposed) return;
    this.advice = adviceForRun(listing.record, listing.metrics, insights, lrSuggestion);
    this.host.post({ type: 'advice', advice: this.advice });
    const unfreezing = this.unfreezingOf(listing);
    if (unfreezing) this.host.post({ type: 'unfreezing', unfreezing });
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
          ...(event.lr !== undefined ? { lr: event.lr } : {}),
        });
        break;
      case 'phase':
        this.livePhase = event;
        void this.postUnfreezing();
        break;
      case 'afterEpoch':
        this.host.post({
          type: 'epoch',
          metrics: event.metrics,
          isBest: event.isBest,
          bestEpoch: event.bestEpoch,
          ...(event.overfittingReason ? { overfittingReason: event.overfittingReason } : {}),
        });
        this.scheduleAdvice();
        break;
      case 'afterFit': {
        this.host.post({
          type: 'status',
          status: event.status,
          endReason: event.endReason,
          error: event.error,
        });
        void readSummary(this.runDir).then((summary) => {
          if (summary && !this.disposed) this.host.post({ type: 'summary', summary });
        });
        this.scheduleAdvice();
        break;
      }
      default:
        break;
    }
  }

  /** The run ended without an afterFit (crash): show the status recorded on disk. */
  refreshFromDisk(): void {
    void this.postInit();
  }

  private async onMessage(message: TrainingPanelToHost): Promise<void> {
    if (message.type === 'stopRun') {
      this.context.stop(this.runDir);
      return;
    }
    if (message.type === 'applyAdvice') {
      await this.applyAdvice(message.adviceId, message.index);
      return;
    }
    if (isDataTabMessage(message)) {
      await this.data?.handle(message);
      return;
    }
    const summary = await readSummary(this.runDir);
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
      // Only images of this run's validation set, inside its dataset folder, inside the workspace (links
      // resolved): neither a webview message nor a run folder's summary.json opens an arbitrary path.
      if (!summary.predictions.some((p) => p.file === message.file)) return;
      if (!isImageFileName(message.file)) return;
      const datasetDir = (await readRunAsync(this.runDir)).record?.config?.dataset?.path;
      if (typeof datasetDir !== 'string') return;
      const file = await fileInWorkspaceFolder(datasetDir, message.file);
      if (!file) {
        this.context.log.warn(
          `not opened: ${message.file} is not an image inside the run's dataset folder in the workspace`,
        );
        return;
      }
      await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), {
        preview: true,
        viewColumn: vscode.ViewColumn.Active,
      });
    }
  }

  /**
   * A suggestion the panel shows, applied to the run's experiment file (an undoable edit, saved), then
   * said in words. Only actions of the advice this host computed can be applied.
   */
  private async applyAdvice(adviceId: string, index: number): Promise<void> {
    const found = findAdviceAction(this.advice, adviceId, index);
    const experiments = this.context.experiments;
    if (!found || !experiments) {
      this.context.log.warn(`ignored applyAdvice ${adviceId}#${index}: no such suggestion for this run`);
      return;
    }
    const recorded = (await readRunAsync(this.runDir)).record?.experimentPath;
    const experimentPath = typeof recorded === 'string' ? recorded : undefined;
    // run.json is the repository's word: only a *.finetune.json inside the workspace is edited.
    const problem = experimentPath
      ? await experimentFileProblem(experimentPath)
      : 'the run names no experiment file';
    if (!experimentPath || problem) {
      void vscode.window.showErrorMessage(`Fine-Tune: "${found.label}" cannot be applied: ${problem}.`);
      return;
    }
    const uri = vscode.Uri.file(experimentPath);
    const before = parse(await experiments.text(uri), [], { allowTrailingComma: true }) as unknown;
    const change = describeAdviceAction(found.action, before);
    const applied =
      found.action.kind === 'setValue'
        ? await experiments.setValue(uri, found.action.path, found.action.value)
        : await experiments.applyLayerEdit(uri, found.action.edit);
    if (!applied) {
      void vscode.window.showErrorMessage(`Fine-Tune: could not edit ${path.basename(experimentPath)}.`);
      return;
    }
    this.context.log.info(`advice "${found.advice.title}": ${change} in ${experimentPath}`);
    const open = 'Open Experiment';
    const choice = await vscode.window.showInformationMessage(
      `Fine-Tune: ${path.basename(experimentPath)}: ${change}. The next run uses it (Undo in the file reverts it).`,
      open,
    );
    if (choice === open) await vscode.commands.executeCommand('fineTune.openExperiment', uri);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.refreshTimer);
    clearTimeout(this.adviceTimer);
    TrainingPanel.panels.delete(this.runDir);
    this.disposables.forEach((d) => d.dispose());
  }
}
