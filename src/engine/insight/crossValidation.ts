/**
 * Out-of-sample predicted probabilities for every image by K-fold training: the images (training and
 * validation together) are dealt into K stratified folds; for each fold the model starts again from the
 * same weights (pre-trained layers as loaded, a freshly drawn head), trains on the other K − 1 folds with
 * the experiment's training loop, and predicts the fold it never saw. On cached activations of the frozen
 * layers this is the head alone, seconds for thousands of images.
 *
 * Early stopping is off (the caller's config says so): a fold that picked its epoch by the images it
 * then predicts would not predict them out of sample. Watching a part of the fold's own training images
 * instead was tried: on small datasets it stops too early and the probabilities get worse.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { EpochMetrics } from '../../protocol/runRecord';
import { prefetchBatches } from '../data/prefetch';
import { subsetRows, type DataSplit, type RowStore } from '../data/rowStore';
import type { TrainingModel } from '../model/buildTrainingModel';
import { fit } from '../training/trainLoop';
import { seedMathRandom } from '../../core/rng';
import { UserError } from '../../core/userError';

export interface CrossValidationArgs {
  model: TrainingModel;
  /** The model on the rows (the part after the frozen prefix on cached activations). */
  forward: (x: tf.Tensor, training: boolean) => tf.Tensor;
  rows: DataSplit;
  numClasses: number;
  config: ExperimentConfig;
  /** fold[i] ∈ [0, k) per row. */
  folds: Int32Array;
  k: number;
  signal?: AbortSignal;
  /** Before each fold trains (0-based fold). */
  onFold?(fold: number, k: number): void;
  onEpoch?(fold: number, metrics: EpochMetrics): void;
}

/** Row i of `split` is the store's row `indices[i]`. */
export function subsetSplit(split: DataSplit, indices: Int32Array): DataSplit {
  return {
    rows: subsetRows(split.rows, indices),
    labels: Int32Array.from(indices, (i) => split.labels[i]),
    files: Array.from(indices, (i) => split.files[i]),
    count: indices.length,
  };
}

/** The rows of `a` followed by those of `b` (same row shape), as one split. */
export function concatSplits(a: DataSplit, b: DataSplit): DataSplit {
  const size = a.rows.rowShape.reduce((x, y) => x * y, 1);
  const rows: RowStore = {
    rowShape: a.rows.rowShape,
    async read(indices, out) {
      const fromA: number[] = [];
      const fromB: number[] = [];
      for (let i = 0; i < indices.length; i++) (indices[i] < a.count ? fromA : fromB).push(i);
      const bufA = new Float32Array(fromA.length * size);
      const bufB = new Float32Array(fromB.length * size);
      await a.rows.read(
        fromA.map((i) => indices[i]),
        bufA,
      );
      await b.rows.read(
        fromB.map((i) => indices[i] - a.count),
        bufB,
      );
      fromA.forEach((i, j) => out.set(bufA.subarray(j * size, (j + 1) * size), i * size));
      fromB.forEach((i, j) => out.set(bufB.subarray(j * size, (j + 1) * size), i * size));
    },
  };
  const labels = new Int32Array(a.count + b.count);
  labels.set(a.labels, 0);
  labels.set(b.labels, a.count);
  return { rows, labels, files: [...a.files, ...b.files], count: a.count + b.count };
}

/** Probabilities of `split`'s rows under `forward` (inference mode), row-major count × numClasses. */
export async function predictRows(
  forward: (x: tf.Tensor, training: boolean) => tf.Tensor,
  split: DataSplit,
  numClasses: number,
  batchSize = 64,
): Promise<Float32Array> {
  const out = new Float32Array(split.count * numClasses);
  const order = Int32Array.from({ length: split.count }, (_, i) => i);
  for await (const batch of prefetchBatches(split, order, batchSize, numClasses)) {
    const probs = tf.tidy(() => forward(batch.x, false));
    out.set((await probs.data()) as Float32Array, batch.start * numClasses);
    tf.dispose([probs, batch.x, batch.y]);
  }
  return out;
}

export async function crossValidatedProbabilities(args: CrossValidationArgs): Promise<Float32Array> {
  const { model, rows, numClasses, config, folds, k } = args;
  const probabilities = new Float32Array(rows.count * numClasses);
  const initial = model.model.getWeights().map((w) => w.clone());
  try {
    for (let fold = 0; fold < k; fold++) {
      args.signal?.throwIfAborted();
      args.onFold?.(fold, k);
      const restored = initial.map((w) => w.clone());
      model.model.setWeights(restored);
      tf.dispose(restored);
      const trainIndex: number[] = [];
      const heldIndex: number[] = [];
      for (let i = 0; i < rows.count; i++) (folds[i] === fold ? heldIndex : trainIndex).push(i);
      const train = subsetSplit(rows, Int32Array.from(trainIndex));
      const held = subsetSplit(rows, Int32Array.from(heldIndex));
      // Dropout masks and anything else drawn from Math.random: seeded per fold, so a rerun agrees.
      const restoreRandom = seedMathRandom(`label-issues:${config.training.seed}:${fold}`);
      let result;
      try {
        result = await fit({
          model,
          train,
          // Only reported (held-out loss per epoch): with early stopping off nothing depends on it.
          val: held,
          forward: args.forward,
          numClasses,
          config: { ...config, training: { ...config.training, earlyStopping: false } },
          emit: (event) => {
            if (event.type === 'afterEpoch') args.onEpoch?.(fold, event.metrics);
          },
          signal: args.signal,
          onBest: async () => {},
          onEpoch: () => {},
        });
      } finally {
        restoreRandom();
      }
      tf.dispose(result.bestWeights ?? []);
      if (result.status === 'stopped') args.signal?.throwIfAborted();
      if (result.status === 'failed') {
        throw new UserError(`Fold ${fold + 1} of ${k}: ${result.error ?? result.endReason}`);
      }
      const predicted = await predictRows(args.forward, held, numClasses);
      heldIndex.forEach((row, j) =>
        probabilities.set(predicted.subarray(j * numClasses, (j + 1) * numClasses), row * numClasses),
      );
    }
    return probabilities;
  } finally {
    model.model.setWeights(initial);
    tf.dispose(initial);
  }
}
