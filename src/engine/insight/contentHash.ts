/**
 * SHA-256 of image files, streamed (memory stays small whatever a file weighs) a few at a time: two
 * files with the same hash are the same bytes — an exact copy, the surest duplicate. A file that cannot be
 * read gets a hash of its own (it matches nothing).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function contentHash(abs: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } catch (error) {
    return `unreadable:${abs}:${(error as NodeJS.ErrnoException).code ?? 'error'}`;
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
