/**
 * Durable, atomic file writes (temp file + fsync + rename): a reader — or a crash — sees the old content
 * or the new, never half of it. A write that fails (disk full, quota, read-only) removes what it had
 * written, so a full disk is not filled further by half files. No TensorFlow.js import, so the extension
 * host can use it too.
 */
import * as fs from 'node:fs';

export function writeFileDurably(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileDurably(tmp, data);
  try {
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
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
