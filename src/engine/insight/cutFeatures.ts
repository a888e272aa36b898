/**
 * The features at the cut — what the new head sees — for every row, with the model's weights as loaded
 * (the pre-trained representation): the basis of the near-duplicate search and the embedding map. On
 * cached activations only the layers between the frozen prefix's boundary and the cut run; a spatial cut
 * is averaged over its rows and columns, as the head's global pooling does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { prefetchBatches } from '../data/prefetch';
import type { DataSplit } from '../data/rowStore';
import type { TrainingModel } from '../model/buildTrainingModel';
import { cutTensor, modelInput, outputIn, runSegment } from './graphSegment';

export interface CutFeatures {
  /** Row-major, count × dim. */
  data: Float32Array;
  dim: number;
  /** The cut layer's path. */
  layer: string;
}

/** `boundary`: the layer path the rows are the output of (the activation cache's), absent for images. */
export async function cutFeatures(
  model: TrainingModel,
  rows: DataSplit,
  boundary: string | undefined,
  batchSize = 64,
): Promise<CutFeatures> {
  const graph = model.model;
  let from: tfl.SymbolicTensor = modelInput(graph);
  if (boundary !== undefined) {
    const layer = [...model.layerPaths].find(([, p]) => p === boundary)?.[0];
    const tensor = layer ? outputIn(graph, layer) : undefined;
    if (!tensor) throw new Error(`The cached boundary "${boundary}" is not a layer of the training model.`);
    from = tensor;
  }
  const to = cutTensor(graph, new Set(model.layerPaths.keys()));
  const dim =
    to.shape.length === 4 ? (to.shape[3] as number) : to.shape.slice(1).reduce((a, b) => a! * b!, 1)!;
  const data = new Float32Array(rows.count * dim);
  const order = Int32Array.from({ length: rows.count }, (_, i) => i);
  for await (const batch of prefetchBatches(rows, order, batchSize, Math.max(2, maxLabel(rows) + 1))) {
    const features = tf.tidy(() => {
      const y = runSegment(graph, from, batch.x, to);
      return y.rank === 4 ? tf.mean(y, [1, 2]) : tf.reshape(y, [y.shape[0], -1]);
    });
    data.set((await features.data()) as Float32Array, batch.start * dim);
    tf.dispose([features, batch.x, batch.y]);
  }
  return { data, dim, layer: model.cutAt };
}

function maxLabel(rows: DataSplit): number {
  let max = 0;
  for (const label of rows.labels) max = Math.max(max, label);
  return max;
}

/**
 * For each of the `queries` rows, the most cosine-similar of the `keys` rows and that similarity, by
 * one matrix product per chunk of queries on the backend.
 */
export async function nearestByCosine(
  features: Float32Array,
  dim: number,
  keys: Int32Array,
  queries: Int32Array,
  chunk = 256,
): Promise<{ best: Int32Array; similarity: Float32Array }> {
  const best = new Int32Array(queries.length).fill(-1);
  const similarity = new Float32Array(queries.length).fill(-1);
  if (keys.length === 0 || queries.length === 0) return { best, similarity };
  const gather = (indices: Int32Array): Float32Array => {
    const out = new Float32Array(indices.length * dim);
    indices.forEach((row, i) => out.set(features.subarray(row * dim, (row + 1) * dim), i * dim));
    return out;
  };
  const normalised = (t: tf.Tensor2D): tf.Tensor2D =>
    tf.div(t, tf.maximum(tf.norm(t, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D;
  const keyMatrix = tf.tidy(() => normalised(tf.tensor2d(gather(keys), [keys.length, dim])));
  try {
    for (let start = 0; start < queries.length; start += chunk) {
      const part = queries.subarray(start, Math.min(queries.length, start + chunk));
      const [values, indices] = tf.tidy(() => {
        const q = normalised(tf.tensor2d(gather(part), [part.length, dim]));
        const sims = tf.matMul(q, keyMatrix, false, true);
        return [tf.max(sims, 1), tf.argMax(sims, 1)] as const;
      });
      const [v, k] = await Promise.all([values.data(), indices.data()]);
      tf.dispose([values, indices]);
      for (let i = 0; i < part.length; i++) {
        similarity[start + i] = v[i];
        best[start + i] = keys[k[i]];
      }
    }
  } finally {
    keyMatrix.dispose();
  }
  return { best, similarity };
}
