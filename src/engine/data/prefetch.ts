/**
 * Batches for the training loop and the evaluation, read ahead: while the model trains on batch b, the
 * rows of batches b+1 … b+depth are already being read. With rows in memory that changes nothing; with
 * a decoding worker (datasets over the memory budget) or a file, the images of the next batches are
 * decoded on another thread while this one computes, so the trainer does not wait on sharp.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchRanges } from '../training/tensorData';
import { rowSize, type DataSplit } from './rowStore';

export interface Batch {
  x: tf.Tensor;
  /** One-hot labels, float32. */
  y: tf.Tensor2D;
  labels: Int32Array;
  /** Position of the batch's first row in `order`. */
  start: number;
}

/** Batches read ahead by default: enough to hide one batch's decoding behind one training step. */
export const DEFAULT_PREFETCH_DEPTH = 2;

/**
 * The rows of `split` in `order`, `batchSize` at a time. The caller disposes each batch's tensors.
 * Leaving the loop early (break, throw) abandons the reads still in flight; their errors are ignored.
 */
export async function* prefetchBatches(
  split: DataSplit,
  order: Int32Array,
  batchSize: number,
  numClasses: number,
  depth = DEFAULT_PREFETCH_DEPTH,
): AsyncGenerator<Batch, void, undefined> {
  const ranges = batchRanges(order.length, batchSize);
  const size = rowSize(split.rows.rowShape);
  const read = async (b: number): Promise<Float32Array> => {
    const [start, end] = ranges[b];
    const out = new Float32Array((end - start) * size);
    await split.rows.read(order.subarray(start, end), out);
    return out;
  };
  const pending: Promise<Float32Array>[] = [];
  let requested = 0;
  try {
    for (let b = 0; b < ranges.length; b++) {
      while (requested < ranges.length && requested <= b + depth) pending.push(read(requested++));
      const data = await pending.shift()!;
      const [start, end] = ranges[b];
      const labels = new Int32Array(end - start);
      for (let i = 0; i < labels.length; i++) labels[i] = split.labels[order[start + i]];
      yield {
        x: tf.tensor(data, [end - start, ...split.rows.rowShape]),
        y: tf.tidy(
          () => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses), 'float32') as tf.Tensor2D,
        ),
        labels,
        start,
      };
    }
  } finally {
    for (const abandoned of pending) abandoned.catch(() => undefined);
  }
}
