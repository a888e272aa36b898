/**
 * Gallery thumbnails as `data:` URLs, made in the trainer with sharp: the webview's CSP loads images only
 * from the extension's own bundle or `data:`, and the host never loads sharp. A thumbnail is at most
 * THUMBNAIL_SIZE pixels on its longer side (small images keep their size; the gallery scales them up
 * without smoothing), so 200 of them are a few hundred KB whatever the photos weigh.
 */
import sharp from 'sharp';
import { THUMBNAIL_SIZE } from '../../protocol/dataInsight';
import { MAX_INPUT_PIXELS } from '../data/decodeImages';

/** One thumbnail; undefined when the file cannot be decoded (the gallery then shows a placeholder). */
export async function thumbnailDataUrl(abs: string, size = THUMBNAIL_SIZE): Promise<string | undefined> {
  try {
    const image = sharp(abs, { limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true, failOn: 'error' })
      .rotate()
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb');
    const meta = await sharp(abs, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    // Small images (icons, 32×32 digits) stay lossless; photos are worth a lossy format.
    const small = (meta.width ?? size + 1) <= size && (meta.height ?? size + 1) <= size;
    const buffer = small
      ? await image.png({ palette: true }).toBuffer()
      : await image.webp({ quality: 80 }).toBuffer();
    return `data:image/${small ? 'png' : 'webp'};base64,${buffer.toString('base64')}`;
  } catch {
    return undefined;
  }
}

/** Thumbnails of many files, a few at a time; `files` are keys, `abs` their paths. */
export async function thumbnails(
  entries: { file: string; abs: string }[],
  onProgress?: (done: number, total: number) => void,
  concurrency = 4,
): Promise<Record<string, string>> {
  // No prototype: a file named like an Object property stays a plain key.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const entry = entries[next++];
      const url = await thumbnailDataUrl(entry.abs);
      if (url) out[entry.file] = url;
      onProgress?.(++done, entries.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  return out;
}
