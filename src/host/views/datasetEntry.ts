/**
 * What the Datasets view knows about each dataset — its folder, who uses it, and a summary of its scan —
 * and the nodes of the tree built from that (a dataset, one of its classes, or a warning/error note).
 * Shared by the provider that discovers and rescans datasets (datasetsView.ts) and the code that shows
 * them (datasetTreeItems.ts).
 */
import type * as vscode from 'vscode';
import type { ClassCounts, scanDataset } from '../../core/data/scanDataset';

/** What the view keeps of a scan: counts and problems, not the list of every image. */
export interface ScanSummary {
  layout: 'flat' | 'split';
  classNames: string[];
  emptyClasses: string[];
  countsByClass: Record<string, ClassCounts>;
  imageCount: number;
  ignoredFiles: string[];
  warnings: string[];
  /** The bound (VIEW_SCAN_LIMITS) that cut the scan short, in words: the counts are a lower bound. */
  incomplete?: string;
}

/**
 * `outside`: the folder (links resolved) is outside the workspace — an experiment file of a cloned
 * repository may name `/` — so it is scanned only after the user confirms (Scan Dataset Outside the
 * Workspace).
 */
export type ScanState =
  | { kind: 'scanning' }
  | { kind: 'ok'; scan: ScanSummary }
  | { kind: 'failed'; error: string }
  | { kind: 'outside' };

export interface DatasetEntry {
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

/** A scan reduced to what the view shows: the list of every image can be long and is not needed here. */
export function summarize(scan: Awaited<ReturnType<typeof scanDataset>>): ScanSummary {
  return {
    layout: scan.layout,
    classNames: scan.classNames,
    emptyClasses: scan.emptyClasses,
    countsByClass: scan.countsByClass,
    imageCount: scan.images.length,
    ignoredFiles: scan.ignoredFiles,
    warnings: scan.warnings,
    ...(scan.incomplete ? { incomplete: scan.incomplete } : {}),
  };
}
