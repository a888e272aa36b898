/**
 * How the Datasets view shows what a scan found: the child nodes of a dataset (its classes, then the
 * scan's warnings and ignored files) and the vscode.TreeItem of each node — labels, descriptions
 * (image counts, split, share), tooltips, icons and context values. Pure presentation: which datasets
 * exist and when they are rescanned is DatasetsViewProvider's job (datasetsView.ts).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { IMAGE_EXTENSIONS } from '../../core/data/scanDataset';
import type { DatasetEntry, DatasetNode, ScanSummary } from './datasetEntry';

const OUTSIDE_NOTE =
  'Outside the workspace: not scanned until you confirm (the inline Scan button, or right-click → Scan Dataset Outside the Workspace).';

/** Non-image files named in a tooltip; the rest are counted. */
const IGNORED_FILES_SHOWN = 15;

const count = (n: number, one: string, many = `${one}s`): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** The children of a dataset: its classes (empty ones too), then the warnings of its scan, or its scan error. */
export function datasetChildNodes(entry: DatasetEntry): DatasetNode[] {
  const state = entry.state;
  if (state.kind === 'scanning') return [];
  if (state.kind === 'outside')
    return [{ kind: 'note', entry, id: 'outside', text: OUTSIDE_NOTE, severity: 'warning' }];
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

/** The tree item of any node; `activeExperiment` is the experiment file whose dataset is marked. */
export function datasetTreeItem(
  node: DatasetNode,
  activeExperiment: vscode.Uri | undefined,
): vscode.TreeItem {
  switch (node.kind) {
    case 'dataset':
      return datasetItem(node.entry, activeExperiment);
    case 'class':
      return classItem(node.entry, node.className);
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

/** A dataset: what its scan found (or that it is being scanned, or why it cannot be used) and who uses it. */
export function datasetItem(entry: DatasetEntry, activeExperiment: vscode.Uri | undefined): vscode.TreeItem {
  const state = entry.state;
  const item = new vscode.TreeItem(
    entry.label,
    state.kind === 'scanning'
      ? vscode.TreeItemCollapsibleState.None
      : vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = `${entry.root}\0dataset`;
  item.resourceUri = vscode.Uri.file(entry.root);
  const active = activeExperiment?.toString();
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
  } else if (state.kind === 'outside') {
    item.iconPath = new vscode.ThemeIcon('shield');
    parts.push('outside the workspace — not scanned');
    tooltip.appendText(OUTSIDE_NOTE);
    tooltip.appendMarkdown('\n\n');
    item.contextValue = 'fineTune.datasetOutside';
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
    if (scan.incomplete) parts.push('scan stopped early');
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

/** A class: its images (per split in the train/val layout) and share; an empty one is flagged, as training leaves it out. */
function classItem(entry: DatasetEntry, className: string): vscode.TreeItem {
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
