/**
 * Epoch checkpoints (`<runDir>/checkpoint/`), what Resume continues from: the model's weights, the best
 * epoch's weights, every optimizer's state, the early-stopping tracker, the history and the random
 * generators' states — everything the training loop carries from one epoch to the next, so a resumed run
 * draws the same numbers and produces the same metrics as one that was never interrupted. How it is
 * written to disk and read back: checkpointFiles.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EpochMetrics } from '../../protocol/runRecord';
import type { RngState } from '../../core/rng';
import { CHECKPOINT_DIR } from '../../core/runs/resumable';
import type { TrackerState } from './earlyStopping';

export { CHECKPOINT_DIR };

type DType = 'float32' | 'int32' | 'bool';

/** A tensor's values, read out of the backend. */
export interface SavedTensor {
  name?: string;
  shape: number[];
  dtype: DType;
  data: Float32Array | Int32Array | Uint8Array;
  /**
   * The identity of the backend data it was read from (the tensor's dataId). The checkpoint files use it
   * to tell a tensor they have already written (checkpointFiles.ts); absent for tensors read from disk.
   */
  origin?: object;
}

/** One optimizer: its own weights (`getWeights`: iterations, moments…) and scalar variables it keeps aside. */
export interface OptimizerState {
  weights: SavedTensor[];
  /**
   * Scalar variables outside getWeights — Adam's running β powers. tfjs' setWeights recomputes them as
   * β^(t+1), which differs in the last bits from the product the uninterrupted run accumulated.
   */
  scalars: Record<string, number>;
}

export interface FitCheckpoint {
  /** The last completed epoch (1-based). */
  epoch: number;
  history: EpochMetrics[];
  tracker: TrackerState;
  best?: EpochMetrics;
  /** The loop's generator (shuffling, augmentation, mixing). */
  rng: RngState;
  /** The generator behind Math.random while the run trains (dropout masks, initialisers). */
  mathRandom?: RngState;
  /** Other loop state, JSON (e.g. the learning-rate schedule's). */
  extra: Record<string, unknown>;
  /** Every weight of the training model (BatchNormalization statistics included), in getWeights order. */
  weights: SavedTensor[];
  /** The best epoch's weights (restore-best), when there is a best epoch. */
  bestWeights: SavedTensor[] | null;
  /** One per optimizer, in the order the loop created them. */
  optimizers: OptimizerState[];
}

/** Reads a tensor's values (a copy: training may change the variable afterwards). */
export async function saveTensor(tensor: tf.Tensor, name?: string): Promise<SavedTensor> {
  const dtype = tensor.dtype as DType;
  const values = await tensor.data();
  const data =
    dtype === 'int32'
      ? Int32Array.from(values as Int32Array)
      : dtype === 'bool'
        ? Uint8Array.from(values as Uint8Array)
        : Float32Array.from(values as Float32Array);
  return {
    ...(name !== undefined ? { name } : {}),
    shape: [...tensor.shape],
    dtype,
    data,
    origin: tensor.dataId as object,
  };
}

export function loadTensor(saved: SavedTensor): tf.Tensor {
  return tf.tensor(saved.data, saved.shape, saved.dtype);
}

function scalarVariables(optimizer: tf.Optimizer): [string, tf.Variable][] {
  return Object.entries(optimizer as unknown as Record<string, unknown>).filter(
    (entry): entry is [string, tf.Variable] => entry[1] instanceof tf.Variable && entry[1].rank === 0,
  );
}

export async function captureOptimizer(optimizer: tf.Optimizer): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const weights = await Promise.all(named.map((w) => saveTensor(w.tensor, w.name)));
  // getWeights hands out a fresh scalar for the iteration count; the rest are the optimizer's own variables.
  for (const w of named) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  const scalars = Object.fromEntries(
    await Promise.all(
      scalarVariables(optimizer).map(async ([key, v]) => [key, (await v.data())[0]] as [string, number]),
    ),
  );
  return { weights, scalars };
}

export async function restoreOptimizer(optimizer: tf.Optimizer, state: OptimizerState): Promise<void> {
  if (state.weights.length > 0) {
    await optimizer.setWeights(state.weights.map((w) => ({ name: w.name ?? '', tensor: loadTensor(w) })));
  }
  for (const [key, variable] of scalarVariables(optimizer)) {
    const value = state.scalars[key];
    if (value !== undefined) variable.assign(tf.scalar(value, variable.dtype));
  }
}
