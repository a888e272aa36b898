/**
 * Writes an export folder all at once: every file goes into a hidden staging folder beside the target,
 * which is renamed into place at the end. A failure at any point (a full disk, a refused model, a killed
 * process between two files) leaves the target as it was — absent, or the previous export — never half
 * written. Staging folders of a killed process are hidden (`.<name>.export-…`) and removed by the next
 * export to the same target.
 *
 * What an export may replace: an empty folder, or — with `overwrite` — a folder holding only files an
 * export writes, a model among them (a previous export). Any other file there is the user's, so the export refuses rather than
 * deleting it. Symbolic links are never followed: a link as the target, or inside it, is refused, and a
 * file to copy is read through a descriptor opened without following links (copyRegularFileSync).
 *
 * A replaced export is not deleted here: it is moved aside (`.<name>.export-<writer>-replaced`) and its
 * path returned, so the extension moves it to the trash and the CLI says what it replaced. Staging and
 * replaced folders name their writer (pid and host, files/writerId.ts): only an abandoned one is removed
 * by a later export.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, writeFileDurably } from '../atomicFile';
import { copyRegularFileSync, READ_LIMITS } from '../files/regularFile';
import { isAbandoned, parseWriter, writerSuffix } from '../files/writerId';
import { UserError } from '../userError';

/** One file of an export: its bytes, or a file to copy. */
export type ExportFile = { name: string; data: string | Uint8Array } | { name: string; copyFrom: string };

/** Names of the files an export writes (either format); only these are replaced with `overwrite`. */
const EXPORT_FILE =
  /^(model\.json|model\.onnx|weights(-\d+)?\.bin|labels\.json|preprocessing\.json|README\.md|predict\.js)$/;

export interface ExportFolderOptions {
  /** Replace a previous export in the target folder. */
  overwrite?: boolean;
  /** Test hook: runs after each file is staged (a throw here is a failure in the middle of the export). */
  afterFile?: (name: string) => void;
  /**
   * Keep the replaced export (moved aside beside the target) instead of deleting it; its path is in the
   * result's `replaced`. The caller trashes it (the extension) or removes it after saying so.
   */
  keepReplaced?: boolean;
}

export interface ExportFolderResult {
  /** The written files' paths (in the final folder). */
  files: string[];
  /** Where the replaced previous export now is, when `keepReplaced` asked to keep it. */
  replaced?: string;
  /** Names of the files the previous export held, when one was replaced. */
  replacedFiles: string[];
}

function stagingPrefix(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.export-`);
}

/** Hidden folders of exports to `target` whose writer is gone (same host and dead pid, or a day old). */
function removeStaleStaging(target: string): void {
  const prefix = path.basename(stagingPrefix(target));
  const parent = path.dirname(target);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(parent, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.name.startsWith(prefix) || !entry.isDirectory()) continue;
    const writer = parseWriter(entry.name.slice(prefix.length).replace(/-replaced$/, ''));
    if (!writer) continue;
    const full = path.join(parent, entry.name);
    try {
      if (isAbandoned(writer, fs.lstatSync(full).mtimeMs)) fs.rmSync(full, { recursive: true, force: true });
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/** What is at an export target now. */
export type ExportTargetState =
  | { kind: 'absent' }
  | { kind: 'empty' }
  | { kind: 'previousExport' }
  /** A folder with a file an export does not write (named), or a sub-folder. */
  | { kind: 'foreign'; entry: string }
  | { kind: 'symlink' }
  | { kind: 'file' };

export function exportTargetState(target: string): ExportTargetState {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return { kind: 'absent' };
  }
  if (stat.isSymbolicLink()) return { kind: 'symlink' };
  if (!stat.isDirectory()) return { kind: 'file' };
  return stateOfEntries(fs.readdirSync(target, { withFileTypes: true }));
}

/** exportTargetState without blocking the thread (the extension host's folder choice). */
export async function exportTargetStateAsync(target: string): Promise<ExportTargetState> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(target);
  } catch {
    return { kind: 'absent' };
  }
  if (stat.isSymbolicLink()) return { kind: 'symlink' };
  if (!stat.isDirectory()) return { kind: 'file' };
  return stateOfEntries(await fs.promises.readdir(target, { withFileTypes: true }));
}

function stateOfEntries(entries: fs.Dirent[]): ExportTargetState {
  if (entries.length === 0) return { kind: 'empty' };
  const foreign = entries.find((e) => !e.isFile() || !EXPORT_FILE.test(e.name));
  if (foreign) return { kind: 'foreign', entry: foreign.name };
  // Only files an export writes, one of them a model: an earlier export (a folder with just a README.md
  // is somebody's project).
  const model = entries.find((e) => e.name === 'model.onnx' || e.name === 'model.json');
  return model ? { kind: 'previousExport' } : { kind: 'foreign', entry: entries[0].name };
}

/** Throws a UserError unless the export may (re)place `target`; true when it exists and will be replaced. */
export function checkExportTarget(target: string, overwrite: boolean): boolean {
  const state = exportTargetState(target);
  switch (state.kind) {
    case 'absent':
      return false;
    case 'empty':
      return true;
    case 'symlink':
      throw new UserError(`${target} is a symbolic link; export into a real folder.`, target);
    case 'file':
      throw new UserError(`${target} is a file, not a folder.`, target);
    case 'previousExport':
      if (overwrite) return true;
      throw new UserError(
        `${target} is not empty (it holds an earlier export); export into an empty or new folder, or allow replacing it (--force).`,
        target,
      );
    case 'foreign':
      throw new UserError(
        overwrite
          ? `${target} holds ${state.entry}, which an export does not write: only a folder with a previous export is replaced. Choose an empty or new folder.`
          : `${target} is not empty (it holds ${state.entry}); export into an empty or new folder.`,
        target,
      );
  }
}

/** Writes `files` as the folder `target` (see the file comment). */
export function writeExportFolder(
  target: string,
  files: readonly ExportFile[],
  options: ExportFolderOptions = {},
): ExportFolderResult {
  const resolved = path.resolve(target);
  const replace = checkExportTarget(resolved, options.overwrite ?? false);
  const replacedFiles = replace ? fs.readdirSync(resolved).sort() : [];
  fs.mkdirSync(path.dirname(resolved), { recursive: true });
  removeStaleStaging(resolved);
  const tag = writerSuffix();
  const staging = `${stagingPrefix(resolved)}${tag}`;
  fs.mkdirSync(staging);
  let replaced: string | undefined;
  try {
    for (const file of files) {
      const dest = path.join(staging, file.name);
      if ('data' in file) writeFileDurably(dest, file.data);
      else copyRegularFileSync(file.copyFrom, dest, { maxBytes: READ_LIMITS.weights, noFollow: true });
      options.afterFile?.(file.name);
    }
    fsyncDir(staging);
    if (replace) {
      // The previous export (or empty folder) steps aside, the new one takes its name.
      replaced = `${stagingPrefix(resolved)}${tag}-replaced`;
      fs.renameSync(resolved, replaced);
    }
    try {
      fs.renameSync(staging, resolved);
    } catch (error) {
      if (replaced) fs.renameSync(replaced, resolved);
      replaced = undefined;
      throw error;
    }
    fsyncDir(path.dirname(resolved));
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const written = files.map((f) => path.join(resolved, f.name));
  if (replaced && !options.keepReplaced) {
    fs.rmSync(replaced, { recursive: true, force: true });
    replaced = undefined;
  }
  return { files: written, ...(replaced ? { replaced } : {}), replacedFiles };
}
