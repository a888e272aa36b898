/**
 * The Datasets view: every image-folder dataset of the workspace (found by findDatasets) and every dataset
 * folder an experiment file points at, each scanned with the engine's scanDataset — classes with their
 * image counts (per split in the train/val layout) and the scan's warnings (empty classes, zero-byte and
 * non-image files, imbalance) as child items, so problems are visible before a run trips over them.
 * "Use for Experiment" writes the dataset's path into the active experiment file.
 *
 * Only file listings are read (no image is decoded) and the tree stays current by watching the workspace
 * for images and folders, debounced: a copy of thousands of images costs one rescan, not thousands.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import * as vscode from 'vscode';
import {
  IMAGE_EXTENSIONS,
  isImageFileName,
  scanDataset,
  type ClassCounts,
} from '../../engine/data/scanDataset';
import { errorMessage } from '../../engine/userError';
import { DEFAULT_SKIPPED_FOLDERS as SKIPPED_FOLDERS, findDatasets } from '../datasets/findDatasets';
import { EXPERIMENT_GLOB, type ExperimentService } from '../experiments/experimentService';
import { relativeToExperiment } from '../experiments/experimentTemplate';

const REFRESH_DEBOUNCE_MS = 500;
const SEARCH_DEPTH = 4;
const SEARCH_MAX_FOLDERS = 3000;
/** Non-image files named in a tooltip; the rest are counted. */
const IGNORED_FILES_SHOWN = 15;

/** What the view keeps of a scan: counts and problems, not the list of every image. */
interface ScanSummary {
  layout: 'flat' | 'split';
  classNames: string[];
  emptyClasses: string[];
  countsByClass: Record<string, ClassCounts>;
  imageCount: number;
  ignoredFiles: string[];
  warnings: string[];
}

type ScanState = { kind: 'scanning' } | { kind: 'ok'; scan: ScanSummary } | { kind: 'failed'; error: string };

interface DatasetEntry {
  root: string;
  label: string;
  /** Found by searching the workspace (as opposed to only referenced by an experiment file). */
  found: boolean;
  /** Experiment files whose dataset.path is this folder. */
  usedBy: vscode.Uri[];
  state: ScanState;
}

export type DatasetNode =
  | { kind: 'dataset'; entry: DatasetEntry }
  | { kind: 'class'; entry: DatasetEntry; className: string }
  | {
      kind: 'note';
      entry: DatasetEntry;
      id: string;
      text: string;
      detail?: string;
      severity: 'warning' | 'error';
    };

const count = (n: number, one: string, many = `${one}s`): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function summarize(scan: Awaited<ReturnType<typeof scanDataset>>): ScanSummary {
  return {
    layout: scan.layout,
    classNames: scan.classNames,
    emptyClasses: scan.emptyClasses,
    countsByClass: scan.countsByClass,
    imageCount: scan.images.length,
    ignoredFiles: scan.ignoredFiles,
    warnings: scan.warnings,
  };
}

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
      void fs.promises.stat(file).then(
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
      if (!scan) {
        scan = scanDataset(entry.root).then(
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
        ? ` The search stopped after ${SEARCH_MAX_FOLDERS} folders in ${this.truncatedIn.join(', ')}; datasets deeper in may be missing — an experiment's dataset.path always shows here.`
        : '';
    this.view.message =
      this.entries.length === 0
        ? 'No image-folder datasets found. A dataset is a folder with one sub-folder of images per class ' +
          `(or train/ and val/ folders that hold those), up to ${SEARCH_DEPTH} levels deep.${truncated}`
        : truncated.trim() || undefined;
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    switch (node.kind) {
      case 'dataset':
        return this.datasetItem(node.entry);
      case 'class':
        return this.classItem(node.entry, node.className);
      case 'note': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `${node.entry.root}\0note\0${node.id}`;
        item.iconPath =
          node.severity === 'error'
            ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'))
            : new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        item.tooltip = node.detail ? `${node.text}\n\n${node.detail}` : node.text;
        item.contextValue = 'fineTune.datasetNote';
        return item;
      }
    }
  }

  getChildren(node?: DatasetNode): DatasetNode[] {
    if (!node) return this.entries.map((entry) => ({ kind: 'dataset', entry }));
    if (node.kind !== 'dataset') return [];
    const entry = node.entry;
    const state = entry.state;
    if (state.kind === 'scanning') return [];
    if (state.kind === 'failed')
      return [{ kind: 'note', entry, id: 'error', text: state.error, severity: 'error' }];
    const scan = state.scan;
    const classes = [...scan.classNames, ...scan.emptyClasses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const nodes: DatasetNode[] = classes.map((className) => ({ kind: 'class', entry, className }));
    scan.warnings.forEach((text, i) =>
      nodes.push({ kind: 'note', entry, id: `w${i}`, text, severity: 'warning' }),
    );
    if (scan.ignoredFiles.length > 0) {
      const shown = scan.ignoredFiles.slice(0, IGNORED_FILES_SHOWN).join('\n');
      const more = scan.ignoredFiles.length - IGNORED_FILES_SHOWN;
      nodes.push({
        kind: 'note',
        entry,
        id: 'ignored',
        text: `${count(scan.ignoredFiles.length, 'file')} ignored: not ${IMAGE_EXTENSIONS.join(' ')} images`,
        detail: more > 0 ? `${shown}\n… and ${more} more` : shown,
        severity: 'warning',
      });
    }
    return nodes;
  }

  getParent(node: DatasetNode): DatasetNode | undefined {
    return node.kind === 'dataset' ? undefined : { kind: 'dataset', entry: node.entry };
  }

  private datasetItem(entry: DatasetEntry): vscode.TreeItem {
    const state = entry.state;
    const item = new vscode.TreeItem(
      entry.label,
      state.kind === 'scanning'
        ? vscode.TreeItemCollapsibleState.None
        : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = `${entry.root}\0dataset`;
    item.resourceUri = vscode.Uri.file(entry.root);
    const active = this.experiments.active?.toString();
    const usedByActive = entry.usedBy.some((uri) => uri.toString() === active);
    const tooltip = new vscode.MarkdownString(undefined, false);
    tooltip.appendMarkdown('**');
    tooltip.appendText(entry.label);
    tooltip.appendMarkdown('**\n\n');
    tooltip.appendText(entry.root);
    tooltip.appendMarkdown('\n\n');
    const parts: string[] = [];
    if (state.kind === 'scanning') {
      item.iconPath = new vscode.ThemeIcon('loading~spin');
      parts.push('scanning…');
      item.contextValue = 'fineTune.dataset';
    } else if (state.kind === 'failed') {
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
      parts.push(entry.found ? 'not usable' : 'not found');
      tooltip.appendText(state.error);
      tooltip.appendMarkdown('\n\n');
      item.contextValue = 'fineTune.datasetInvalid';
    } else {
      const scan = state.scan;
      const problems = scan.warnings.length + (scan.ignoredFiles.length > 0 ? 1 : 0);
      item.iconPath =
        problems > 0
          ? new vscode.ThemeIcon('database', new vscode.ThemeColor('list.warningForeground'))
          : new vscode.ThemeIcon('database');
      parts.push(count(scan.classNames.length, 'class', 'classes'), count(scan.imageCount, 'image'));
      if (scan.layout === 'split') parts.push('train/val');
      if (problems > 0) parts.push(count(problems, 'warning'));
      tooltip.appendText(
        scan.layout === 'split'
          ? `${count(scan.classNames.length, 'class', 'classes')} in train/ and val/ (the given split is used)`
          : `${count(scan.classNames.length, 'class', 'classes')}, one folder each (validationSplit holds out part of each)`,
      );
      tooltip.appendText(
        `\n${count(scan.imageCount, 'image')}${problems > 0 ? `, ${count(problems, 'warning')}` : ''}`,
      );
      tooltip.appendMarkdown('\n\n');
      item.contextValue = 'fineTune.dataset';
    }
    if (usedByActive) parts.push('active experiment');
    item.description = parts.join(' · ');
    if (entry.usedBy.length > 0) {
      tooltip.appendText(
        `Used by ${entry.usedBy.map((uri) => vscode.workspace.asRelativePath(uri)).join(', ')}`,
      );
    } else {
      tooltip.appendText('Not used by any experiment yet: right-click → Use for Experiment.');
    }
    item.tooltip = tooltip;
    item.accessibilityInformation = { label: `Dataset ${entry.label}, ${item.description}` };
    return item;
  }

  private classItem(entry: DatasetEntry, className: string): vscode.TreeItem {
    const scan = (entry.state as { scan: ScanSummary }).scan;
    const counts = scan.countsByClass[className] ?? { train: 0, val: 0, test: 0, total: 0 };
    const item = new vscode.TreeItem(className, vscode.TreeItemCollapsibleState.None);
    item.id = `${entry.root}\0class\0${className}`;
    item.contextValue = 'fineTune.datasetClass';
    const empty = counts.total === 0;
    const share = scan.imageCount > 0 ? Math.round((100 * counts.total) / scan.imageCount) : 0;
    let description: string;
    if (empty) {
      description = 'no images — left out';
    } else if (scan.layout === 'split') {
      const hasTest = scan.classNames.some((name) => (scan.countsByClass[name]?.test ?? 0) > 0);
      description = `train ${counts.train} · val ${counts.val}${hasTest ? ` · test ${counts.test}` : ''} · ${share}%`;
    } else {
      description = `${count(counts.total, 'image')} · ${share}%`;
    }
    item.description = description;
    item.iconPath = empty
      ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
      : new vscode.ThemeIcon('symbol-folder');
    const folder =
      scan.layout === 'split'
        ? path.join(entry.root, '{train,val,test}', className)
        : path.join(entry.root, className);
    item.tooltip = `${className}\n${folder}\n${
      empty
        ? 'No images: this class is left out of training.'
        : `${count(counts.total, 'image')} (${share}% of the dataset)`
    }`;
    item.accessibilityInformation = { label: `Class ${className}, ${description}` };
    return item;
  }

  /** Writes the dataset's path into the active experiment (asks which when none is active). */
  async useForExperiment(node?: DatasetNode): Promise<void> {
    let entry = node?.entry;
    if (!entry) {
      const pick = await vscode.window.showQuickPick(
        this.entries
          .filter((e) => e.state.kind !== 'failed')
          .map((e) => ({ label: e.label, description: this.datasetItem(e).description as string, entry: e })),
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
  ];
  context.subscriptions.push(...disposables);
  return vscode.Disposable.from(...disposables);
}
