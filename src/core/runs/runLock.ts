/**
 * The writer's lock of a run folder (`<run>/.writer.lock`): one trainer writes a run at a time. A new run
 * is created holding it, and Resume takes it before touching the folder, so two windows (or a window and a
 * terminal) cannot resume the same run and interleave their epochs. The lock file is created with O_EXCL
 * and names its holder's host and pid (files/writerId.ts), so a lock left by a killed trainer is taken
 * over — by this host when the pid is gone; a lock of another host only when it is older than a day, as
 * that host's processes cannot be seen from here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exclusiveWriteFlags, readTextFile, readTextFileSync } from '../files/regularFile';
import { FOREIGN_STALE_MS, HOST_TAG, isProcessAlive } from '../files/writerId';
import { UserError } from '../userError';
import * as os from 'node:os';

export const RUN_LOCK_FILE = '.writer.lock';

export interface RunLockHolder {
  host: string;
  hostTag: string;
  pid: number;
  since: string;
}

/** Who holds the run's lock now, when a live writer does; undefined when free or abandoned. */
export function liveLockHolder(runDir: string, now = Date.now()): RunLockHolder | undefined {
  const file = path.join(runDir, RUN_LOCK_FILE);
  let holder: Partial<RunLockHolder>;
  let mtimeMs: number;
  try {
    mtimeMs = fs.lstatSync(file).mtimeMs;
    holder = JSON.parse(readTextFileSync(file, { maxBytes: 4096, noFollow: true })) as Partial<RunLockHolder>;
  } catch {
    return undefined; // none, or not a lock we wrote: nobody holds it
  }
  return liveHolderOf(holder, mtimeMs, now);
}

/** liveLockHolder without blocking the thread (the extension host). */
export async function liveLockHolderAsync(
  runDir: string,
  now = Date.now(),
): Promise<RunLockHolder | undefined> {
  const file = path.join(runDir, RUN_LOCK_FILE);
  let holder: Partial<RunLockHolder>;
  let mtimeMs: number;
  try {
    mtimeMs = (await fs.promises.lstat(file)).mtimeMs;
    holder = JSON.parse(
      await readTextFile(file, { maxBytes: 4096, noFollow: true }),
    ) as Partial<RunLockHolder>;
  } catch {
    return undefined;
  }
  return liveHolderOf(holder, mtimeMs, now);
}

function liveHolderOf(
  holder: Partial<RunLockHolder>,
  mtimeMs: number,
  now: number,
): RunLockHolder | undefined {
  if (typeof holder !== 'object' || holder === null || typeof holder.pid !== 'number') return undefined;
  const full = holder as RunLockHolder;
  if (full.hostTag === HOST_TAG) return isProcessAlive(full.pid) ? full : undefined;
  return now - mtimeMs <= FOREIGN_STALE_MS ? full : undefined;
}

function lockText(): string {
  const holder: RunLockHolder = {
    host: os.hostname(),
    hostTag: HOST_TAG,
    pid: process.pid,
    since: new Date().toISOString(),
  };
  return `${JSON.stringify(holder)}\n`;
}

/** Writes a new lock file in a folder that has none (the staging folder of a new run). */
export function writeRunLock(dir: string): void {
  const fd = fs.openSync(path.join(dir, RUN_LOCK_FILE), exclusiveWriteFlags(), 0o644);
  try {
    fs.writeSync(fd, lockText());
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Takes the lock of an existing run folder for this process; a UserError when a live writer holds it. An
 * abandoned lock (its holder gone) is replaced.
 */
export function acquireRunLock(runDir: string, runName = path.basename(runDir)): void {
  const file = path.join(runDir, RUN_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeRunLock(runDir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = liveLockHolder(runDir);
    if (holder?.pid === process.pid && holder.hostTag === HOST_TAG) return;
    if (holder) {
      throw new UserError(
        `Run ${runName} is being written by another trainer (process ${holder.pid} on ${holder.host}, since ${holder.since}): ` +
          'wait for it to end or stop it there, then resume.',
        runDir,
      );
    }
    // Abandoned: remove it (unlink removes a link itself, never its target) and try again.
    fs.rmSync(file, { force: true });
  }
  throw new UserError(
    `Cannot take the lock of run ${runName} (${file}): another process keeps taking it.`,
    file,
  );
}

/** Gives the lock back, when this process holds it. */
export function releaseRunLock(runDir: string): void {
  const file = path.join(runDir, RUN_LOCK_FILE);
  try {
    const holder = JSON.parse(
      readTextFileSync(file, { maxBytes: 4096, noFollow: true }),
    ) as Partial<RunLockHolder>;
    if (holder.pid === process.pid && holder.hostTag === HOST_TAG) fs.rmSync(file, { force: true });
  } catch {
    // none, or not ours
  }
}
