/**
 * The checkpoint on disk (`<runDir>/checkpoint/`): state.json, which holds everything but the tensors and
 * names the tensors files, and those files.
 *
 * Written like the model: tensors to fresh uniquely named files first, then state.json (which names them)
 * replaced atomically, then the tensors files it no longer names removed — a trainer killed at any moment
 * leaves the previous checkpoint or the new one, never a mix.
 *
 * Why two tensors files: a run writes a checkpoint after every epoch, and most of it is often what the
 * previous one already wrote. In a head-only run every backbone weight is frozen: on a MobileNet (α 1,
 * 3.2M weights) each epoch wrote ~26 MB (the weights and the best epoch's copy of them), 81 ms an epoch
 * on this machine, more than the epoch's training on cached activations. A tensor is the same as one
 * already on disk when it is backed by the same data: TensorFlow.js never changes a tensor's data in
 * place (a variable's assign gives it new data), so `SavedTensor.origin`, the data's identity, tells.
 * Tensors already on disk are named where they are (the "stable" file); only the others go to a new
 * file. Within one checkpoint, a tensor saved twice (a weight unchanged since the best epoch, so in both
 * `weights` and `bestWeights`) is stored once. When the new tensors outweigh what the stable file still
 * provides, or most of the stable file is no longer needed, everything is written into a new stable file
 * instead (full fine-tuning changes every weight every epoch, so it writes one file, as before).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stagedBinaryName, writeFileAtomic, writeFileDurably } from '../../core/atomicFile';
import { READ_LIMITS, readRegularFileSync, readTextFileSync } from '../../core/files/regularFile';
import { CHECKPOINT_DIR, CHECKPOINT_STATE_FILE as STATE_FILE } from '../../core/runs/resumable';
import type { FitCheckpoint, SavedTensor } from './checkpoint';

/** 1: one tensors file (`tensorsFile`); 2: a list of them (`tensorsFiles`), each entry naming its file. */
const FORMAT = 2;
const TENSORS_FILE = /^tensors-[\w-]+\.bin$/;

interface TensorEntry {
  name?: string;
  shape: number[];
  dtype: SavedTensor['dtype'];
  /** Index into `tensorsFiles` (format 2). */
  file?: number;
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
  /** format 1 */
  tensorsFile?: string;
  /** format 2 */
  tensorsFiles?: string[];
  checkpoint: Stored<FitCheckpoint>;
}

const isSaved = (v: unknown): v is SavedTensor =>
  typeof v === 'object' && v !== null && ArrayBuffer.isView((v as SavedTensor).data);

/** Where a tensor's bytes lie in a tensors file. */
interface Placement {
  offset: number;
  byteLength: number;
}

/** The stable file of the last checkpoint this writer wrote: its name, size and what it holds. */
interface StableFile {
  name: string;
  byteLength: number;
  /** Keyed by the data's identity (`SavedTensor.origin`): held weakly, so freed data frees its entry. */
  placements: WeakMap<object, Placement>;
}

/** The bytes of a tensor as they are stored (little-endian, as the typed array holds them). */
function bytesOf(tensor: SavedTensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/** Every tensor of a checkpoint, in the order `store` meets them. */
function tensorsOf(value: unknown, found: SavedTensor[] = []): SavedTensor[] {
  if (isSaved(value)) found.push(value);
  else if (Array.isArray(value)) for (const v of value) tensorsOf(v, found);
  else if (typeof value === 'object' && value !== null)
    for (const v of Object.values(value)) tensorsOf(v, found);
  return found;
}

/** Lays tensors out one after another in a new file, each distinct origin once. */
class NewFile {
  readonly chunks: Uint8Array[] = [];
  byteLength = 0;
  private readonly byOrigin = new Map<object, Placement>();
  readonly placements = new WeakMap<object, Placement>();

  place(tensor: SavedTensor): Placement {
    const known = tensor.origin !== undefined ? this.byOrigin.get(tensor.origin) : undefined;
    if (known) return known;
    const bytes = bytesOf(tensor);
    const placement = { offset: this.byteLength, byteLength: bytes.byteLength };
    this.chunks.push(bytes);
    this.byteLength += bytes.byteLength;
    if (tensor.origin !== undefined) {
      this.byOrigin.set(tensor.origin, placement);
      this.placements.set(tensor.origin, placement);
    }
    return placement;
  }
}

/**
 * Writes one run's checkpoints, remembering what its last stable file holds so that the next checkpoint
 * can name those tensors instead of writing them again. One instance per run writer; a new instance (a
 * resumed run) starts with a full write.
 */
export class CheckpointFiles {
  private stable: StableFile | undefined;

  constructor(private readonly runDir: string) {}

  /** Saves the checkpoint atomically (see the file comment). */
  write(checkpoint: FitCheckpoint): void {
    const dir = path.join(this.runDir, CHECKPOINT_DIR);
    fs.mkdirSync(dir, { recursive: true });
    const tensors = tensorsOf(checkpoint);
    const stable = this.stable && fs.existsSync(path.join(dir, this.stable.name)) ? this.stable : undefined;
    // What the stable file still provides, and what is new, each distinct origin counted once.
    const seen = new Set<object>();
    let reused = 0;
    let fresh = 0;
    for (const tensor of tensors) {
      if (tensor.origin !== undefined) {
        if (seen.has(tensor.origin)) continue;
        seen.add(tensor.origin);
      }
      const placement = tensor.origin !== undefined ? stable?.placements.get(tensor.origin) : undefined;
      if (placement) reused += placement.byteLength;
      else fresh += tensor.data.byteLength;
    }
    const keepStable = stable !== undefined && fresh < reused && stable.byteLength - reused <= reused;

    const files: string[] = keepStable ? [stable.name] : [];
    const file = new NewFile();
    const newFileIndex = files.length;
    const store = (value: unknown): unknown => {
      if (isSaved(value)) {
        const old =
          keepStable && value.origin !== undefined ? stable.placements.get(value.origin) : undefined;
        const placement = old ?? file.place(value);
        return {
          ...(value.name !== undefined ? { name: value.name } : {}),
          shape: value.shape,
          dtype: value.dtype,
          file: old ? 0 : newFileIndex,
          offset: placement.offset,
          byteLength: placement.byteLength,
        } satisfies TensorEntry;
      }
      if (Array.isArray(value)) return value.map(store);
      if (typeof value === 'object' && value !== null)
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, store(v)]));
      return value;
    };
    const stored = store(checkpoint) as Stored<FitCheckpoint>;
    const name = stagedBinaryName('tensors');
    files.push(name);
    writeFileDurably(path.join(dir, name), Buffer.concat(file.chunks));
    const state: StateFile = { format: FORMAT, tensorsFiles: files, checkpoint: stored };
    writeFileAtomic(path.join(dir, STATE_FILE), JSON.stringify(state));
    if (!keepStable) this.stable = { name, byteLength: file.byteLength, placements: file.placements };
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile() && !files.includes(entry.name) && TENSORS_FILE.test(entry.name))
        fs.rmSync(path.join(dir, entry.name), { force: true });
    }
  }
}

/** One full checkpoint write, nothing remembered (tests, tools). */
export function writeCheckpoint(runDir: string, checkpoint: FitCheckpoint): void {
  new CheckpointFiles(runDir).write(checkpoint);
}

/** The checkpoint in `<runDir>/checkpoint/`, or undefined when there is none or it cannot be used. */
export function readCheckpoint(runDir: string): FitCheckpoint | undefined {
  const dir = path.join(runDir, CHECKPOINT_DIR);
  let state: StateFile;
  let files: Buffer[];
  try {
    // Files the run wrote: never links, each read with a byte cap (a FIFO or /dev/zero is refused).
    state = JSON.parse(
      readTextFileSync(path.join(dir, STATE_FILE), { maxBytes: READ_LIMITS.modelJson, noFollow: true }),
    ) as StateFile;
    const names =
      state.format === 1 && typeof state.tensorsFile === 'string'
        ? [state.tensorsFile]
        : state.format === 2 && Array.isArray(state.tensorsFiles)
          ? state.tensorsFiles
          : undefined;
    if (!names || names.length === 0 || names.some((n) => typeof n !== 'string' || !TENSORS_FILE.test(n))) {
      return undefined;
    }
    files = names.map((n) =>
      readRegularFileSync(path.join(dir, n), { maxBytes: READ_LIMITS.checkpointTensors, noFollow: true }),
    );
  } catch {
    return undefined;
  }
  const isEntry = (v: unknown): v is TensorEntry =>
    typeof v === 'object' && v !== null && typeof (v as TensorEntry).byteLength === 'number' && 'dtype' in v;
  const load = (value: unknown): unknown => {
    if (isEntry(value)) {
      const bytes = files[value.file ?? 0];
      if (!bytes || value.offset + value.byteLength > bytes.length) throw new Error('truncated checkpoint');
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
