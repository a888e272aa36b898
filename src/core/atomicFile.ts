/**
 * Durable, atomic file writes (temp file + fsync + rename + fsync of the folder): a reader — or a crash,
 * or a power cut — sees the old content or the new, never half of it. A write that fails (disk full,
 * quota, read-only) removes what it had written, so a full disk is not filled further by half files. No
 * TensorFlow.js import, so the extension host can use it too.
 *
 * New files are created with O_EXCL | O_NOFOLLOW: a name planted in advance (a cloned repository may hold
 * `run.json.tmp-1234` as a link to ~/.bashrc) makes the write fail instead of writing through the link.
 * Temp names carry the writer (pid and host, files/writerId.ts: leftovers.ts removes those of dead
 * writers) and a random part (a pid reused after a crash never collides with its predecessor's leftover).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exclusiveWriteFlags } from './files/regularFile';
import { writerSuffix } from './files/writerId';

/**
 * Creates `file` (which must not exist: O_EXCL, and never through a link) with `data`, fsynced. A failed
 * write removes the half file.
 */
export function writeFileDurably(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, exclusiveWriteFlags(), 0o644);
  try {
    // writeFileSync on a descriptor loops until every byte is written (a short write is retried, not lost).
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

/**
 * Makes a rename (or a new file) in `dir` durable: without this, a power cut after rename can leave the
 * folder entry pointing at the old file. Windows cannot open a folder for fsync; NTFS journals renames.
 */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY);
  } catch {
    return; // Windows (EISDIR / EPERM): nothing to do there
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    // Some file systems (and Windows) refuse fsync on a folder; the data itself is already on disk.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'EBADF') throw error;
  } finally {
    fs.closeSync(fd);
  }
}

/** `<file>.tmp-<pid>-<host tag><random>`: leftovers.ts tells a dead writer's by pid and host. */
export function tempNameFor(file: string): string {
  return `${file}.tmp-${writerSuffix()}`;
}

/** `<prefix>-<time>-<pid>-<host tag><random>.bin`: a staged binary that a JSON file names once complete. */
export function stagedBinaryName(prefix: 'weights' | 'tensors'): string {
  return `${prefix}-${Date.now().toString(36)}-${writerSuffix()}.bin`;
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tempNameFor(file);
  writeFileDurably(tmp, data);
  try {
    // rename replaces a link at `file` itself; it never writes through it.
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(path.dirname(file));
}

/** fsyncDir without blocking the thread (the extension host). */
export async function fsyncDirAsync(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(dir, fs.constants.O_RDONLY);
  } catch {
    return; // Windows (EISDIR / EPERM): nothing to do there
  }
  try {
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'EBADF') throw error;
  } finally {
    await handle.close();
  }
}

/** writeFileAtomic without blocking the thread (the extension host): same O_EXCL temp file, fsyncs and rename. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempNameFor(file);
  const handle = await fs.promises.open(tmp, exclusiveWriteFlags(), 0o644);
  try {
    // FileHandle.writeFile loops until every byte is written.
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw error;
  }
  await fsyncDirAsync(path.dirname(file));
}

/** Error codes that mean "the disk cannot take this write", which retrying will not fix. */
const NO_ROOM: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission was denied',
  EPERM: 'permission was denied',
  EFBIG: 'the file is too large for the file system',
};

/** Why a write failed, in words, when it is a disk problem the user must fix; undefined otherwise. */
export function diskProblem(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ? NO_ROOM[code] : undefined;
}
