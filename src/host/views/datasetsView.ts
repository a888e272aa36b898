/**
 * The Datasets view: every image-folder dataset of the workspace (found by findDatasets) and every dataset
 * folder an experiment file points at, each scanned with the engine's scanDataset — classes with their
 * image counts (per split in the train/val layout) and the scan's warnings (empty classes, zero-byte and
 * non-image files, imbalance) as child items, so problems are visible before a run trips over them.
 * "Use for Experiment" writes the dataset's path into the active experiment file.
 *
 * Only file listings are read (no image is decoded) and the tree stays current by watching the workspace
 * for images and folders, debounced: a copy of thousands of images costs one rescan, not thousands.
 *
 * This file finds, watches and rescans the datasets; how a scan is shown (tree items, child nodes) is in
 * datasetTreeItems.ts, and the model both share in datasetEntry.ts.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import * as vscode from 'vscode';
import { isImageFileName, scanDataset, VIEW_SCAN_LIMITS } from '../../core/data/scanDataset';
import { errorMessage } from '../../core/userError';
import { DEFAULT_SKIPPED_FOLDERS as SKIPPED_FOLDERS, findDatasets } from '../datasets/findDatasets';
import { EXPERIMENT_GLOB, type ExperimentService } from '../experiments/experimentService';
import { relativeToExperiment } from '../experiments/experimentTemplate';
import { isInsideFolder, workspaceLocation } from '../workspacePaths';
import { summarize, type DatasetEntry, type DatasetNode, type ScanState } from './datasetEntry';
import { datasetChildNodes, datasetItem, datasetTreeItem } from './datasetTreeItems';

const REFRESH_DEBOUNCE_MS = 500;
const SEARCH_DEPTH = 4;
const SEARCH_MAX_FOLDERS = 3000;
const SEARCH_TIMEOUT_MS = 10_000;

const isInside = isInsideFolder;

export class DatasetsViewProvider implements vscode.TreeDataProvider<DatasetNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<DatasetNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  readonly view: vscode.TreeView<DatasetNode>;
  private readonly disposables: vscode.Disposable[] = [];
  private entries: DatasetEntry[] = [];
  /** Scans by dataset root, kept until a file inside that root changes. */
  private readonly scans = new Map<string, Promise<ScanState>>();
  private truncatedIn: string[] = [];
  private loaded = false;
  private pendingPaths = new Set<string>();
  private pendingFull = false;
  private timer: NodeJS.Timeout | undefined;
  private reloading = false;
  private reloadAgain = false;
  /** Dataset folders outside the workspace the user said to scan (this session). */
  private readonly confirmedOutside = new Set<string>();

  constructor(private readonly experiments: ExperimentService) {
    this.view = vscode.window.createTreeView('fineTune.datasets', {
      treeDataProvider: this,
      showCollapseAll: true,
    });
    // Every create/change/delete in the workspace, filtered here: a folder copied in with its images
    // (a new dataset or class) may be reported only as the folder itself, and a deleted class folder
    // likewise, so an image-file glob alone would miss them.
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    const onEvent = (kind: 'create' | 'change' | 'delete') => (uri: vscode.Uri) =>
      this.onFileEvent(uri, kind);
    this.disposables.push(
      this.view,
      this.changeEmitter,
      watcher,
      watcher.onDidCreate(onEvent('create')),
      watcher.onDidChange(onEvent('change')),
      watcher.onDidDelete(onEvent('delete')),
      // dataset.path may have changed: the referenced datasets are re-read (scans stay cached).
      experiments.onDidChange(() => this.schedule()),
      experiments.onDidChangeActive(() => this.changeEmitter.fire(undefined)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
    );
    this.view.message = 'Looking for image-folder datasets…';
    this.refresh();
  }

  /** Forgets every scan and searches the workspace again. */
  refresh(): void {
    this.pendingFull = true;
    this.schedule(undefined, 0);
  }

  /** Datasets currently shown (scanned or not), for pickers. */
  datasets(): { root: string; label: string; valid: boolean }[] {
    return this.entries.map((e) => ({ root: e.root, label: e.label, valid: e.state.kind === 'ok' }));
  }

  private onFileEvent(uri: vscode.Uri, kind: 'create' | 'change' | 'delete'): void {
    if (uri.scheme !== 'file') return;
    const file = uri.fsPath;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const relative = folder ? path.relative(folder.uri.fsPath, file) : file;
    // Never searched (findDatasets skips them), and busy: build output, our own run store, VCS.
    if (relative.split(path.sep).some((part) => part.startsWith('.') || SKIPPED_FOLDERS.includes(part)))
      return;
    const touchesDataset = this.entries.some((e) => isInside(file, e.root) || isInside(e.root, file));
    if (isImageFileName(file)) {
      this.schedule(file);
    } else if (kind === 'delete') {
      if (touchesDataset) this.schedule(file);
    } else if (kind === 'create') {
      // A new folder may be a new class or a whole dataset; other new files cannot change a dataset.
      void fs.stat(file).then(
        (stat) => stat.isDirectory() && this.schedule(file),
        () => undefined,
      );
    }
  }

  private schedule(changedPath?: string, delay = REFRESH_DEBOUNCE_MS): void {
    if (changedPath !== undefined) this.pendingPaths.add(changedPath);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload();
    }, delay);
  }

  private async reload(): Promise<void> {
    // One reload at a time; changes that arrive meanwhile are picked up by one more round.
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    try {
      do {
        this.reloadAgain = false;
        const full = this.pendingFull;
        const changed = [...this.pendingPaths];
        this.pendingFull = false;
        this.pendingPaths = new Set();
        try {
          await this.load(full, changed);
        } catch (error) {
          this.view.message = `Could not list the datasets: ${errorMessage(error)}`;
        }
      } while (this.reloadAgain);
    } finally {
      this.reloading = false;
    }
  }

  private async load(full: boolean, changed: string[]): Promise<void> {
    if (full) this.scans.clear();
    for (const root of [...this.scans.keys()]) {
      if (changed.some((p) => isInside(p, root) || isInside(root, p))) this.scans.delete(root);
    }
    // A change outside every known dataset may have made a new one; inside one it cannot (datasets are
    // not searched for inside datasets), so the search is skipped for those.
    const searchAgain =
      full ||
      !this.loaded ||
      changed.length === 0 ||
      changed.some((p) => !this.entries.some((e) => isInside(p, e.root)));
    const found = searchAgain ? await this.search() : this.entries.filter((e) => e.found).map((e) => e.root);
    const referenced = await this.referencedDatasets();

    const byRoot = new Map<string, DatasetEntry>();
    const add = (root: string, isFound: boolean, usedBy?: vscode.Uri): void => {
      const key = path.resolve(root);
      let entry = byRoot.get(key);
      if (!entry) {
        const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
        entry = {
          root: key,
          label: vscode.workspace.asRelativePath(key, multiRoot),
          found: isFound,
          usedBy: [],
          state: { kind: 'scanning' },
        };
        byRoot.set(key, entry);
      }
      entry.found ||= isFound;
      if (usedBy) entry.usedBy.push(usedBy);
    };
    found.forEach((root) => add(root, true));
    referenced.forEach(({ root, experiment }) => add(root, false, experiment));

    const entries = [...byRoot.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
    for (const entry of entries) {
      const cached = this.scans.get(entry.root);
      const previous = this.entries.find((e) => e.root === entry.root);
      // Show the last known scan while rescanning, so the tree does not flicker on every image copied.
      if (cached && previous && previous.state.kind !== 'scanning') entry.state = previous.state;
    }
    this.entries = entries;
    this.loaded = true;
    this.updateMessage();
    this.changeEmitter.fire(undefined);

    // Sequentially: scans are disk-bound, and parallel ones would only compete for the same disk.
    for (const entry of entries) {
      let scan = this.scans.get(entry.root);
      if (!scan && !this.confirmedOutside.has(entry.root)) {
        // A folder outside the workspace (links resolved) is scanned only once the user says so: an
        // experiment file of a cloned repository may point at "/" or a home folder.
        if ((await workspaceLocation(entry.root)) === 'outside') {
          if (entry.state.kind !== 'outside') {
            entry.state = { kind: 'outside' };
            this.changeEmitter.fire(undefined);
          }
          continue;
        }
      }
      if (!scan) {
        // Bounded (entries, images, depth, 10 s): a huge folder shows what was found and says it stopped.
        scan = scanDataset(entry.root, VIEW_SCAN_LIMITS).then(
          (result): ScanState => ({ kind: 'ok', scan: summarize(result) }),
          (error: unknown): ScanState => ({ kind: 'failed', error: errorMessage(error) }),
        );
        this.scans.set(entry.root, scan);
      }
      const state = await scan;
      if (state !== entry.state) {
        entry.state = state;
        this.changeEmitter.fire(undefined);
      }
    }
  }

  private async search(): Promise<string[]> {
    const roots: string[] = [];
    this.truncatedIn = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (folder.uri.scheme !== 'file') continue;
      try {
        const result = await findDatasets(folder.uri.fsPath, {
          maxDepth: SEARCH_DEPTH,
          maxFolders: SEARCH_MAX_FOLDERS,
          timeoutMs: SEARCH_TIMEOUT_MS,
        });
        roots.push(...result.datasets.map((d) => d.root));
        if (result.truncated) this.truncatedIn.push(folder.name);
      } catch {
        // An unreadable workspace folder has no datasets to show; the others still do.
      }
    }
    return roots;
  }

  /** dataset.path of every experiment file, resolved against the file's folder. */
  private async referencedDatasets(): Promise<{ root: string; experiment: vscode.Uri }[]> {
    const files = await vscode.workspace.findFiles(EXPERIMENT_GLOB, '**/node_modules/**', 500);
    const out: { root: string; experiment: vscode.Uri }[] = [];
    for (const uri of files) {
      if (uri.scheme !== 'file') continue;
      try {
        const doc = parse(await this.experiments.text(uri), [], { allowTrailingComma: true }) as unknown;
        const dataset = (doc as { dataset?: { path?: unknown } } | undefined)?.dataset;
        if (typeof dataset?.path === 'string' && dataset.path.trim() !== '')
          out.push({ root: path.resolve(path.dirname(uri.fsPath), dataset.path), experiment: uri });
      } catch {
        // Unreadable experiment file: it references nothing we can show.
      }
    }
    return out;
  }

  private updateMessage(): void {
    const truncated =
      this.truncatedIn.length > 0
        ? ` The search stopped after ${SEARCH_MAX_FOLDERS} folders or ${SEARCH_TIMEOUT_MS / 1000} s in ${this.truncatedIn.join(', ')}; datasets deeper in may be missing — an experiment's dataset.path always shows here.`
        : '';
    this.view.message =
      this.entries.length === 0
        ? 'No image-folder datasets found. A dataset is a folder with one sub-folder of images per class ' +
          `(or train/ and val/ folders that hold those), up to ${SEARCH_DEPTH} levels deep.${truncated}`
        : truncated.trim() || undefined;
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    return datasetTreeItem(node, this.experiments.active);
  }

  getChildren(node?: DatasetNode): DatasetNode[] {
    if (!node) return this.entries.map((entry) => ({ kind: 'dataset', entry }));
    if (node.kind !== 'dataset') return [];
    return datasetChildNodes(node.entry);
  }

  getParent(node: DatasetNode): DatasetNode | undefined {
    return node.kind === 'dataset' ? undefined : { kind: 'dataset', entry: node.entry };
  }

  /**
   * Scans a dataset folder outside the workspace after the user confirms (a modal that names the folder and
   * the experiment files that point there); the scan is bounded like every other.
   */
  async scanOutside(node?: DatasetNode): Promise<void> {
    const entry = node?.entry;
    if (!entry || entry.state.kind !== 'outside') return;
    const usedBy = entry.usedBy.map((uri) => vscode.workspace.asRelativePath(uri)).join(', ');
    const scan = 'Scan';
    const answer = await vscode.window.showWarningMessage(
      `Scan ${entry.root}? It is outside the workspace${usedBy ? `; ${usedBy} points there` : ''}. ` +
        'Only folder listings are read, up to a bound.',
      { modal: true },
      scan,
    );
    if (answer !== scan) return;
    this.confirmedOutside.add(entry.root);
    entry.state = { kind: 'scanning' };
    this.changeEmitter.fire(undefined);
    this.schedule(entry.root, 0);
  }

  /** Writes the dataset's path into the active experiment (asks which when none is active). */
  async useForExperiment(node?: DatasetNode): Promise<void> {
    let entry = node?.entry;
    if (!entry) {
      const pick = await vscode.window.showQuickPick(
        this.entries
          .filter((e) => e.state.kind !== 'failed')
          .map((e) => ({
            label: e.label,
            description: datasetItem(e, this.experiments.active).description as string,
            entry: e,
          })),
        { placeHolder: 'Which dataset?' },
      );
      entry = pick?.entry;
    }
    if (!entry) return;
    if (entry.state.kind === 'failed') {
      void vscode.window.showErrorMessage(`Fine-Tune: ${entry.label} cannot be used: ${entry.state.error}`);
      return;
    }
    const experiment = await this.experiments.resolveActive(true);
    if (!experiment) {
      const create = 'New Experiment';
      const answer = await vscode.window.showInformationMessage(
        'Fine-Tune: there is no experiment to use the dataset for. Create one?',
        create,
      );
      if (answer === create) await vscode.commands.executeCommand('fineTune.newExperiment');
      return;
    }
    const relative = relativeToExperiment(experiment.fsPath, entry.root);
    const applied = await this.experiments.setValue(experiment, ['dataset', 'path'], relative);
    const name = path.basename(experiment.fsPath);
    if (!applied) {
      void vscode.window.showErrorMessage(`Fine-Tune: could not edit ${name}.`);
      return;
    }
    const open = 'Open File';
    const answer = await vscode.window.showInformationMessage(
      `Fine-Tune: ${name} now trains on ${relative}.`,
      open,
    );
    if (answer === open) await vscode.window.showTextDocument(experiment);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.disposables.forEach((d) => d.dispose());
  }
}

/** Registers `fineTune.dataset.useForExperiment` and `fineTune.datasets.refresh`. */
export function registerDatasetCommands(
  context: vscode.ExtensionContext,
  provider: DatasetsViewProvider,
  _experiments: ExperimentService,
): vscode.Disposable {
  const disposables = [
    vscode.commands.registerCommand('fineTune.dataset.useForExperiment', (node?: DatasetNode) =>
      provider.useForExperiment(node?.kind ? node : undefined),
    ),
    vscode.commands.registerCommand('fineTune.datasets.refresh', () => provider.refresh()),
    vscode.commands.registerCommand('fineTune.dataset.scanOutside', (node?: DatasetNode) =>
      provider.scanOutside(node?.kind ? node : undefined),
    ),
  ];
  context.subscriptions.push(...disposables);
  return vscode.Disposable.from(...disposables);
}
