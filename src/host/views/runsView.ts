/**
 * The Runs view: every run folder (`.finetune/runs/<runId>/`) of the workspace, newest first — runs the
 * extension started and runs started from the CLI alike, because the run folder on disk is the truth and
 * this view only reads it (readRuns, tfjs-free). A file watcher on run.json / metrics.jsonl keeps the list
 * live while a run writes its epochs; a slow timer re-checks running runs, whose trainer may die without
 * writing anything (then readRuns reports them as crashed) and whose elapsed time keeps growing.
 *
 * This file decides which run folders to read and when; how each run looks (label, icon, tooltip, context
 * values, the unreadable fallback) is RunItem's job, in runItem.ts.
 *
 * Every read is asynchronous and bounded (readRuns reads run.json and metrics.jsonl as regular files with
 * a byte cap, at most MAX_RUNS_LISTED runs per folder), and the reads of one view run one after another
 * (`serial`), so a cloned repository's run.json that is a link to /dev/zero, a FIFO or a folder of
 * thousands of runs never blocks the extension host.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRunsAsync, readRunAsync, type RunListing } from '../../core/runs/readRuns';
import { errorMessage } from '../../core/userError';
import { RunItem } from './runItem';
import { listSweepsAsync, sweepsDirOf, type SweepListing } from '../../core/sweep/sweepStore';
import { groupBySweep, SweepItem } from './sweepItem';
import { shownTree } from './shownTree';

/** A node of the Runs view: a run, or a sweep with its trials' runs below it. */
export type RunsTreeItem = RunItem | SweepItem;

const RUNS_SUBDIR = path.join('.finetune', 'runs');
const WATCH_DEBOUNCE_MS = 300;
/** How often running runs are re-read when no file changed (liveness, elapsed time). */
const RUNNING_RECHECK_MS = 5000;
const FOLDER_LIST_CHECK_MS = 3000;
/** A second look at a run folder that had no run.json yet when its creation was reported. */
const FOLLOW_UP_MS = 1500;

function startedAtMs(run: RunListing): number {
  const started = Date.parse(run.record?.startedAt ?? '');
  return Number.isFinite(started) ? started : 0;
}

export class RunsViewProvider implements vscode.TreeDataProvider<RunsTreeItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  readonly view: vscode.TreeView<RunsTreeItem>;
  private readonly disposables: vscode.Disposable[] = [];
  /** Runs folders to list: each workspace folder's, plus nested ones found on disk or seen by the watcher. */
  private readonly runsDirs = new Set<string>();
  /** Run folder → its last reading; only folders that changed are read again. */
  private readonly runs = new Map<string, RunListing>();
  private readonly problems = new Map<string, string>();
  private items: RunsTreeItem[] = [];
  /** shownTree of the items VS Code was last told about: an unchanged reading re-renders nothing. */
  private shown: string | undefined;
  /** Runs folder → the sweeps beside it (`../sweeps`). */
  private readonly sweeps = new Map<string, SweepListing[]>();
  private readonly dirtyRunDirs = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  /** The view's reads, one after another (a full reload and a watcher's refresh never interleave). */
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor() {
    this.view = vscode.window.createTreeView('fineTune.runs', {
      treeDataProvider: this,
      canSelectMany: true,
    });
    // A folder created together with its contents (the first run creates .finetune/runs/<id>/ at once)
    // may be reported only as the folder itself, so the watcher also takes .finetune and .finetune/runs.
    const watchers = [
      '**/.finetune',
      '**/.finetune/runs',
      '**/.finetune/runs/**',
      '**/.finetune/sweeps/*/state.json',
    ].map((glob) => vscode.workspace.createFileSystemWatcher(glob));
    const onFile = (uri: vscode.Uri): void => this.onRunFileEvent(uri.fsPath);
    for (const watcher of watchers) {
      this.disposables.push(
        watcher,
        watcher.onDidCreate(onFile),
        watcher.onDidChange(onFile),
        watcher.onDidDelete(onFile),
      );
    }
    this.disposables.push(
      this.view,
      this.changeEmitter,
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
    );
    // Safety net for file events a watcher drops (seen with code-server when another process writes a
    // whole run folder at once): while the view is visible, compare the run folder names every few seconds.
    const listing = setInterval(() => {
      if (this.view.visible)
        void this.folderNamesChanged().then((changed) => (changed ? this.refresh() : undefined));
    }, FOLDER_LIST_CHECK_MS);
    this.disposables.push({ dispose: () => clearInterval(listing) });
    void this.refresh();
  }

  private knownFolderNames = '';

  /** True when the set of folders in the runs folders differs from the last look (cheap: one readdir each). */
  private async folderNamesChanged(): Promise<boolean> {
    const names: string[] = [];
    for (const dir of this.runsDirs) {
      try {
        names.push(...(await fs.readdir(dir)).map((n) => path.join(dir, n)));
      } catch {
        // not there (yet)
      }
    }
    const key = names.sort().join('\n');
    const changed = key !== this.knownFolderNames;
    this.knownFolderNames = key;
    return changed;
  }

  /** Runs `work` after the reads queued before it; its failure is logged in the view, not thrown. */
  private serial(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work).catch((error: unknown) => {
      if (!this.disposed) this.view.message = `Could not list the runs: ${errorMessage(error)}`;
    });
    return this.queue;
  }

  /** A full reload queued and not started yet: more refresh() calls meanwhile join it. */
  private queuedReload: Promise<void> | undefined;

  /** Reads every runs folder again (and looks for nested ones, e.g. `samples/x/.finetune/runs`). */
  refresh(): Promise<void> {
    this.queuedReload ??= this.serial(() => {
      this.queuedReload = undefined;
      return this.fullReload();
    });
    return this.queuedReload;
  }

  /** The run folders selected in the view (absolute paths). */
  selectedRunDirs(): string[] {
    return this.view.selection.flatMap((item) => (item instanceof RunItem ? [item.run.dir] : []));
  }

  /** The sweep nodes listed, newest first. */
  allSweeps(): SweepItem[] {
    return this.items.filter((item): item is SweepItem => item instanceof SweepItem);
  }

  /** Every run listed, in the view's order (newest first). */
  allRuns(): RunListing[] {
    return this.items.flatMap((item) => (item instanceof SweepItem ? item.trials : [item]).map((i) => i.run));
  }

  /** Reads these run folders again now (after a rename, a note, a delete) instead of waiting for the watcher. */
  refreshRuns(runDirs: readonly string[]): Promise<void> {
    runDirs.forEach((dir) => this.dirtyRunDirs.add(dir));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.serial(() => this.applyDirty());
  }

  getTreeItem(item: RunsTreeItem): RunsTreeItem {
    return item;
  }

  getChildren(item?: RunsTreeItem): RunsTreeItem[] {
    if (!item) return this.items;
    return item instanceof SweepItem ? item.trials : [];
  }

  getParent(): undefined {
    return undefined;
  }

  private async fullReload(): Promise<void> {
    this.runsDirs.clear();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme === 'file') this.runsDirs.add(path.join(folder.uri.fsPath, RUNS_SUBDIR));
    }
    try {
      // Runs written by the CLI from a sub-folder (`--runs-dir` default is `.finetune/runs` under the cwd).
      const found = await vscode.workspace.findFiles(
        '**/.finetune/runs/*/run.json',
        '**/node_modules/**',
        5000,
      );
      for (const uri of found) this.runsDirs.add(path.dirname(path.dirname(uri.fsPath)));
    } catch {
      // Searching is a convenience; the workspace folders' own runs folders are listed regardless.
    }
    const read = new Map<string, { runs?: RunListing[]; sweeps: SweepListing[]; problem?: string }>();
    for (const dir of this.runsDirs) read.set(dir, await this.readRunsDir(dir));
    if (this.disposed) return;
    this.runs.clear();
    this.problems.clear();
    for (const [dir, result] of read) this.store(dir, result);
    this.render();
  }

  private async readRunsDir(
    runsDir: string,
  ): Promise<{ runs?: RunListing[]; sweeps: SweepListing[]; problem?: string }> {
    const sweeps = await listSweepsAsync(sweepsDirOf(runsDir));
    try {
      return { runs: await listRunsAsync(runsDir), sweeps };
    } catch (error) {
      return { sweeps, problem: errorMessage(error) };
    }
  }

  /** Replaces what is known of one runs folder with a new reading of it. */
  private store(
    runsDir: string,
    result: { runs?: RunListing[]; sweeps: SweepListing[]; problem?: string },
  ): void {
    for (const key of [...this.runs.keys()]) if (path.dirname(key) === runsDir) this.runs.delete(key);
    this.problems.delete(runsDir);
    this.sweeps.set(runsDir, result.sweeps);
    for (const run of result.runs ?? []) this.runs.set(run.dir, run);
    if (result.problem) this.problems.set(runsDir, result.problem);
  }

  /**
   * `<base>/.finetune[/runs[/<runId>/…]]` → what to read again: the run folder, or the whole runs folder
   * when the event is about .finetune or .finetune/runs itself.
   */
  private onRunFileEvent(file: string): void {
    const parts = file.split(path.sep);
    const at = parts.lastIndexOf('.finetune');
    if (at < 1) return;
    const runsDir = [...parts.slice(0, at + 1), 'runs'].join(path.sep);
    if (parts[at + 1] === 'sweeps') {
      // A sweep's state changed: its runs folder's sweeps are read again with it.
      this.runsDirs.add(runsDir);
      this.dirtyRunDirs.add(runsDir);
      this.scheduleApply(WATCH_DEBOUNCE_MS);
      return;
    }
    if (at + 1 < parts.length && parts[at + 1] !== 'runs') return; // something else kept in .finetune
    this.runsDirs.add(runsDir);
    this.dirtyRunDirs.add(at + 2 < parts.length ? parts.slice(0, at + 3).join(path.sep) : runsDir);
    this.scheduleApply(WATCH_DEBOUNCE_MS);
  }

  private scheduleApply(delay: number, followUp = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.serial(() => this.applyDirty(followUp));
    }, delay);
  }

  private async applyDirty(followUp = false): Promise<void> {
    const dirty = [...this.dirtyRunDirs];
    this.dirtyRunDirs.clear();
    const unsettled: string[] = [];
    for (const dir of dirty) {
      if (this.runsDirs.has(dir)) {
        const result = await this.readRunsDir(dir);
        if (this.disposed) return;
        this.store(dir, result);
        if ((result.runs ?? []).some((run) => !run.record)) unsettled.push(dir);
      } else {
        const listing = await readRunAsync(dir);
        // A deleted run folder reads as "run.json is missing" with no metrics: drop it.
        const gone = !listing.record && listing.metrics.length === 0 && !(await this.folderExists(dir));
        if (this.disposed) return;
        if (gone) this.runs.delete(dir);
        else this.runs.set(listing.dir, listing);
        if (!gone && !listing.record) unsettled.push(dir);
      }
    }
    this.render();
    // A run folder caught before its run.json was written: look once more, in case the write that
    // follows is not reported (see the watcher comment).
    if (!followUp && unsettled.length > 0) {
      unsettled.forEach((dir) => this.dirtyRunDirs.add(dir));
      this.scheduleApply(FOLLOW_UP_MS, true);
    }
  }

  private async folderExists(dir: string): Promise<boolean> {
    return (await fs.stat(dir).catch(() => undefined))?.isDirectory() ?? false;
  }

  private render(): void {
    const dirs = [...this.runsDirs].filter(
      (dir) => this.problems.has(dir) || [...this.runs.keys()].some((k) => path.dirname(k) === dir),
    );
    const showLocation = dirs.length > 1;
    const location = (runDir: string): string | undefined =>
      showLocation
        ? vscode.workspace.asRelativePath(path.dirname(path.dirname(path.dirname(runDir))), true)
        : undefined;
    const runs = [...this.runs.values()].sort(
      (a, b) => startedAtMs(b) - startedAtMs(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
    this.items = this.withSweeps(runs, location);
    const problems = [...this.problems.entries()].map(
      ([dir, problem]) => `${vscode.workspace.asRelativePath(dir)}: ${problem}`,
    );
    this.view.message =
      this.items.length === 0
        ? [
            'No runs yet. Start one with "Fine-Tune: Start Training", or `npx finetune train <file.finetune.json>`.',
            ...problems,
          ].join('\n')
        : problems.length > 0
          ? problems.join('\n')
          : undefined;
    const running = runs.filter((run) => run.effectiveStatus === 'running').length;
    this.view.description = running > 0 ? `${running} running` : undefined;
    const sweepsRunning = [...this.sweeps.values()].some((list) =>
      list.some((sw) => sw.effectiveStatus === 'running'),
    );
    this.scheduleRecheck(running > 0 || sweepsRunning);
    const shown = shownTree(
      this.items.map((item) => ({
        item,
        children: item instanceof SweepItem ? item.trials.map((trial) => ({ item: trial })) : undefined,
      })),
    );
    if (shown === this.shown) return;
    this.shown = shown;
    this.changeEmitter.fire();
  }

  /** Trials' runs go under their sweep's node; sweeps are placed among the runs by when they started. */
  private withSweeps(runs: RunListing[], location: (runDir: string) => string | undefined): RunsTreeItem[] {
    const sweeps = [...this.runsDirs].flatMap((dir) => this.sweeps.get(dir) ?? []);
    const { sweeps: trials, others } = groupBySweep(runs, sweeps);
    const started = (sweep: SweepListing): number => Date.parse(sweep.state?.createdAt ?? '') || 0;
    const items: { at: number; item: RunsTreeItem }[] = [
      ...others.map((run) => ({
        at: startedAtMs(run),
        item: new RunItem(run, location(run.dir)) as RunsTreeItem,
      })),
      ...sweeps.map((sweep) => ({
        at: started(sweep),
        item: new SweepItem(
          sweep,
          (trials.get(sweep.id) ?? []).map((run) => new RunItem(run, location(run.dir))),
        ),
      })),
    ];
    return items.sort((a, b) => b.at - a.at).map((entry) => entry.item);
  }

  private scheduleRecheck(anyRunning: boolean): void {
    if (!anyRunning) {
      if (this.recheck) clearInterval(this.recheck);
      this.recheck = undefined;
      return;
    }
    this.recheck ??= setInterval(() => {
      for (const run of this.runs.values())
        if (run.effectiveStatus === 'running') this.dirtyRunDirs.add(run.dir);
      // A sweep's controller may die without writing anything: its status is read again too.
      for (const [dir, list] of this.sweeps)
        if (list.some((sw) => sw.effectiveStatus === 'running')) this.dirtyRunDirs.add(dir);
      void this.serial(() => this.applyDirty());
    }, RUNNING_RECHECK_MS);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.recheck) clearInterval(this.recheck);
    this.disposables.forEach((d) => d.dispose());
  }
}
