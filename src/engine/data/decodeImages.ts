/**
 * Image files → float pixels (NHWC) in the model's pixel range, with sharp (libvips).
 * What a model sees must not depend on how a photo was saved, so every file goes through the same steps:
 * EXIF orientation applied, alpha dropped, converted to 8-bit sRGB (CMYK JPEGs, 16-bit PNGs, palette
 * GIFs, greyscale files alike), stretched to the model's size, then mapped to `pixelRange`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type sharpModule from 'sharp';
import { readPlainPng } from './plainPng';
import { errorMessage, UserError } from '../../core/userError';
import type { ImageRef } from '../../core/data/scanDataset';

export interface DecodeOptions {
  /** [height, width] */
  imageSize: [number, number];
  channels: 1 | 3;
  /** Pixels 0..255 are mapped linearly onto [lo, hi]. */
  pixelRange: [number, number];
  /** Files decoded at the same time (default 4). */
  concurrency?: number;
}

export interface DecodedImages {
  /** N*H*W*C, NHWC, in `images` order. */
  data: Float32Array;
  /** The refs that decoded, in input order. */
  images: ImageRef[];
  skipped: { file: string; reason: string }[];
}

/**
 * Decompression-bomb guard: a file whose header claims more pixels is refused before any pixel is
 * decoded. 16383 × 16383 ≈ 268 megapixels, sharp's own default — far above any photo a camera or phone
 * takes (a 10000 × 10000 scan still decodes), yet a tiny PNG claiming 100000 × 100000 is stopped.
 * Memory stays small even near the limit because decoding streams (`sequentialRead`) into the resize.
 */
export const MAX_INPUT_PIXELS = 16383 * 16383;

export const DEFAULT_DECODE_CONCURRENCY = 4;

const BMP_REASON = 'BMP is not supported by the image decoder; convert to PNG';

/** One image as H*W*C floats. Throws a UserError naming the file when it cannot be decoded. */
export async function decodeImageFile(abs: string, options: DecodeOptions): Promise<Float32Array> {
  checkOptions(options);
  const [height, width] = options.imageSize;
  const out = new Float32Array(height * width * options.channels);
  try {
    writePixels(await decodeRgb(abs, options), options, out, 0);
  } catch (error) {
    throw new UserError(`Cannot read image ${abs}: ${await describeDecodeError(abs, error)}.`, abs);
  }
  return out;
}

/**
 * Many images into one NHWC array. A file that cannot be decoded (corrupt, truncated, not an image,
 * unsupported format, too large) is left out and listed in `skipped` with the reason; only wrong options
 * or a dataset too large for memory throw. `reuse`, when large enough, holds the pixels instead of a new
 * array (every float of a decoded image is written, so what it held before never shows).
 */
export async function decodeImages(
  refs: ImageRef[],
  options: DecodeOptions,
  onProgress?: (done: number, total: number) => void,
  reuse?: ArrayBuffer,
): Promise<DecodedImages> {
  checkOptions(options);
  const perImage = pixelsPerImage(options);
  const data =
    reuse && reuse.byteLength >= refs.length * perImage * 4
      ? new Float32Array(reuse, 0, refs.length * perImage)
      : allocate(refs.length, perImage, options);
  return decodeAll(refs, options, data, (rgb, offset) => writePixels(rgb, options, data, offset), onProgress);
}

/** decodeImageBytes' answer: the 8-bit RGB values of each image, before the mapping onto pixelRange. */
export interface DecodedImageBytes extends Omit<DecodedImages, 'data'> {
  /** N*H*W*3 bytes, NHWC, in `images` order. */
  data: Uint8Array;
}

/**
 * decodeImages for 3 channels, but the 8-bit values that it maps onto pixelRange: a quarter of the
 * memory, for a caller that maps them itself (bytesToPixels, so the floats are the same bits) straight
 * into where they are needed — the decoding worker's chunks for the activation cache.
 */
export async function decodeImageBytes(
  refs: ImageRef[],
  options: DecodeOptions,
  reuse?: ArrayBuffer,
): Promise<DecodedImageBytes> {
  checkOptions(options);
  if (options.channels !== 3) throw new Error('decodeImageBytes decodes 3 channels only');
  const perImage = pixelsPerImage(options);
  const data =
    reuse && reuse.byteLength >= refs.length * perImage
      ? new Uint8Array(reuse, 0, refs.length * perImage)
      : new Uint8Array(refs.length * perImage);
  return decodeAll(refs, options, data, (rgb, offset) => data.set(rgb, offset));
}

function pixelsPerImage(options: DecodeOptions): number {
  const [height, width] = options.imageSize;
  return height * width * options.channels;
}

/**
 * Decodes each file and hands its 8-bit RGB to `write` with the image's offset in `data`; then closes
 * the gaps the skipped files left, keeping input order.
 */
async function decodeAll<T extends Float32Array | Uint8Array>(
  refs: ImageRef[],
  options: DecodeOptions,
  data: T,
  write: (rgb: Uint8Array, offset: number) => void,
  onProgress?: (done: number, total: number) => void,
): Promise<{ data: T; images: ImageRef[]; skipped: DecodedImages['skipped'] }> {
  const perImage = pixelsPerImage(options);
  const reasons: (string | undefined)[] = new Array(refs.length).fill(undefined);
  const decoded: boolean[] = new Array(refs.length).fill(false);

  let next = 0;
  let done = 0;
  // A small pool, not Promise.all over everything: libvips already uses several threads per image, and
  // thousands of files open at once would exhaust file handles and memory.
  const failures = new Map<number, unknown>();
  const worker = async (): Promise<void> => {
    while (next < refs.length) {
      const index = next++;
      try {
        write(await decodeRgb(refs[index].abs, options), index * perImage);
        decoded[index] = true;
      } catch (error) {
        failures.set(index, error);
      }
      done++;
      onProgress?.(done, refs.length);
    }
  };
  const poolSize = Math.max(
    1,
    Math.min(Math.floor(options.concurrency ?? DEFAULT_DECODE_CONCURRENCY), refs.length),
  );
  await Promise.all(Array.from({ length: poolSize }, worker));

  // libvips keeps error messages in one process-wide buffer, so when several files fail at the same time
  // one failure's message can be lost ("Unknown error"). Those few files are tried again one at a time,
  // which brings back the real reason (or, if the failure was a fluke, the pixels).
  for (const [index, error] of failures) {
    let failure = error;
    if (isMessageLost(error)) {
      try {
        write(await decodeRgb(refs[index].abs, options), index * perImage);
        decoded[index] = true;
        continue;
      } catch (again) {
        failure = again;
      }
    }
    reasons[index] = await describeDecodeError(refs[index].abs, failure);
  }

  const images: ImageRef[] = [];
  const skipped: DecodedImages['skipped'] = [];
  refs.forEach((ref, index) => {
    if (!decoded[index]) {
      skipped.push({ file: ref.file, reason: reasons[index] ?? 'could not be decoded' });
      return;
    }
    if (images.length !== index) {
      data.copyWithin(images.length * perImage, index * perImage, (index + 1) * perImage);
    }
    images.push(ref);
  });
  return {
    data: skipped.length === 0 ? data : (data.slice(0, images.length * perImage) as T),
    images,
    skipped,
  };
}

/** One file's pixels as 8-bit RGB at the model's size. */
async function decodeRgb(abs: string, options: DecodeOptions): Promise<Uint8Array> {
  const [height, width] = options.imageSize;
  // A plain PNG already at this size skips sharp's per-file set-up (the same pixels; see plainPng.ts).
  const plain = await readPlainPng(abs, width, height).catch(() => undefined);
  if (plain) return plain;
  const { data, info } = await loadSharp()(abs, {
    limitInputPixels: MAX_INPUT_PIXELS,
    sequentialRead: true,
    // Refuse truncated or damaged pixel data (a half-grey photo would silently poison training), but
    // accept files with harmless format warnings, as browsers and image viewers do.
    failOn: 'error',
  })
    .rotate() // no angle: apply the EXIF orientation, so a phone photo is upright as its owner saw it
    // 'fill' stretches to exactly width × height, ignoring the aspect ratio, like Keras'
    // image_dataset_from_directory (crop_to_aspect_ratio=False) and Teachable Machine: no crop can cut
    // away the object, and models trained on such data expect it.
    .resize({ width, height, fit: 'fill' })
    // Alpha is dropped, not composited onto a background: this is what Keras/TF do (decode_image with
    // channels=3) and PIL's convert('RGB'), so a model pre-trained with them sees the same colours.
    .removeAlpha()
    // Always 8-bit sRGB: converts CMYK (with its ICC profile), 16-bit, greyscale and palette images.
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(
      `decoder returned ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`,
    );
  }
  return data;
}

/**
 * sharp, loaded on first use: a dataset of plain PNGs (the decoding worker's usual load) never needs its
 * native library, which takes ~50 ms to load — time before the first batch.
 */
let sharpLoaded: typeof sharpModule | undefined;
function loadSharp(): typeof sharpModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sharpLoaded ??= require('sharp') as typeof sharpModule;
  return sharpLoaded;
}

/**
 * 8-bit values → floats in pixelRange, each `lo + v·(hi − lo)/255` in double precision rounded once to
 * float32: the one mapping of the in-memory path, the worker and decodeImageBytes' readers alike.
 */
export function bytesToPixels(
  bytes: Uint8Array,
  [lo, hi]: [number, number],
  target: Float32Array,
  offset = 0,
): void {
  const scale = (hi - lo) / 255;
  for (let i = 0; i < bytes.length; i++) target[offset + i] = lo + bytes[i] * scale;
}

/**
 * 8-bit RGB → floats in pixelRange. One channel is the luma of ITU-R BT.601 (0.299 R + 0.587 G +
 * 0.114 B), the formula of PIL's convert('L') and tf.image.rgb_to_grayscale; a grey pixel keeps its value.
 */
function writePixels(rgb: Uint8Array, options: DecodeOptions, target: Float32Array, offset: number): void {
  if (options.channels === 3) {
    bytesToPixels(rgb, options.pixelRange, target, offset);
    return;
  }
  const [lo, hi] = options.pixelRange;
  const scale = (hi - lo) / 255;
  const pixels = rgb.length / 3;
  for (let p = 0; p < pixels; p++) {
    const grey = 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2];
    target[offset + p] = lo + grey * scale;
  }
}

function allocate(count: number, perImage: number, options: DecodeOptions): Float32Array {
  try {
    return new Float32Array(count * perImage);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const gib = (count * perImage * 4) / 2 ** 30;
    const [height, width] = options.imageSize;
    throw new UserError(
      `The dataset does not fit in memory: ${count} images of ${height}×${width}×${options.channels} need ` +
        `${gib.toFixed(1)} GiB as float32. Use a smaller dataset.imageSize or fewer images.`,
    );
  }
}

function checkOptions(options: DecodeOptions): void {
  const [height, width] = options.imageSize;
  if (![height, width].every((n) => Number.isInteger(n) && n > 0)) {
    throw new UserError(
      `dataset.imageSize must be two positive whole numbers [height, width]; got [${height}, ${width}].`,
    );
  }
  if (options.channels !== 1 && options.channels !== 3) {
    throw new UserError(`Images can be decoded to 1 or 3 channels, not ${String(options.channels)}.`);
  }
  const [lo, hi] = options.pixelRange;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo === hi) {
    throw new UserError(
      `dataset.pixelRange must be two different numbers, e.g. [0, 1] or [-1, 1]; got [${lo}, ${hi}].`,
    );
  }
}

/** A reason a person can act on, from sharp's terse messages. */
async function describeDecodeError(abs: string, error: unknown): Promise<string> {
  const message = errorMessage(error);
  if (/input file is missing/i.test(message) || (error as NodeJS.ErrnoException).code === 'ENOENT') {
    return 'the file no longer exists (moved or deleted after the dataset was scanned?)';
  }
  if (/exceeds pixel limit/i.test(message)) {
    return (
      `it has more than ${Math.round(MAX_INPUT_PIXELS / 1e6)} megapixels, the limit that guards against ` +
      `decompression bombs; downscale it`
    );
  }
  if (/unsupported image format/i.test(message)) {
    if (await looksLikeBmp(abs)) return BMP_REASON;
    return 'not a readable image: the contents are not PNG, JPEG, WebP or GIF (wrong extension, or not an image)';
  }
  if (/premature end|end of stream|truncat|corrupt|invalid|not a .* file|read error|decode/i.test(message)) {
    return `the image data is corrupt or truncated (${message.trim()})`;
  }
  if (isMessageLost(error))
    return 'it could not be decoded (the decoder gave no reason; the file is probably corrupt)';
  return `it could not be decoded (${message.trim()})`;
}

function isMessageLost(error: unknown): boolean {
  return /^\s*unknown error\s*$/i.test(errorMessage(error));
}

/** sharp's prebuilt libvips has no BMP loader; such files are recognised to say so plainly. */
async function looksLikeBmp(abs: string): Promise<boolean> {
  if (path.extname(abs).toLowerCase() === '.bmp') return true;
  try {
    const handle = await fs.open(abs, 'r');
    try {
      const head = Buffer.alloc(2);
      await handle.read(head, 0, 2, 0);
      return head.toString('latin1') === 'BM';
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}
