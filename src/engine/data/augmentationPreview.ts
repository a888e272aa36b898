/**
 * Augmentation preview: a few real training images of an experiment's dataset, decoded exactly as
 * training decodes them (size, channels, pixelRange), passed once through the experiment's augmentation
 * (augmentBatch, the function training uses) and encoded as PNG data URLs, the original beside the
 * augmented one. The images are spread over the classes; the seed picks which images and which random
 * augmentations, so "Shuffle" shows others and the same seed shows the same grid.
 */
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import {
  DEFAULT_PREVIEW_COUNT,
  MAX_PREVIEW_COUNT,
  type AugmentationPreviewImage,
} from '../../protocol/augmentationPreview';
import { loadExperiment } from '../../core/config/loadExperiment';
import { readModelInputChannels } from '../../core/config/modelInputShape';
import { createRng, shuffled, type Rng } from '../../core/rng';
import { UserError } from '../../core/userError';
import { augmentBatch } from './augment';
import { decodeImages } from './decodeImages';
import { scanDataset, type ImageRef } from '../../core/data/scanDataset';
import { splitDataset } from '../../core/data/splitDataset';

export interface AugmentationPreviewOptions {
  experimentPath: string;
  /** Images in the grid (default 12). */
  count?: number;
  /** Which images and which augmentations (default 1). */
  seed?: number;
}

/** Extra candidates decoded in case some files cannot be read. */
const SPARE_CANDIDATES = 6;

export async function previewAugmentation(
  options: AugmentationPreviewOptions,
): Promise<AugmentationPreviewImage[]> {
  const count = Math.max(1, Math.min(MAX_PREVIEW_COUNT, Math.floor(options.count ?? DEFAULT_PREVIEW_COUNT)));
  const seed = options.seed ?? 1;
  const { config } = await loadExperiment(options.experimentPath);
  const scan = await scanDataset(config.dataset.path);
  const split = splitDataset(scan, config.dataset.validationSplit, config.dataset.seed);
  if (split.train.length === 0) {
    throw new UserError(
      `No training images in ${config.dataset.path}: the preview shows training images, and the split leaves none.`,
      options.experimentPath,
    );
  }
  const [height, width] = config.dataset.imageSize;
  const channels = readModelInputChannels(config.baseModel) ?? 3;
  const pixelRange = config.dataset.pixelRange;
  const candidates = spreadOverClasses(
    split.train,
    scan.classNames.length,
    count + SPARE_CANDIDATES,
    createRng(`augmentation-preview:${seed}`),
  );
  const decoded = await decodeImages(candidates, { imageSize: [height, width], channels, pixelRange });
  const n = Math.min(count, decoded.images.length);
  if (n === 0) {
    const reason = decoded.skipped[0] ? `${decoded.skipped[0].file}: ${decoded.skipped[0].reason}` : '';
    throw new UserError(`None of the training images picked for the preview could be read. ${reason}`.trim());
  }
  const perImage = height * width * channels;
  const original = decoded.data.subarray(0, n * perImage);
  const augmented = await augmentedPixels(original, [n, height, width, channels], config, seed);
  const images: AugmentationPreviewImage[] = [];
  for (let i = 0; i < n; i++) {
    const ref = decoded.images[i];
    const at = i * perImage;
    images.push({
      file: ref.file,
      className: scan.classNames[ref.classIndex] ?? '',
      original: await pngDataUrl(original.subarray(at, at + perImage), width, height, channels, pixelRange),
      augmented: await pngDataUrl(augmented.subarray(at, at + perImage), width, height, channels, pixelRange),
    });
  }
  return images;
}

/**
 * Up to `count` images, one class after another (each class in its own random order), so a 12-image grid
 * of a 3-class dataset shows 4 of each. With more classes than images, a random subset of classes.
 */
export function spreadOverClasses(
  images: ImageRef[],
  classCount: number,
  count: number,
  rng: Rng,
): ImageRef[] {
  const byClass = Array.from({ length: classCount }, (_, c) =>
    shuffled(
      images.filter((image) => image.classIndex === c),
      rng,
    ),
  );
  const order = shuffled(
    byClass.map((_, c) => c),
    rng,
  ).filter((c) => byClass[c].length > 0);
  const picked: ImageRef[] = [];
  for (let round = 0; picked.length < count; round++) {
    let added = false;
    for (const c of order) {
      if (round < byClass[c].length && picked.length < count) {
        picked.push(byClass[c][round]);
        added = true;
      }
    }
    if (!added) break;
  }
  return picked;
}

async function augmentedPixels(
  pixels: Float32Array,
  shape: [number, number, number, number],
  config: Awaited<ReturnType<typeof loadExperiment>>['config'],
  seed: number,
): Promise<Float32Array> {
  const x = tf.tensor4d(pixels, shape);
  const y = augmentBatch(x, config.augmentation, config.dataset.pixelRange, createRng(`augment:${seed}`));
  try {
    return (await y.data()) as Float32Array;
  } finally {
    tf.dispose(y === x ? [x] : [x, y]);
  }
}

/** Pixels in pixelRange back to 0..255 (the inverse of the decoder's mapping), as a PNG data URL. */
export async function pngDataUrl(
  pixels: Float32Array,
  width: number,
  height: number,
  channels: number,
  pixelRange: [number, number],
): Promise<string> {
  const [lo, hi] = pixelRange;
  const span = hi - lo || 1;
  const bytes = Buffer.alloc(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    bytes[i] = Math.max(0, Math.min(255, Math.round(((pixels[i] - lo) / span) * 255)));
  }
  const png = await sharp(bytes, { raw: { width, height, channels: channels as 1 | 3 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
