/** Decoded images held in memory as one NHWC Float32Array with integer labels, and batch assembly. */
import * as tf from '@tensorflow/tfjs-core';

export interface TensorData {
  /** count × height × width × channels, already mapped to the pixel range. */
  x: Float32Array;
  labels: Int32Array;
  count: number;
  imageShape: [number, number, number];
  /** Path of each image relative to the dataset folder (for summary.json). */
  files: string[];
}

/** Copies the images at `indices` into a batch tensor and one-hot labels. */
export function gatherBatch(
  data: TensorData,
  indices: ArrayLike<number>,
  numClasses: number,
): { x: tf.Tensor4D; y: tf.Tensor2D; labels: Int32Array } {
  const [h, w, c] = data.imageShape;
  const size = h * w * c;
  const x = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    x.set(data.x.subarray(k * size, (k + 1) * size), i * size);
    labels[i] = data.labels[k];
  }
  return {
    x: tf.tensor4d(x, [indices.length, h, w, c]),
    y: tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses), 'float32') as tf.Tensor2D),
    labels,
  };
}

/** Index ranges [start, end) of consecutive batches. */
export function batchRanges(count: number, batchSize: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let start = 0; start < count; start += batchSize)
    ranges.push([start, Math.min(count, start + batchSize)]);
  return ranges;
}
