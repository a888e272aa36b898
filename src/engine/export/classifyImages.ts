/**
 * Classifies image files with a run's best model, decoding them exactly as training did (the run's image
 * size, pixel range and channels, through decodeImages). An image that cannot be read gets an error in
 * its result; the others are still classified.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { decodeImageFile } from '../data/decodeImages';
import { fileLoadHandler } from '../model/fileModelIO';
import { errorMessage } from '../../core/userError';
import type { RunModel } from '../../core/export/runModel';

export interface ClassScore {
  className: string;
  probability: number;
}

export interface ImagePrediction {
  /** The path as given. */
  file: string;
  /** Best first, `topK` of them; absent when the image could not be read. */
  predictions?: ClassScore[];
  error?: string;
}

const BATCH = 32;

/** Top `topK` classes of each image (a backend must be initialised). */
export async function classifyImages(
  model: RunModel,
  files: readonly string[],
  options: { topK?: number; cwd?: string } = {},
): Promise<ImagePrediction[]> {
  const topK = Math.max(1, Math.min(options.topK ?? 3, model.classNames.length));
  const [height, width] = model.imageSize;
  const perImage = height * width * model.channels;
  const layers = await tfl.loadLayersModel(fileLoadHandler(model.modelJson));
  try {
    const outputUnits = (layers.outputs[0].shape as number[])[1];
    if (outputUnits !== model.classNames.length) {
      throw new Error(
        `The model has ${outputUnits} outputs but labels.json lists ${model.classNames.length} classes.`,
      );
    }
    const results: ImagePrediction[] = files.map((file) => ({ file }));
    const decoded: { index: number; pixels: Float32Array }[] = [];
    for (const [index, file] of files.entries()) {
      try {
        const pixels = await decodeImageFile(path.resolve(options.cwd ?? process.cwd(), file), {
          imageSize: model.imageSize,
          channels: model.channels,
          pixelRange: model.pixelRange,
        });
        decoded.push({ index, pixels });
      } catch (error) {
        results[index].error = errorMessage(error);
      }
    }
    for (let start = 0; start < decoded.length; start += BATCH) {
      const batch = decoded.slice(start, start + BATCH);
      const data = new Float32Array(batch.length * perImage);
      batch.forEach((item, i) => data.set(item.pixels, i * perImage));
      const probabilities = tf.tidy(() => {
        const input = tf.tensor4d(data, [batch.length, height, width, model.channels]);
        return layers.predict(input) as tf.Tensor;
      });
      const values = (await probabilities.data()) as Float32Array;
      probabilities.dispose();
      const classes = model.classNames.length;
      batch.forEach((item, i) => {
        const row = Array.from(values.subarray(i * classes, (i + 1) * classes));
        results[item.index].predictions = row
          .map((probability, c) => ({ className: model.classNames[c], probability }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, topK);
      });
    }
    return results;
  } finally {
    layers.dispose();
  }
}
