/**
 * Epoch checkpoints (`<runDir>/checkpoint/`), what Resume continues from: the model's weights, the best
 * epoch's weights, every optimizer's state, the early-stopping tracker, the history and the random
 * generators' states — everything the training loop carries from one epoch to the next, so a resumed run
 * draws the same numbers and produces the same metrics as one that was never interrupted.
 *
 * Written like the model: tensors to a fresh uniquely named file first, then state.json (which names that
 * file) replaced atomically, then older tensor files removed — a trainer killed at any moment leaves the
 * previous checkpoint or the new one, never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EpochMetrics } from '../../protocol/runRecord';
import { stagedBinaryName, writeFileAtomic, writeFileDurably } from '../../core/atomicFile';
import type { RngState } from '../../core/rng';
import { READ_LIMITS, readRegularFileSync, readTextFileSync } from '../../core/files/regularFile';
import { CHECKPOINT_DIR, CHECKPOINT_STATE_FILE as STATE_FILE } from '../../core/runs/resumable';
import type { TrackerState } from './earlyStopping';

export { CHECKPOINT_DIR };
const FORMAT = 1;

type DType = 'float32' | 'int32' | 'bool';

/** A tensor's values, read out of the backend. */
export interface SavedTensor {
  name?: string;
  shape: number[];
  dtype: DType;
  data: Float32Array | Int32Array | Uint8Array;
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
  return { ...(name !== undefined ? { name } : {}), shape: [...tensor.shape], dtype, data };
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

// ───────────────────────── on disk ─────────────────────────

interface TensorEntry {
  name?: string;
  shape: number[];
  dtype: DType;
  offset: number;
  byteLength: number;
}

type Stored<T> = T extends SavedTensor
  ? TensorEntry
  : T extends (infer U)[]
    ? Stored<U>[]
    : T extends object
      ? { [K in keyof T]: Stored<T[K]> }
      : T;

interface StateFile {
  format: number;
  tensorsFile: string;
  checkpoint: Stored<FitCheckpoint>;
}

const isSaved = (v: unknown): v is SavedTensor =>
  typeof v === 'object' && v !== null && ArrayBuffer.isView((v as SavedTensor).data);

/** Saves the checkpoint into `<runDir>/checkpoint/` atomically (see the file comment). */
export function writeCheckpoint(runDir: string, checkpoint: FitCheckpoint): void {
  const dir = path.join(runDir, CHECKPOINT_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const store = (value: unknown): unknown => {
    if (isSaved(value)) {
      const bytes = new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength);
      chunks.push(bytes);
      const entry: TensorEntry = {
        ...(value.name !== undefined ? { name: value.name } : {}),
        shape: value.shape,
        dtype: value.dtype,
        offset,
        byteLength: bytes.byteLength,
      };
      offset += bytes.byteLength;
      return entry;
    }
    if (Array.isArray(value)) return value.map(store);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, store(v)]));
    return value;
  };
  const stored = store(checkpoint) as Stored<FitCheckpoint>;
  const tensorsFile = stagedBinaryName('tensors');
  writeFileDurably(path.join(dir, tensorsFile), Buffer.concat(chunks));
  const state: StateFile = { format: FORMAT, tensorsFile, checkpoint: stored };
  writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(state));
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name !== tensorsFile && /^tensors-.*\.bin$/.test(entry.name))
      fs.rmSync(path.join(dir, entry.name), { force: true });
  }
}

/** The checkpoint in `<runDir>/checkpoint/`, or undefined when there is none or it cannot be used. */
export function readCheckpoint(runDir: string): FitCheckpoint | undefined {
  const dir = path.join(runDir, CHECKPOINT_DIR);
  let state: StateFile;
  let bytes: Buffer;
  try {
    // Files the run wrote: never links, each read with a byte cap (a FIFO or /dev/zero is refused).
    state = JSON.parse(
      readTextFileSync(path.join(dir, STATE_FILE), { maxBytes: READ_LIMITS.modelJson, noFollow: true }),
    ) as StateFile;
    if (state.format !== FORMAT || !/^tensors-[\w-]+\.bin$/.test(state.tensorsFile)) return undefined;
    bytes = readRegularFileSync(path.join(dir, state.tensorsFile), {
      maxBytes: READ_LIMITS.checkpointTensors,
      noFollow: true,
    });
  } catch {
    return undefined;
  }
  const isEntry = (v: unknown): v is TensorEntry =>
    typeof v === 'object' && v !== null && typeof (v as TensorEntry).byteLength === 'number' && 'dtype' in v;
  const load = (value: unknown): unknown => {
    if (isEntry(value)) {
      if (value.offset + value.byteLength > bytes.length) throw new Error('truncated checkpoint');
      const copy = bytes.buffer.slice(
        bytes.byteOffset + value.offset,
        bytes.byteOffset + value.offset + value.byteLength,
      );
      const data =
        value.dtype === 'int32'
          ? new Int32Array(copy)
          : value.dtype === 'bool'
            ? new Uint8Array(copy)
            : new Float32Array(copy);
      return {
        ...(value.name !== undefined ? { name: value.name } : {}),
        shape: value.shape,
        dtype: value.dtype,
        data,
      };
    }
    if (Array.isArray(value)) return value.map(load);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, load(v)]));
    return value;
  };
  try {
    return load(state.checkpoint) as FitCheckpoint;
  } catch {
    return undefined;
  }
}

/** A completed run needs no checkpoint: its space is given back. */
export function removeCheckpoint(runDir: string): void {
  fs.rmSync(path.join(runDir, CHECKPOINT_DIR), { recursive: true, force: true });
}
