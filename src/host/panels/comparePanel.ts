/**
 * Host side of the Compare Runs panel (one panel; showing other runs replaces its selection). It reads the
 * selected run folders, posts the complete state on every `ready`, keeps it live while runs grow (a
 * watcher on each runs folder, filtered to the selected runs, plus a slow re-check while any of them is
 * running, because a trainer that dies writes nothing), reads the base models' layer order in the
 * background for the freeze-pattern diff, and writes the exports the webview builds.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import {
  type ComparePanelState,
  type ComparePanelToHost,
  type FreezeDiff,
  type HostToComparePanel,
} from '../../protocol/webviewMessages';
import { isComparePanelToHost } from '../../protocol/messageGuards';
import { METRICS_FILE, readRunAsync, RUN_FILE, type RunListing } from '../../core/runs/readRuns';
import { runDisplayName } from '../../core/runs/runNotes';
import { errorMessage } from '../../core/userError';
import type { ModelDescriber } from '../modelDescriber';
import { comparePanelState, compareRun, freezePatternDiff } from './compareState';
import { WebviewPanelHost, webviewOptions } from './webviewPanelHost';

export const COMPARE_VIEW_TYPE = 'fineTune.compare';

const WATCH_DEBOUNCE_MS = 250;
/** Re-read running runs this often even without file events (elapsed time, a trainer that died). */
const RUNNING_RECHECK_MS = 5000;

export interface ComparePanelContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  describer: ModelDescriber;
  /** Opens a run's training panel. */
  openRun(runDir: string): void;
}

/** A folder that holds a run (a run.json or metrics.jsonl), as opposed to any path a saved state names. */
export async function isRunFolder(dir: string): Promise<boolean> {
  const found = await Promise.all(
    [RUN_FILE, METRICS_FILE].map((file) =>
      fs.lstat(path.join(dir, file)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.some(Boolean);
}

export class ComparePanel implements vscode.Disposable {
  private static current: ComparePanel | undefined;
  private readonly host: WebviewPanelHost<ComparePanelToHost, HostToComparePanel>;
  private readonly disposables: vscode.Disposable[] = [];
  private watchers: vscode.Disposable[] = [];
  private runs: RunListing[] = [];
  private freeze: FreezeDiff = { source: 'loading', rows: [], notes: [] };
  /** Bumped on every new selection, so a slow layer-tree read for an older one is dropped. */
  private generation = 0;
  private readonly dirty = new Set<string>();
  private debounce: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;

  /** Opens the panel on these run folders, or shows the open one with this selection. */
  static show(
    runDirs: string[],
    context: ComparePanelContext,
    sweep?: ComparePanelState['sweep'],
  ): ComparePanel {
    const existing = ComparePanel.current;
    if (existing) {
      existing.panel.reveal();
      existing.sweep = sweep;
      existing.setRuns(runDirs);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      COMPARE_VIEW_TYPE,
      'Compare Runs',
      vscode.ViewColumn.Active,
      { ...webviewOptions(context.extensionUri), retainContextWhenHidden: false },
    );
    return new ComparePanel(panel, runDirs, context, sweep);
  }

  /** Re-attaches a panel restored after a window reload. */
  static revive(panel: vscode.WebviewPanel, runDirs: string[], context: ComparePanelContext): ComparePanel {
    ComparePanel.current?.panel.dispose();
    return new ComparePanel(panel, runDirs, context);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    runDirs: string[],
    private readonly context: ComparePanelContext,
    /** Set when the runs are a sweep's trials (title, the parallel chart's outcome). */
    private sweep?: ComparePanelState['sweep'],
  ) {
    ComparePanel.current = this;
    this.host = new WebviewPanelHost({
      panel,
      extensionUri: context.extensionUri,
      bundle: 'compare',
      title: 'Compare Runs',
      isMessage: isComparePanelToHost,
      log: context.log,
      onReady: () => void this.postAll(),
      onMessage: (message) => this.onMessage(message),
    });
    this.disposables.push(
      this.host,
      panel.onDidDispose(() => this.dispose()),
    );
    this.setRuns(runDirs);
  }

  /** The run folders shown, in panel order. */
  get runDirs(): string[] {
    return this.runs.map((run) => run.dir);
  }

  /** The selection's first reading, which `ready` waits for (reads are asynchronous and bounded). */
  private loaded: Promise<void> = Promise.resolve();

  private setRuns(runDirs: string[]): void {
    const unique = [...new Set(runDirs.map((dir) => path.resolve(dir)))];
    const generation = ++this.generation;
    this.loaded = Promise.all(unique.map((dir) => readRunAsync(dir))).then((runs) => {
      if (generation !== this.generation) return;
      this.runs = runs;
      this.showRuns();
    });
  }

  private showRuns(): void {
    this.panel.title = this.sweep
      ? `Sweep ${this.sweep.name}: ${this.runs.length} Trials`
      : this.runs.length === 1
        ? `Compare: ${runDisplayName(this.runs[0])}`
        : `Compare ${this.runs.length} Runs`;
    this.watch();
    this.freeze = { source: 'loading', rows: [], notes: [] };
    void this.postAll();
    void this.readLayerOrder(this.generation);
  }

  private async postAll(): Promise<void> {
    await this.loaded;
    const state = comparePanelState(this.runs, this.freeze);
    this.host.post({ type: 'init', state: this.sweep ? { ...state, sweep: this.sweep } : state });
    this.scheduleRecheck();
  }

  /**
   * Each distinct base model is described once (ModelDescriber caches by file); a model that is gone or
   * unreadable leaves its runs with the layers their configs name.
   */
  private async readLayerOrder(generation: number): Promise<void> {
    const configs = this.runs.map((run) => run.record?.config as ExperimentConfig | undefined);
    const models = [...new Set(configs.map((c) => c?.baseModel).filter((m): m is string => !!m))];
    const notes: string[] = [];
    const trees = new Map<string, LayerNode[]>();
    await Promise.all(
      models.map(async (model) => {
        try {
          trees.set(model, (await this.context.describer.describe(model)).layers);
        } catch (error) {
          notes.push(
            `${vscode.workspace.asRelativePath(model)}: ${errorMessage(error)} — only the layers the configs name are shown for its runs.`,
          );
        }
      }),
    );
    if (generation !== this.generation) return;
    this.freeze = freezePatternDiff(
      this.runs.map((run, i) => ({
        name: runDisplayName(run),
        config: configs[i],
        tree: configs[i] ? trees.get(configs[i]!.baseModel) : undefined,
      })),
      notes,
    );
    this.host.post({ type: 'freeze', freeze: this.freeze });
  }

  /** One watcher per runs folder (not per run: 50 runs of one folder cost one watcher). */
  private watch(): void {
    this.watchers.forEach((w) => w.dispose());
    this.watchers = [];
    const selected = new Set(this.runDirs);
    for (const runsDir of new Set(this.runDirs.map((dir) => path.dirname(dir)))) {
      const watcher = vscode.workspace.createFileSystemWatcher(
        new vscode.RelativePattern(vscode.Uri.file(runsDir), '*/{run.json,metrics.jsonl}'),
      );
      const onFile = (uri: vscode.Uri): void => {
        const dir = path.dirname(uri.fsPath);
        if (!selected.has(dir)) return;
        this.dirty.add(dir);
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.applyDirty(), WATCH_DEBOUNCE_MS);
      };
      this.watchers.push(
        watcher,
        watcher.onDidChange(onFile),
        watcher.onDidCreate(onFile),
        watcher.onDidDelete(onFile),
      );
    }
  }

  private async applyDirty(): Promise<void> {
    const generation = this.generation;
    const dirty = new Set(this.dirty);
    this.dirty.clear();
    const reread = await Promise.all(
      this.runs.map((run) => (dirty.has(run.dir) ? readRunAsync(run.dir) : undefined)),
    );
    if (generation !== this.generation) return;
    const now = Date.now();
    const changed = reread.map((listing, i) => {
      if (!listing) return undefined;
      this.runs[i] = listing;
      return compareRun(listing, now);
    });
    const runs = changed.filter((run) => run !== undefined);
    if (runs.length > 0) this.host.post({ type: 'runs', runs });
    this.scheduleRecheck();
  }

  private scheduleRecheck(): void {
    const running = this.runs.filter((run) => run.effectiveStatus === 'running');
    if (running.length === 0) {
      clearInterval(this.recheck);
      this.recheck = undefined;
      return;
    }
    this.recheck ??= setInterval(() => {
      for (const run of this.runs) if (run.effectiveStatus === 'running') this.dirty.add(run.dir);
      void this.applyDirty();
    }, RUNNING_RECHECK_MS);
  }

  private async onMessage(message: ComparePanelToHost): Promise<void> {
    switch (message.type) {
      case 'openRun':
        // Only runs this panel shows: a webview message never opens an arbitrary folder.
        if (this.runDirs.includes(message.dir)) this.context.openRun(message.dir);
        return;
      case 'saveCsv':
        await this.save(message.suggestedName, Buffer.from(message.csv, 'utf8'), { CSV: ['csv'] });
        return;
      case 'savePng':
        await this.save(
          message.suggestedName,
          Buffer.from(message.dataUrl.slice('data:image/png;base64,'.length), 'base64'),
          { 'PNG image': ['png'] },
        );
        return;
      default:
        return;
    }
  }

  /** Asks where to save (next to the runs' workspace by default) and writes the file. */
  private async save(suggestedName: string, data: Uint8Array, filters: Record<string, string[]>) {
    const first = this.runs[0];
    const folder =
      (first && vscode.workspace.getWorkspaceFolder(vscode.Uri.file(first.dir))?.uri) ??
      vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, suggestedName) : undefined,
      filters,
      title: `Export ${suggestedName}`,
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, data);
    this.context.log.info(`compare: exported ${target.fsPath} (${data.byteLength} bytes)`);
    const reveal = 'Reveal in File Explorer';
    void vscode.window
      .showInformationMessage(`Fine-Tune: saved ${path.basename(target.fsPath)}.`, 'Open', reveal)
      .then((choice) => {
        if (choice === 'Open') void vscode.commands.executeCommand('vscode.open', target);
        else if (choice === reveal) void vscode.commands.executeCommand('revealFileInOS', target);
      });
  }

  dispose(): void {
    clearTimeout(this.debounce);
    clearInterval(this.recheck);
    if (ComparePanel.current === this) ComparePanel.current = undefined;
    this.watchers.forEach((w) => w.dispose());
    this.disposables.forEach((d) => d.dispose());
  }
}
