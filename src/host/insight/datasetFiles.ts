/**
 * The host's file work for the Data tab, asynchronous and bounded, without vscode (tested in plain Node):
 * resolving an image named by the webview to a file that really is inside the dataset folder (no `..`,
 * no symbolic link out of it), reading a small image as a `data:` URL for the embedding map's preview
 * (the browser decodes it; the host never loads sharp; bounded, regular files only), and telling whether
 * the dataset still is what a run trained on (a bounded scan).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { datasetFingerprint } from '../../core/data/fingerprint';
import { SCAN_LIMITS, scanDataset, type ScanLimits } from '../../core/data/scanDataset';
import { isFileReadError, readRegularFile } from '../../core/files/regularFile';
import { isInsidePath } from '../../core/insight/moveTarget';

/** Images up to this size are previewed as they are; larger ones only through Open. */
export const MAX_PREVIEW_BYTES = 4 * 2 ** 20;

/** Is `child` (an absolute path) inside `parent` (or equal to it, with `orSame`)? */
export function isWithin(parent: string, child: string, orSame = false): boolean {
  const relative = path.relative(parent, child);
  if (relative === '') return orSame;
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * The absolute path of `file` in `datasetDir` when it is inside it — its real path (links resolved)
 * included — and exists; otherwise why not.
 */
export async function resolveInDataset(
  datasetDir: string,
  file: string,
): Promise<{ abs: string } | { problem: 'outside' | 'missing' }> {
  if (!isInsidePath(file)) return { problem: 'outside' };
  const abs = path.resolve(datasetDir, ...file.split('/'));
  if (!isWithin(datasetDir, abs)) return { problem: 'outside' };
  let root: string;
  let real: string;
  try {
    root = await fs.realpath(datasetDir);
    real = await fs.realpath(abs);
  } catch {
    return { problem: 'missing' };
  }
  return isWithin(root, real) ? { abs } : { problem: 'outside' };
}

/** The path `file` would have in `datasetDir` (not checked for existence), or undefined when outside. */
export function datasetPath(datasetDir: string, file: string): string | undefined {
  if (!isInsidePath(file)) return undefined;
  const abs = path.resolve(datasetDir, ...file.split('/'));
  return isWithin(datasetDir, abs) ? abs : undefined;
}

export async function pathExists(abs: string): Promise<boolean> {
  try {
    await fs.lstat(abs);
    return true;
  } catch {
    return false;
  }
}

/** The MIME type of an image the browser shows, from its first bytes (not its name). */
export function sniffImageType(head: Uint8Array): string | undefined {
  const ascii = (from: number, to: number): string => String.fromCharCode(...head.subarray(from, to));
  if (head[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(0, 2) === 'BM') return 'image/bmp';
  return undefined;
}

/**
 * A `data:` URL of the image file, or why there is none (too large, not a regular file, not a known image
 * format). Read like every workspace file (core/files/regularFile): opened non-blocking, a regular file
 * only, with a byte cap — a FIFO named like an image never holds one of libuv's threads.
 */
export async function imageDataUrl(
  abs: string,
  maxBytes = MAX_PREVIEW_BYTES,
): Promise<{ dataUrl: string } | { error: string }> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(abs, { maxBytes });
  } catch (error) {
    if (!isFileReadError(error)) throw error;
    if (error.reason === 'too large') {
      const size = await fs.stat(abs).then(
        (stats) => `${(stats.size / 2 ** 20).toFixed(1)} MiB is`,
        () => 'It is',
      );
      return { error: `${size} too large to preview here: open it instead.` };
    }
    if (error.reason === 'not a regular file' || error.reason === 'a folder') return { error: 'not a file' };
    return { error: `cannot read it (${error.detail ?? error.reason})` };
  }
  const type = sniffImageType(bytes.subarray(0, 16));
  if (!type) return { error: 'not a PNG, JPEG, GIF, WebP or BMP image' };
  return { dataUrl: `data:${type};base64,${bytes.toString('base64')}` };
}

/**
 * The bounds of the dataset comparison the Data tab makes on the extension host: the training scan's
 * caps on images, entries and depth, and a time bound, so a run.json whose dataset path names a huge
 * folder cannot keep the host's I/O busy; a comparison cut short says so instead of answering.
 */
export const MATCH_SCAN_LIMITS: ScanLimits = { ...SCAN_LIMITS, timeoutMs: 30_000 };

/** Whether the dataset folder's fingerprint now equals the one a run recorded (DESIGN.md run.json). */
export async function datasetMatches(
  datasetDir: string,
  fingerprint: string,
  limits: ScanLimits = MATCH_SCAN_LIMITS,
): Promise<boolean> {
  const scan = await scanDataset(datasetDir, limits);
  return datasetFingerprint(scan) === fingerprint;
}
