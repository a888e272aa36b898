/**
 * SHA-256 of image files, streamed (memory stays small whatever a file weighs) a few at a time: two
 * files with the same hash are the same bytes — an exact copy, the surest duplicate. A file that cannot be
 * read gets a hash of its own (it matches nothing).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { readFlags } from '../../core/files/regularFile';

/**
 * Hashes `abs` as the regular file it was when opened (non-blocking, fstat), up to its size then: a
 * dataset file that is a link to /dev/zero or a FIFO is unreadable, never read forever.
 */
export async function contentHash(abs: string): Promise<string> {
  const hash = createHash('sha256');
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(abs, readFlags());
    const stats = await handle.stat();
    if (!stats.isFile()) return `unreadable:${abs}:not a regular file`;
    if (stats.size > 0) {
      for await (const chunk of handle.createReadStream({ start: 0, end: stats.size - 1, autoClose: false }))
        hash.update(chunk as Buffer);
    }
    return hash.digest('hex');
  } catch (error) {
    return `unreadable:${abs}:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
  } finally {
    await handle?.close();
  }
}

export async function contentHashes(files: string[], concurrency = 4): Promise<string[]> {
  const out = new Array<string>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      out[i] = await contentHash(files[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}
