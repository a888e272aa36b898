/**
 * Finds image-classification datasets (both layouts of README.md "Dataset folders") under a folder, for
 * the Datasets view and the New Experiment quick pick. Only folder listings are read — no image is opened
 * and no file is stat-ed unless it is a symbolic link — and the walk is breadth-first with a cap on the
 * folders listed, so a huge workspace costs a bounded amount of work and shallow datasets are found first.
 *
 * A folder is a dataset when
 *   flat:  at least two of its sub-folders directly contain image files, or
 *   split: it has train/ and val/, and their sub-folders (the classes) that directly contain images name
 *          at least two classes together.
 * A dataset's own folders are not searched further: its class folders are not datasets of their own.
 * No vscode import: this runs in unit tests as is.
 */
import type { Dirent } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sortedByCodePoint } from '../../core/data/codePointOrder';
import { isImageFileName } from '../../core/data/scanDataset';

export interface FoundDataset {
  /** Absolute path of the dataset folder. */
  root: string;
  /** Path relative to the searched folder, '/' separators; '.' when the searched folder is the dataset. */
  relativePath: string;
  layout: 'flat' | 'split';
  /** Class folders that directly hold images, in code-point order (for split: over train/ and val/). */
  classNames: string[];
}

export interface FindDatasetsOptions {
  /** Deepest folder level checked; the searched folder itself is level 0. Default 4. */
  maxDepth?: number;
  /** Folder listings read at most; the search stops there and reports `truncated`. Default 3000. */
  maxFolders?: number;
  /** Folder names never entered, in addition to hidden ones (starting with '.'). */
  skipFolderNames?: readonly string[];
  /** Time the search may take, in ms; it stops there and reports `truncated`. Default 10000. */
  timeoutMs?: number;
}

export interface FindDatasetsResult {
  /** Sorted by relativePath in code-point order. */
  datasets: FoundDataset[];
  /** True when maxFolders or timeoutMs stopped the search before every folder within maxDepth was looked at. */
  truncated: boolean;
  /** Folder listings read. */
  foldersListed: number;
}

/** Never searched: dependencies, version control and our own run store (its models are not datasets). */
export const DEFAULT_SKIPPED_FOLDERS: readonly string[] = ['node_modules', '.git', '.finetune'];

const SPLIT_FOLDERS = ['train', 'val'] as const;

interface Listing {
  /** Sub-folders (symbolic links to folders included), name → absolute path, code-point order. */
  folders: { name: string; abs: string }[];
  /** Whether any entry is named like an image file (the class-folder test). */
  hasImages: boolean;
}

class BudgetExhausted extends Error {}

class DatasetFinder {
  private listed = 0;
  private readonly cache = new Map<string, Listing>();
  private readonly skipped: Set<string>;

  private readonly deadline: number;

  constructor(
    private readonly maxFolders: number,
    skipFolderNames: readonly string[],
    timeoutMs: number,
  ) {
    this.skipped = new Set(skipFolderNames);
    this.deadline = Date.now() + timeoutMs;
  }

  get foldersListed(): number {
    return this.listed;
  }

  /** One folder's listing, read once; an unreadable folder lists as empty (it cannot hold a dataset we can use). */
  async list(abs: string): Promise<Listing> {
    const cached = this.cache.get(abs);
    if (cached) return cached;
    if (this.listed >= this.maxFolders || Date.now() > this.deadline) throw new BudgetExhausted();
    this.listed++;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(abs, { withFileTypes: true });
    } catch {
      entries = [];
    }
    const listing: Listing = { folders: [], hasImages: false };
    for (const entry of sortedByCodePoint(entries, (e) => e.name)) {
      if (entry.name.startsWith('.') || this.skipped.has(entry.name)) continue;
      const entryPath = path.join(abs, entry.name);
      if (entry.isDirectory()) {
        listing.folders.push({ name: entry.name, abs: entryPath });
      } else if (entry.isSymbolicLink()) {
        // Linked class folders are common (images kept on another disk); a broken link is just skipped.
        const target = await fs.stat(entryPath).catch(() => undefined);
        if (target?.isDirectory()) listing.folders.push({ name: entry.name, abs: entryPath });
        else if (target?.isFile() && isImageFileName(entry.name)) listing.hasImages = true;
      } else if (entry.isFile() && isImageFileName(entry.name)) {
        listing.hasImages = true;
      }
    }
    this.cache.set(abs, listing);
    return listing;
  }

  /** Names of the sub-folders of `listing` that directly hold images. */
  private async classFolders(listing: Listing): Promise<string[]> {
    const names: string[] = [];
    for (const folder of listing.folders)
      if ((await this.list(folder.abs)).hasImages) names.push(folder.name);
    return names;
  }

  /** The dataset rooted at `abs`, if it is one. */
  async datasetAt(abs: string): Promise<Omit<FoundDataset, 'relativePath'> | undefined> {
    const listing = await this.list(abs);
    const byName = new Map(listing.folders.map((f) => [f.name, f.abs]));
    if (SPLIT_FOLDERS.every((name) => byName.has(name))) {
      const classes = new Set<string>();
      for (const split of SPLIT_FOLDERS) {
        for (const name of await this.classFolders(await this.list(byName.get(split)!))) classes.add(name);
      }
      if (classes.size >= 2) {
        return { root: abs, layout: 'split', classNames: sortedByCodePoint([...classes], (n) => n) };
      }
    }
    const classNames = await this.classFolders(listing);
    return classNames.length >= 2 ? { root: abs, layout: 'flat', classNames } : undefined;
  }
}

function relativeTo(base: string, target: string): string {
  const relative = path.relative(base, target);
  return relative === '' ? '.' : relative.split(path.sep).join('/');
}

/** Searches `root` breadth-first for dataset folders (see the file comment). Never throws for unreadable folders. */
export async function findDatasets(
  root: string,
  options: FindDatasetsOptions = {},
): Promise<FindDatasetsResult> {
  const start = path.resolve(root);
  const maxDepth = options.maxDepth ?? 4;
  const finder = new DatasetFinder(
    options.maxFolders ?? 3000,
    [...DEFAULT_SKIPPED_FOLDERS, ...(options.skipFolderNames ?? [])],
    options.timeoutMs ?? 10_000,
  );
  const datasets: FoundDataset[] = [];
  // Real paths already searched: a symbolic link back to an ancestor must not loop, nor a folder linked
  // twice be listed twice.
  const seenReal = new Set<string>();
  let level: string[] = [start];
  let truncated = false;
  try {
    for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
      const next: string[] = [];
      for (const folder of level) {
        const real = await fs.realpath(folder).catch(() => folder);
        if (seenReal.has(real)) continue;
        seenReal.add(real);
        const found = await finder.datasetAt(folder);
        if (found) {
          datasets.push({ ...found, relativePath: relativeTo(start, folder) });
          continue;
        }
        if (depth < maxDepth) next.push(...(await finder.list(folder)).folders.map((f) => f.abs));
      }
      level = next;
    }
  } catch (error) {
    if (!(error instanceof BudgetExhausted)) throw error;
    truncated = true;
  }
  return {
    datasets: sortedByCodePoint(datasets, (d) => d.relativePath),
    truncated,
    foldersListed: finder.foldersListed,
  };
}
