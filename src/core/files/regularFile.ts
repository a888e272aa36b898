/**
 * Reading a file a workspace contains, which a cloned repository may have made hostile: a symbolic link
 * to /dev/zero (git checks links out) would make a plain readFile read forever, a FIFO would block the
 * thread that opens it until someone writes, and a 5 GiB "run.json" would fill the memory. So every read
 * here opens the file non-blocking (a FIFO opens at once), fstats the descriptor it got (no race with a
 * swapped path), requires a regular file and reads at most `maxBytes` from that descriptor. With
 * `noFollow` the last path component must not be a symbolic link either (files we write ourselves — run
 * folders, model folders — are never links, so one there is somebody else's doing).
 *
 * Every refusal is a FileReadError with a short reason in words ("too large", "not a regular file"), so
 * each reader can say "run.json is unreadable (too large)" without knowing errno codes.
 */
import * as fs from 'node:fs';

const MiB = 1024 * 1024;

/** Byte caps per kind of file, each far above anything Fine-Tune writes or a real model needs. */
export const READ_LIMITS = {
  /** run.json: a record, its config snapshot and warnings. */
  runRecord: 16 * MiB,
  /** metrics.jsonl: ~300 bytes an epoch. */
  metrics: 64 * MiB,
  /** summary.json: the confusion matrix and one prediction per validation image. */
  summary: 128 * MiB,
  /** model.json: topology and weights manifest (the weights are in .bin files). */
  modelJson: 64 * MiB,
  /** *.finetune.json, labels.json, notes, small JSON files. */
  smallJson: 8 * MiB,
  /** One weights shard of a model (a .bin file). */
  weights: 2048 * MiB,
  /** A checkpoint's tensors file (model weights, best weights and optimizer moments). */
  checkpointTensors: 4096 * MiB,
} as const;

export type FileReadReason =
  'missing' | 'too large' | 'not a regular file' | 'a symbolic link' | 'a folder' | 'unreadable';

/** Why a file could not be read, in a form every caller can put into its own sentence. */
export class FileReadError extends Error {
  constructor(
    readonly file: string,
    readonly reason: FileReadReason,
    /** errno code or size detail, for the message. */
    readonly detail?: string,
  ) {
    super(
      `${file} is ${reason === 'missing' ? 'missing' : `unreadable (${reason})`}${detail ? ` — ${detail}` : ''}`,
    );
    this.name = 'FileReadError';
  }
}

export function isFileReadError(error: unknown): error is FileReadError {
  return error instanceof FileReadError;
}

export interface ReadOptions {
  /** Largest number of bytes accepted; a longer file is "too large". */
  maxBytes: number;
  /** Refuse a symbolic link as the last path component (ELOOP from O_NOFOLLOW). */
  noFollow?: boolean;
}

const { O_RDONLY } = fs.constants;
// Not defined on Windows, where FIFOs and device links are not what a checkout produces.
const O_NONBLOCK = (fs.constants as { O_NONBLOCK?: number }).O_NONBLOCK ?? 0;
const O_NOFOLLOW = (fs.constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;

/** The open(2) flags for reading a workspace file. */
export function readFlags(noFollow = false): number {
  return O_RDONLY | O_NONBLOCK | (noFollow ? O_NOFOLLOW : 0);
}

function openError(file: string, error: unknown, noFollow: boolean): FileReadError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FileReadError(file, 'missing');
  if (code === 'ELOOP' && noFollow) return new FileReadError(file, 'a symbolic link');
  if (code === 'EISDIR') return new FileReadError(file, 'a folder');
  // ENXIO: a socket or a device without a driver; EACCES/EPERM: permissions.
  return new FileReadError(file, 'unreadable', code ?? String(error));
}

function checkStat(file: string, stat: fs.Stats, maxBytes: number): void {
  if (stat.isDirectory()) throw new FileReadError(file, 'a folder');
  if (!stat.isFile()) throw new FileReadError(file, 'not a regular file');
  if (stat.size > maxBytes) throw tooLarge(file, maxBytes);
}

function tooLarge(file: string, maxBytes: number): FileReadError {
  return new FileReadError(file, 'too large', `over ${formatBytes(maxBytes)}`);
}

function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${Math.round(bytes / MiB)} MiB` : `${bytes} bytes`;
}

/** Windows has no O_NOFOLLOW: the link is refused by an lstat first (a race there is not a checkout's doing). */
function refuseLinkWithoutNoFollow(file: string, noFollow: boolean): void {
  if (!noFollow || O_NOFOLLOW !== 0) return;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    throw openError(file, error, noFollow);
  }
  if (stat.isSymbolicLink()) throw new FileReadError(file, 'a symbolic link');
}

/** Opens `file` for reading as the synchronous readers do: a regular file within `maxBytes`, or FileReadError. */
function openCheckedSync(file: string, maxBytes: number, noFollow: boolean): number {
  refuseLinkWithoutNoFollow(file, noFollow);
  let fd: number;
  try {
    fd = fs.openSync(file, readFlags(noFollow));
  } catch (error) {
    throw openError(file, error, noFollow);
  }
  try {
    checkStat(file, fs.fstatSync(fd), maxBytes);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

/** Reads a regular file of at most `maxBytes` (see the file comment); throws FileReadError otherwise. */
export function readRegularFileSync(file: string, options: ReadOptions): Buffer {
  const fd = openCheckedSync(file, options.maxBytes, options.noFollow ?? false);
  try {
    // The size fstat gave may be wrong (files under /proc say 0, a file may grow): read until end of file,
    // but never more than maxBytes + 1.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 * MiB, options.maxBytes + 1 - total));
      let read: number;
      try {
        read = fs.readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        throw new FileReadError(file, 'unreadable', (error as NodeJS.ErrnoException).code);
      }
      if (read === 0) break;
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
      total += read;
      if (total > options.maxBytes) throw tooLarge(file, options.maxBytes);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** The asynchronous readRegularFileSync, for the extension host's thread. */
export async function readRegularFile(file: string, options: ReadOptions): Promise<Buffer> {
  const noFollow = options.noFollow ?? false;
  if (noFollow && O_NOFOLLOW === 0) {
    const stat = await fs.promises.lstat(file).catch((error: unknown) => {
      throw openError(file, error, noFollow);
    });
    if (stat.isSymbolicLink()) throw new FileReadError(file, 'a symbolic link');
  }
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, readFlags(noFollow));
  } catch (error) {
    throw openError(file, error, noFollow);
  }
  try {
    checkStat(file, await handle.stat(), options.maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 * MiB, options.maxBytes + 1 - total));
      let read: number;
      try {
        ({ bytesRead: read } = await handle.read(chunk, 0, chunk.length, null));
      } catch (error) {
        throw new FileReadError(file, 'unreadable', (error as NodeJS.ErrnoException).code);
      }
      if (read === 0) break;
      chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
      total += read;
      if (total > options.maxBytes) throw tooLarge(file, options.maxBytes);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

export function readTextFileSync(file: string, options: ReadOptions): string {
  return readRegularFileSync(file, options).toString('utf8');
}

export async function readTextFile(file: string, options: ReadOptions): Promise<string> {
  return (await readRegularFile(file, options)).toString('utf8');
}

/**
 * Copies a regular file without following a link at `source` and with a byte cap, to `dest`, which must
 * not exist yet (O_EXCL: never through a link planted at the destination either). Data goes through the
 * descriptor that was checked, so a path swapped after the check is not what gets copied.
 */
export function copyRegularFileSync(source: string, dest: string, options: ReadOptions): number {
  const input = openCheckedSync(source, options.maxBytes, options.noFollow ?? true);
  try {
    const output = fs.openSync(dest, exclusiveWriteFlags());
    let total = 0;
    try {
      const chunk = Buffer.allocUnsafe(4 * MiB);
      for (;;) {
        const read = fs.readSync(input, chunk, 0, chunk.length, null);
        if (read === 0) break;
        total += read;
        if (total > options.maxBytes) throw tooLarge(source, options.maxBytes);
        let written = 0;
        while (written < read) written += fs.writeSync(output, chunk, written, read - written);
      }
      fs.fsyncSync(output);
    } catch (error) {
      fs.closeSync(output);
      fs.rmSync(dest, { force: true });
      throw error;
    }
    fs.closeSync(output);
    return total;
  } finally {
    fs.closeSync(input);
  }
}

/** open(2) flags for a new file we write: created here (O_EXCL), so never a link or file planted before. */
export function exclusiveWriteFlags(): number {
  const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
  return O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
}
