/**
 * Reads an image-classification dataset folder (layouts in README.md "Dataset folders"):
 *   flat:  <root>/<class>/…/*.{png,jpg,jpeg,webp,bmp,gif}
 *   split: <root>/{train,val[,test]}/<class>/…   (chosen when both train/ and val/ exist)
 * Only the file system is read here — no image is decoded — so a scan of thousands of files takes a
 * moment and can run on every "finetune scan" or Datasets-view refresh.
 *
 * Every scan is bounded (ScanLimits: images, directory entries, folder depth and, for the editor's views,
 * time), because a dataset path comes from a file a cloned repository may have written — `"path": "/"`
 * would otherwise walk the whole file system. A scan that reaches a bound says which one: by default it
 * throws a UserError (training never starts on part of a dataset); with `partial` it returns what it found
 * so far with `incomplete` set (the Datasets view shows that).
 */
import type { Dirent, Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../userError';
import { sortedByCodePoint } from './codePointOrder';

export type SplitName = 'train' | 'val' | 'test';

export interface ImageRef {
  /** Path relative to the dataset root, '/' separators (through symbolic links, as the user sees it). */
  file: string;
  abs: string;
  classIndex: number;
  /** Only in the 'split' layout: the top-level folder the image is in. */
  split?: SplitName;
  size: number;
  mtimeMs: number;
}

export interface ClassCounts {
  /** Images under train/, val/, test/ (split layout; 0 in the flat layout). */
  train: number;
  val: number;
  test: number;
  total: number;
}

export interface DatasetScan {
  root: string;
  layout: 'flat' | 'split';
  /** Classes that hold at least one image, in code-point order; the index is the label. */
  classNames: string[];
  /** Sorted by `file`. */
  images: ImageRef[];
  countsByClass: Record<string, ClassCounts>;
  /** Class folders without any (non-empty) image; not in classNames. */
  emptyClasses: string[];
  /** Non-image files, relative paths. */
  ignoredFiles: string[];
  warnings: string[];
  /** Only with ScanLimits.partial: the bound the scan reached, in words; the counts are then a lower bound. */
  incomplete?: string;
}

export interface ScanLimits {
  /** Image files at most (a cap on files per dataset). */
  maxImages: number;
  /** Directory entries looked at, of any kind (images, other files, folders). */
  maxEntries: number;
  /** Folder levels below the dataset root that are entered (class folders are level 1, or 2 under train/). */
  maxDepth: number;
  /** Time the scan may take, in ms; absent: no time bound. */
  timeoutMs?: number;
  /** Return what was found when a bound is reached (with `incomplete`), instead of throwing a UserError. */
  partial?: boolean;
}

/** Training and the CLI: far above a real image-folder dataset, yet a bound. */
export const SCAN_LIMITS: ScanLimits = { maxImages: 1_000_000, maxEntries: 2_000_000, maxDepth: 32 };

/** The editor's views: smaller, with a time bound, partial results. */
export const VIEW_SCAN_LIMITS: ScanLimits = {
  maxImages: 200_000,
  maxEntries: 400_000,
  maxDepth: 16,
  timeoutMs: 10_000,
  partial: true,
};

/** Extensions read as images (compared case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif'];

/** A class this many times larger than the smallest one gets a warning. */
export const IMBALANCE_WARNING_RATIO = 5;

const SPLIT_FOLDERS: readonly SplitName[] = ['train', 'val', 'test'];

export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

export async function scanDataset(dir: string, limits: Partial<ScanLimits> = {}): Promise<DatasetScan> {
  const root = path.resolve(dir);
  await assertIsFolder(root);
  const walker = new DatasetWalker(root, { ...SCAN_LIMITS, ...limits });
  try {
    return await walker.scan();
  } catch (error) {
    // "No images", "only one class"… of a scan cut short would mislead: say that it was cut short.
    if (walker.stoppedBy && error instanceof UserError && error !== walker.stopError)
      throw new UserError(`${error.message} (The scan stopped early: ${walker.stoppedBy}.)`, root);
    throw error;
  }
}

async function assertIsFolder(root: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await fs.stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(
        `Dataset folder not found: ${root}. Check the path (dataset.path in an experiment file is relative to that file).`,
        root,
      );
    }
    throw new UserError(
      `Cannot open the dataset folder ${root} (${code ?? String(error)}): check its permissions.`,
      root,
    );
  }
  if (!stats.isDirectory()) {
    throw new UserError(
      `Dataset path is a file, not a folder: ${root}. Point it at the folder that holds one sub-folder of images per class.`,
      root,
    );
  }
}

interface FolderEntry {
  name: string;
  abs: string;
  rel: string;
  /** Reached through a symbolic link (walked after the plain folders, so a link is what gets skipped). */
  viaLink?: boolean;
}
interface FileEntry extends FolderEntry {
  size: number;
  mtimeMs: number;
}
interface Listing {
  folders: FolderEntry[];
  files: FileEntry[];
}

/** One class folder found on disk (a class may have one per split). */
interface ClassFolder {
  className: string;
  split?: SplitName;
  entry: FolderEntry;
  chain: string[];
}

class DatasetWalker {
  private readonly warnings: string[] = [];
  private readonly ignoredFiles: string[] = [];
  /** Real path of every folder entered → the relative path it was first entered by. */
  private readonly visited = new Map<string, string>();
  private readonly looseImages: string[] = [];
  /** The bound that stopped the scan, in words; nothing more is listed once it is set. */
  stoppedBy: string | undefined;
  /** The UserError a scan without `partial` ended with when it reached a bound. */
  stopError: UserError | undefined;
  private entriesSeen = 0;
  private imagesSeen = 0;
  private readonly deadline: number | undefined;

  constructor(
    private readonly root: string,
    private readonly limits: ScanLimits,
  ) {
    this.deadline = limits.timeoutMs !== undefined ? Date.now() + limits.timeoutMs : undefined;
  }

  /** Records the first bound reached; a scan without `partial` ends here with a UserError. */
  private stop(reason: string): void {
    if (this.stoppedBy) return;
    this.stoppedBy = reason;
    if (!this.limits.partial) {
      throw (this.stopError = new UserError(
        `The dataset ${this.root} is too large to scan: ${reason}. Point dataset.path at the folder that ` +
          `holds the class folders, or split the dataset.`,
        this.root,
      ));
    }
  }

  /** Counts one folder's entries against the bounds; false once a bound is reached. */
  private withinBounds(entries: number): boolean {
    if (this.stoppedBy) return false;
    if (this.deadline !== undefined && Date.now() > this.deadline) {
      this.stop(`it took longer than ${Math.round((this.limits.timeoutMs ?? 0) / 1000)} s`);
      return false;
    }
    this.entriesSeen += entries;
    if (this.entriesSeen > this.limits.maxEntries) {
      this.stop(`it holds more than ${this.limits.maxEntries.toLocaleString('en-US')} files and folders`);
      return false;
    }
    return true;
  }

  async scan(): Promise<DatasetScan> {
    const rootReal = await fs.realpath(this.root);
    this.visited.set(rootReal, '.');
    const top = await this.list(this.root, '');
    this.noteLooseFiles(top.files);
    const names = new Set(top.folders.map((f) => f.name));
    const layout: DatasetScan['layout'] = names.has('train') && names.has('val') ? 'split' : 'flat';

    const classFolders: ClassFolder[] = [];
    if (layout === 'flat') {
      if (names.has('train')) {
        this.warnings.push(
          `${this.root} has a train/ folder but no val/ folder, so train/ is read as a class. ` +
            `For a given split, name the validation folder val/.`,
        );
      }
      for (const entry of top.folders) classFolders.push({ className: entry.name, entry, chain: [rootReal] });
    } else {
      for (const entry of top.folders) {
        const split = SPLIT_FOLDERS.find((s) => s === entry.name);
        if (!split) {
          this.warnings.push(
            `Folder "${entry.rel}" is ignored: with train/ and val/ present, only train/, val/ and test/ are read.`,
          );
          continue;
        }
        const splitReal = await this.enter(entry, [rootReal]);
        if (!splitReal) continue;
        const inside = await this.list(entry.abs, entry.rel);
        this.noteLooseFiles(inside.files);
        for (const classEntry of inside.folders) {
          classFolders.push({
            className: classEntry.name,
            split,
            entry: classEntry,
            chain: [rootReal, splitReal],
          });
        }
      }
    }
    if (classFolders.length === 0) throw this.noClassFoldersError(layout);

    const found = new Map<string, { split?: SplitName; file: FileEntry }[]>();
    for (const folder of classFolders) {
      const list = found.get(folder.className) ?? [];
      found.set(folder.className, list);
      const real = await this.enter(folder.entry, folder.chain);
      if (!real) continue;
      for (const file of await this.collectImages(folder.entry, [...folder.chain, real])) {
        list.push({ split: folder.split, file });
      }
    }
    return this.assemble(layout, found, classFolders);
  }

  private assemble(
    layout: DatasetScan['layout'],
    found: Map<string, { split?: SplitName; file: FileEntry }[]>,
    classFolders: ClassFolder[],
  ): DatasetScan {
    const allNames = sortedByCodePoint([...found.keys()], (n) => n);
    const classNames = allNames.filter((n) => (found.get(n) ?? []).length > 0);
    const emptyClasses = allNames.filter((n) => (found.get(n) ?? []).length === 0);
    if (classNames.length === 0) {
      throw new UserError(
        `No images found in ${this.root}: its class folders (${allNames.join(', ')}) hold no ` +
          `${IMAGE_EXTENSIONS.join(' ')} files. Put each class's images in its folder.`,
        this.root,
      );
    }
    if (classNames.length === 1) {
      const only = classFolders.find((f) => f.className === classNames[0]) as ClassFolder;
      const emptyNote =
        emptyClasses.length > 0 ? ` (these class folders have no images: ${emptyClasses.join(', ')})` : '';
      throw new UserError(
        `Only one class found in ${this.root}${emptyNote}: a classifier needs at least two classes: ` +
          `add another folder next to ${only.entry.abs}.`,
        this.root,
      );
    }
    if (emptyClasses.length > 0) {
      this.warnings.push(
        `Class folder(s) without images left out: ${emptyClasses.join(', ')}. Add images or remove the folder.`,
      );
    }

    const countsByClass: Record<string, ClassCounts> = {};
    const images: ImageRef[] = [];
    classNames.forEach((className, classIndex) => {
      const counts: ClassCounts = { train: 0, val: 0, test: 0, total: 0 };
      for (const { split, file } of found.get(className) ?? []) {
        counts.total++;
        if (split) counts[split]++;
        const ref: ImageRef = {
          file: file.rel,
          abs: file.abs,
          classIndex,
          size: file.size,
          mtimeMs: file.mtimeMs,
        };
        if (split) ref.split = split;
        images.push(ref);
      }
      countsByClass[className] = counts;
    });
    for (const className of emptyClasses) countsByClass[className] = { train: 0, val: 0, test: 0, total: 0 };

    if (layout === 'split') this.warnAboutMissingSplits(classNames, countsByClass);
    this.warnAboutImbalance(classNames, countsByClass);
    if (this.stoppedBy) {
      this.warnings.unshift(
        `The scan stopped early: ${this.stoppedBy}. The counts below are only what was found until then.`,
      );
    }
    if (this.looseImages.length > 0) {
      this.warnings.push(
        `${this.looseImages.length} image(s) are not inside a class folder and were ignored ` +
          `(e.g. ${this.looseImages[0]}): move them into the folder of their class.`,
      );
    }
    return {
      root: this.root,
      layout,
      classNames,
      images: sortedByCodePoint(images, (i) => i.file),
      countsByClass,
      emptyClasses,
      ignoredFiles: sortedByCodePoint(this.ignoredFiles, (f) => f),
      warnings: this.warnings,
      ...(this.stoppedBy ? { incomplete: this.stoppedBy } : {}),
    };
  }

  private noClassFoldersError(layout: DatasetScan['layout']): UserError {
    const where = layout === 'split' ? `${this.root}/train and ${this.root}/val` : this.root;
    const loose =
      this.looseImages.length > 0
        ? ` It holds ${this.looseImages.length} image(s) that are not in a class folder.`
        : '';
    return new UserError(
      `No class folders in ${where}.${loose} Put each class's images in its own sub-folder, ` +
        `e.g. ${path.join(layout === 'split' ? path.join(this.root, 'train') : this.root, 'cat')}/1.png.`,
      this.root,
    );
  }

  private warnAboutMissingSplits(classNames: string[], counts: Record<string, ClassCounts>): void {
    const noTrain = classNames.filter((n) => counts[n].train === 0);
    const noVal = classNames.filter((n) => counts[n].val === 0);
    if (noTrain.length > 0) {
      this.warnings.push(
        `No training images for class(es) ${noTrain.join(', ')}: add them under train/<class>/.`,
      );
    }
    if (noVal.length > 0) {
      this.warnings.push(
        `No validation images for class(es) ${noVal.join(', ')}: their validation accuracy cannot be measured; add some under val/<class>/.`,
      );
    }
  }

  private warnAboutImbalance(classNames: string[], counts: Record<string, ClassCounts>): void {
    const bySize = sortedByCodePoint(classNames, (n) => n).sort((a, b) => counts[a].total - counts[b].total);
    const smallest = bySize[0];
    const largest = bySize[bySize.length - 1];
    const ratio = counts[largest].total / counts[smallest].total;
    if (ratio > IMBALANCE_WARNING_RATIO) {
      this.warnings.push(
        `Classes are imbalanced: "${largest}" has ${counts[largest].total} images, "${smallest}" only ` +
          `${counts[smallest].total} (${ratio.toFixed(1)}×). Accuracy can look good while the small class is ` +
          `mostly misclassified; check per-class recall or add images to "${smallest}".`,
      );
    }
  }

  /** Files directly in the root or in train/val/test: not in any class. */
  private noteLooseFiles(files: FileEntry[]): void {
    for (const file of files) {
      if (isImageFileName(file.name)) this.looseImages.push(file.rel);
      else this.ignoredFiles.push(file.rel);
    }
  }

  /** All non-empty images under a class folder, nested sub-folders included. */
  private async collectImages(folder: FolderEntry, chain: string[]): Promise<FileEntry[]> {
    const listing = await this.list(folder.abs, folder.rel);
    const images: FileEntry[] = [];
    for (const file of listing.files) {
      if (!isImageFileName(file.name)) this.ignoredFiles.push(file.rel);
      else if (file.size === 0) this.warnings.push(`${file.rel} is empty (0 bytes) and was skipped.`);
      else if (++this.imagesSeen > this.limits.maxImages) {
        this.stop(`it holds more than ${this.limits.maxImages.toLocaleString('en-US')} images`);
        break;
      } else images.push(file);
    }
    const plainFirst = [
      ...listing.folders.filter((f) => !f.viaLink),
      ...listing.folders.filter((f) => f.viaLink),
    ];
    for (const sub of plainFirst) {
      if (this.stoppedBy) break;
      if (sub.rel.split('/').length > this.limits.maxDepth) {
        this.stop(`${sub.rel} is more than ${this.limits.maxDepth} folders deep`);
        break;
      }
      const real = await this.enter(sub, chain);
      if (real) images.push(...(await this.collectImages(sub, [...chain, real])));
    }
    return images;
  }

  /**
   * Decides whether a folder is walked, by its real path: a folder that is its own ancestor (a symbolic
   * link loop) would be walked forever, and one reached twice through links would count its images
   * twice — both are skipped with a warning. Returns the real path, or undefined to skip.
   */
  private async enter(folder: FolderEntry, chain: string[]): Promise<string | undefined> {
    let real: string;
    try {
      real = await fs.realpath(folder.abs);
    } catch (error) {
      this.warnings.push(`Cannot resolve ${folder.rel} (${(error as NodeJS.ErrnoException).code}); skipped.`);
      return undefined;
    }
    if (chain.includes(real)) {
      this.warnings.push(
        `Symbolic link loop: ${folder.rel} leads back to ${this.visited.get(real) ?? real}; not followed.`,
      );
      return undefined;
    }
    const seenAs = this.visited.get(real);
    if (seenAs !== undefined) {
      this.warnings.push(
        `${folder.rel} is the same folder as ${seenAs} (symbolic link); its images are counted once.`,
      );
      return undefined;
    }
    this.visited.set(real, folder.rel);
    return real;
  }

  /** Non-hidden entries of one folder, following symbolic links, in code-point order. */
  private async list(absDir: string, relDir: string): Promise<Listing> {
    if (!this.withinBounds(0)) return { folders: [], files: [] };
    let entries: Dirent[];
    try {
      entries = await fs.readdir(absDir, { withFileTypes: true });
    } catch (error) {
      this.warnings.push(
        `Cannot read folder ${relDir || '.'} (${(error as NodeJS.ErrnoException).code}); skipped.`,
      );
      return { folders: [], files: [] };
    }
    if (!this.withinBounds(entries.length)) return { folders: [], files: [] };
    const visible = sortedByCodePoint(
      entries.filter((e) => !e.name.startsWith('.')),
      (e) => e.name,
    );
    const resolved = await Promise.all(
      visible.map(async (entry) => {
        const base = {
          name: entry.name,
          abs: path.join(absDir, entry.name),
          rel: relDir ? `${relDir}/${entry.name}` : entry.name,
        };
        if (entry.isDirectory()) return { kind: 'folder' as const, base };
        if (!entry.isFile() && !entry.isSymbolicLink()) return undefined; // sockets, devices, FIFOs
        try {
          const stats = await fs.stat(base.abs); // follows links
          if (stats.isDirectory()) return { kind: 'folder' as const, base: { ...base, viaLink: true } };
          if (!stats.isFile()) return undefined;
          return { kind: 'file' as const, base: { ...base, size: stats.size, mtimeMs: stats.mtimeMs } };
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const what = entry.isSymbolicLink() ? 'Broken symbolic link' : 'Unreadable file';
          this.warnings.push(`${what} ${base.rel} (${code}); skipped.`);
          return undefined;
        }
      }),
    );
    const listing: Listing = { folders: [], files: [] };
    for (const item of resolved) {
      if (item?.kind === 'folder') listing.folders.push(item.base);
      else if (item?.kind === 'file') listing.files.push(item.base as FileEntry);
    }
    return listing;
  }
}
