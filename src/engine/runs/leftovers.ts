/**
 * What a trainer killed mid-write leaves in the runs folder, and its removal. Every write in the run store
 * is staged (a hidden `.<id>.creating-*` folder renamed into place, `<file>.tmp-<writer>` renamed over the
 * file, a new `weights-*-<writer>.bin` / `tensors-*-<writer>.bin` named by model.json / state.json only
 * once complete), so a kill never corrupts a run — but the staged pieces of the write it interrupted stay.
 * They are removed when a later run starts in the same runs folder, and only when their writer is gone:
 * `<writer>` is the pid and a tag of the host (core/files/writerId.ts), because a dev container and the
 * host around it share the folder but not their pids. A run whose writer's lock is held by a live trainer
 * (core/runs/runLock.ts) is not touched at all.
 *
 * Nothing here follows a symbolic link: only real folders are entered and only real files removed, so a
 * link a cloned repository planted (`model -> ~/.ssh`) is never a way to delete files elsewhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAbandoned, parseWriter } from '../../core/files/writerId';
import { readTextFileSync, READ_LIMITS } from '../../core/files/regularFile';
import { liveLockHolder } from '../../core/runs/runLock';

/** A staging folder older than this cannot be a run folder still being assembled (that takes ms). */
const STALE_STAGING_MS = 10 * 60 * 1000;
/** Subfolders of a run that hold staged binary files, and the JSON file that names the current one. */
const STAGED_BINARIES: Record<string, string> = {
  model: 'model.json',
  'model-last': 'model.json',
  checkpoint: 'state.json',
};
/** `<file>.tmp-<pid>[-<host tag><random>]` */
const TEMP_FILE = /\.tmp-(\d+(?:-[0-9a-f]{16})?)$/;
/** `weights-<time>-<pid>[-<host tag><random>].bin`, the same for tensors */
const STAGED_BINARY = /^(?:weights|tensors)-[0-9a-z]+-(\d+(?:-[0-9a-f]{16})?)\.bin$/;

/** The entries of a real folder (lstat: a link to a folder is not entered). */
function entries(dir: string): fs.Dirent[] {
  try {
    if (!fs.lstatSync(dir).isDirectory()) return [];
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function remove(target: string, removed: string[]): void {
  try {
    fs.rmSync(target, { recursive: true, force: true });
    removed.push(target);
  } catch {
    // Another process may be cleaning up too; whatever is left is tried again next time.
  }
}

/** Whether the staged file `name` (matched by `pattern`) in `dir` belongs to a writer that is gone. */
function abandoned(dir: string, name: string, pattern: RegExp, now: number): boolean {
  const match = name.match(pattern);
  const writer = match ? parseWriter(match[1]) : undefined;
  if (!writer) return false;
  try {
    return isAbandoned(writer, fs.lstatSync(path.join(dir, name)).mtimeMs, now);
  } catch {
    return false;
  }
}

/** `<file>.tmp-<writer>` files of dead writers among `files` (the names of `dir`'s real files). */
function removeTempFiles(dir: string, files: string[], removed: string[], now: number): void {
  for (const name of files) if (abandoned(dir, name, TEMP_FILE, now)) remove(path.join(dir, name), removed);
}

/**
 * Staged binaries of dead writers that the folder's JSON file does not name. The JSON is read only when
 * the folder holds more than one staged binary: a lone one is the current one in every folder our writes
 * leave (the new binary is written before the JSON names it and the old one removed after), and in a
 * folder broken some other way keeping it is the safe choice. That keeps a start in a runs folder of
 * hundreds of finished runs (a sweep's) from reading every run's model.json and state.json.
 */
function removeUnreferencedBinaries(
  dir: string,
  files: string[],
  jsonFile: string,
  removed: string[],
  now: number,
): void {
  const staged = files.filter((name) => STAGED_BINARY.test(name));
  if (staged.length < 2) return;
  let named = '';
  try {
    named = readTextFileSync(path.join(dir, jsonFile), { maxBytes: READ_LIMITS.modelJson, noFollow: true });
  } catch {
    return; // without the file that names the current binary, nothing can be told apart: keep all
  }
  for (const name of staged) {
    if (named.includes(name)) continue;
    if (abandoned(dir, name, STAGED_BINARY, now)) remove(path.join(dir, name), removed);
  }
}

/** The names of the real files in a real folder. */
function fileNames(dir: string): string[] {
  return entries(dir)
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

/** Removes the leftovers of interrupted writes under `runsDir`; returns the paths removed. */
export function removeLeftovers(runsDir: string, now = Date.now()): string[] {
  const removed: string[] = [];
  for (const entry of entries(runsDir)) {
    const full = path.join(runsDir, entry.name);
    if (!entry.isDirectory()) continue;
    if (entry.name.startsWith('.')) {
      if (!entry.name.includes('.creating-')) continue;
      try {
        if (now - fs.lstatSync(full).mtimeMs > STALE_STAGING_MS) remove(full, removed);
      } catch {
        // gone already
      }
      continue;
    }
    // A live trainer (here or on another host) is writing this run: its staged files are its work.
    if (liveLockHolder(full, now)) continue;
    removeTempFiles(full, fileNames(full), removed, now);
    for (const [sub, jsonFile] of Object.entries(STAGED_BINARIES)) {
      const dir = path.join(full, sub);
      const files = fileNames(dir);
      removeTempFiles(dir, files, removed, now);
      removeUnreferencedBinaries(
        dir,
        files.filter((name) => !TEMP_FILE.test(name)),
        jsonFile,
        removed,
        now,
      );
    }
  }
  return removed;
}
