/**
 * What a trainer killed mid-write leaves in the runs folder, and its removal. Every write in the run store
 * is staged (a hidden `.<id>.creating-*` folder renamed into place, `<file>.tmp-<pid>` renamed over the
 * file, a new `weights-*-<pid>.bin` / `tensors-*-<pid>.bin` named by model.json / state.json only once
 * complete), so a kill never corrupts a run — but the staged pieces of the write it interrupted stay. They
 * are removed when a later run starts in the same runs folder, and only when their writer is gone: a
 * staged file whose pid is alive belongs to a trainer still writing it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive } from '../../core/runs/readRuns';

/** A staging folder older than this cannot be a run folder still being assembled (that takes ms). */
const STALE_STAGING_MS = 10 * 60 * 1000;
/** Subfolders of a run that hold staged binary files, and the JSON file that names the current one. */
const STAGED_BINARIES: Record<string, string> = {
  model: 'model.json',
  'model-last': 'model.json',
  checkpoint: 'state.json',
};
const TEMP_FILE = /\.tmp-(\d+)$/;
const STAGED_BINARY = /^(?:weights|tensors)-[0-9a-z]+-(\d+)\.bin$/;

function entries(dir: string): fs.Dirent[] {
  try {
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

function deadWriter(match: RegExpMatchArray | null): boolean {
  return match !== null && !isProcessAlive(Number(match[1]));
}

/** `<file>.tmp-<pid>` files of dead writers in `dir`. */
function removeTempFiles(dir: string, removed: string[]): void {
  for (const entry of entries(dir)) {
    if (entry.isFile() && deadWriter(entry.name.match(TEMP_FILE)))
      remove(path.join(dir, entry.name), removed);
  }
}

/** Staged binaries of dead writers that the folder's JSON file does not name. */
function removeUnreferencedBinaries(dir: string, jsonFile: string, removed: string[]): void {
  let named = '';
  try {
    named = fs.readFileSync(path.join(dir, jsonFile), 'utf8');
  } catch {
    return; // without the file that names the current binary, nothing can be told apart: keep all
  }
  for (const entry of entries(dir)) {
    if (!entry.isFile() || named.includes(entry.name)) continue;
    if (deadWriter(entry.name.match(STAGED_BINARY))) remove(path.join(dir, entry.name), removed);
  }
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
        if (now - fs.statSync(full).mtimeMs > STALE_STAGING_MS) remove(full, removed);
      } catch {
        // gone already
      }
      continue;
    }
    removeTempFiles(full, removed);
    for (const [sub, jsonFile] of Object.entries(STAGED_BINARIES)) {
      const dir = path.join(full, sub);
      removeTempFiles(dir, removed);
      removeUnreferencedBinaries(dir, jsonFile, removed);
    }
  }
  return removed;
}
