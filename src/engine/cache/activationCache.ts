/**
 * Activations of the frozen prefix, one row per image, computed once and kept: in memory when they fit
 * the memory budget, and on disk as raw float32 (`<root>/<key>/rows.f32` + `meta.json`) so that a later
 * run with the same key (cacheKey.ts) skips decoding and the frozen layers entirely. Beyond the budget
 * the rows are read from that file per batch. The folder only ever holds complete caches: rows are
 * written to a temporary folder that is renamed into place once finished; old caches are removed
 * least-recently-used first to stay under the disk limit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { DecodeOptions, DecodedImageBytes, DecodedImages } from '../data/decodeImages';
import { pixelTensor } from '../data/pixelTensor';
import { memoryRows, rowSize, type RowStore } from '../data/rowStore';
import type { ImageRef } from '../../core/data/scanDataset';
import type { WorkerDecoder } from '../data/workerDecoder';
import { READ_LIMITS, readTextFileSync } from '../../core/files/regularFile';
import { CACHE_FORMAT, type CacheKeyParts } from './cacheKey';
import type { FrozenPrefix } from './frozenPrefix';

export interface CacheLimits {
  /** Rows up to this size are held in memory; beyond it they are read from disk per batch. */
  memoryBudgetBytes: number;
  /** The cache folder is kept under this size (older caches are removed); a larger cache is not saved. */
  maxDiskBytes: number;
}

export interface CachedActivations {
  /** Row i is the activation of image files[i]. */
  rows: RowStore;
  files: string[];
  /** Images that could not be decoded when the cache was computed. */
  skipped: DecodedImages['skipped'];
  inMemory: boolean;
  /** Loaded from an earlier run's cache. */
  reused: boolean;
  /** The cache's folder, when it is saved on disk. */
  dir?: string;
  bytes: number;
  /** Why it was not saved, when it was not. */
  notSaved?: string;
  /** When computed: seconds in the frozen layers, and waiting for the decoder (for the run log). */
  timing?: { forwardS: number; decodeWaitS: number };
}

interface CacheMeta {
  format: number;
  key: string;
  parts: CacheKeyParts;
  rowShape: number[];
  files: string[];
  skipped: DecodedImages['skipped'];
  createdAt: string;
}

const META = 'meta.json';
import { ROWS, RowSink } from './rowSink';
/**
 * Images decoded and pushed through the prefix at a time: as many as fit CHUNK_BYTES of input pixels,
 * between 32 and 128 — 37 at 96×96, 32 at 224×224, 128 of the sample's 32×32 digits. Past a few dozen
 * images a larger chunk no longer runs faster per image (at 96×96 on 2 threads, 0.6 ms per image in
 * chunks of 32 and of 128 alike), but its intermediate tensors are larger, and a fresh trainer pays for
 * every page of memory it first touches: a fresh CLI run spent 0.40 s on its first chunk of 128
 * against 0.08 s on each later one. In chunks of 37 that run computed its cache of 640 images in
 * 0.70–0.74 s of frozen layers and 0.10–0.12 s waiting for the first decoded chunk, against
 * 0.75–0.91 s and 0.15–0.17 s in chunks of 128 (four pairs). No bit changes: every kernel of the frozen prefix
 * (inference mode) computes each image on its own.
 */
const MIN_CHUNK = 32;
const MAX_CHUNK = 128;
const CHUNK_BYTES = 4 * 2 ** 20;

export function cacheChunkImages(imageSize: readonly [number, number], channels: number): number {
  const imageBytes = imageSize[0] * imageSize[1] * channels * 4;
  return Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, Math.floor(CHUNK_BYTES / imageBytes)));
}
/** A temporary folder this old belongs to a run that died while writing it. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Rows read from a file of `count × rowSize` float32s, one read per row. */
function fileRows(file: string, rowShape: readonly number[]): RowStore {
  const rowBytes = rowSize(rowShape) * 4;
  let fd: number | undefined = fs.openSync(file, 'r');
  return {
    rowShape,
    read(indices, out) {
      if (fd === undefined) throw new Error(`activation cache ${file} is closed`);
      const bytes = new Uint8Array(out.buffer, out.byteOffset, indices.length * rowBytes);
      for (let i = 0; i < indices.length; i++) {
        const got = fs.readSync(fd, bytes, i * rowBytes, rowBytes, indices[i] * rowBytes);
        if (got !== rowBytes) throw new Error(`activation cache ${file} is truncated (row ${indices[i]})`);
      }
    },
    close() {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
  };
}

function readAll(file: string, floats: number): Float32Array {
  const data = new Float32Array(floats);
  const fd = fs.openSync(file, 'r');
  try {
    const bytes = new Uint8Array(data.buffer);
    for (let offset = 0; offset < bytes.length;) {
      const got = fs.readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (got === 0) throw new Error(`activation cache ${file} is truncated`);
      offset += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return data;
}

/** An earlier run's cache under `key`, or undefined (none, incomplete, or from another format). */
export function openCachedActivations(
  root: string,
  key: string,
  rowShape: readonly number[],
  limits: CacheLimits,
): CachedActivations | undefined {
  const dir = path.join(root, key);
  let meta: CacheMeta;
  try {
    // The cache folder and its files are ours: a link there (a cloned repository's) is not a cache.
    if (!fs.lstatSync(dir).isDirectory()) return undefined;
    meta = JSON.parse(
      readTextFileSync(path.join(dir, META), { maxBytes: READ_LIMITS.summary, noFollow: true }),
    ) as CacheMeta;
    if (!Array.isArray(meta.files)) throw new Error('no files');
  } catch {
    return undefined;
  }
  const file = path.join(dir, ROWS);
  const floats = meta.files.length * rowSize(rowShape);
  let size = -1;
  try {
    const stat = fs.lstatSync(file);
    if (stat.isFile()) size = stat.size;
  } catch {
    // no rows file: treated as damaged below
  }
  const valid =
    meta.format === CACHE_FORMAT &&
    meta.key === key &&
    JSON.stringify(meta.rowShape) === JSON.stringify(rowShape) &&
    size === floats * 4;
  if (!valid) {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const now = new Date();
  fs.utimesSync(path.join(dir, META), now, now); // marks it recently used for pruneCache
  const inMemory = size <= limits.memoryBudgetBytes;
  return {
    rows: inMemory ? memoryRows(readAll(file, floats), rowShape) : fileRows(file, rowShape),
    files: meta.files,
    skipped: meta.skipped,
    inMemory,
    reused: true,
    dir,
    bytes: size,
  };
}

export interface ComputeArgs {
  root: string;
  key: string;
  parts: CacheKeyParts;
  refs: ImageRef[];
  decode: DecodeOptions;
  decoder: WorkerDecoder;
  prefix: FrozenPrefix;
  limits: CacheLimits;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decodes every image on the worker (a few chunks ahead) and runs the frozen prefix on it here, writing
 * the rows to memory and/or a new cache folder. Throws when the rows fit neither.
 */
export async function computeActivations(args: ComputeArgs): Promise<CachedActivations> {
  const { refs, decode, decoder, prefix, limits } = args;
  const size = rowSize(prefix.rowShape);
  const bytes = refs.length * size * 4;
  const inMemory = bytes <= limits.memoryBudgetBytes;
  const save = bytes <= limits.maxDiskBytes;
  const tempDir = save
    ? path.join(args.root, `${args.key}.tmp-${process.pid}-${Date.now().toString(36)}`)
    : undefined;
  const sink = new RowSink(tempDir, refs.length * size, inMemory);
  if (!inMemory && !sink.saving) {
    throw new Error(
      `the activations (${mib(bytes)}) are over the memory budget and ${save ? `cannot be written to ${args.root}: ${sink.diskError}` : "over the cache's disk limit"}`,
    );
  }

  const chunk = cacheChunkImages(decode.imageSize, decode.channels);
  const chunks: ImageRef[][] = [];
  for (let i = 0; i < refs.length; i += chunk) chunks.push(refs.slice(i, i + chunk));
  const [height, width] = decode.imageSize;
  const files: string[] = [];
  const skipped: DecodedImages['skipped'] = [];
  // Three channels come from the worker as 8-bit values, mapped onto pixelRange straight into the input
  // tensor (pixelTensor.ts: a quarter of the memory); one channel (luma) as floats.
  const inFlight: Promise<DecodedImages | DecodedImageBytes>[] = [];
  let done = 0;
  let forwardMs = 0;
  let decodeWaitMs = 0;
  try {
    for (let c = 0; c < chunks.length; c++) {
      while (inFlight.length < 3 && c + inFlight.length < chunks.length)
        inFlight.push(decoder.decodeCompact(chunks[c + inFlight.length], decode));
      const waitFrom = performance.now();
      const decoded = await inFlight.shift()!;
      const forwardFrom = performance.now();
      decodeWaitMs += forwardFrom - waitFrom;
      skipped.push(...decoded.skipped);
      const n = decoded.images.length;
      if (n > 0) {
        const shape: [number, number, number, number] = [n, height, width, decode.channels];
        const activations = tf.tidy(() =>
          prefix.run(
            decoded.data instanceof Uint8Array
              ? pixelTensor(decoded.data, shape, decode.pixelRange)
              : tf.tensor4d(decoded.data, shape),
          ),
        );
        const values = (await activations.data()) as Float32Array;
        activations.dispose();
        sink.append(values);
        files.push(...decoded.images.map((r) => r.file));
      }
      // The input tensor is disposed (tidy) and its rows copied out: the worker may write the buffer again.
      decoder.recycle(decoded.data);
      forwardMs += performance.now() - forwardFrom;
      if (!inMemory && !sink.saving) {
        throw new Error(`writing the activation cache failed: ${sink.diskError}`);
      }
      done += chunks[c].length;
      args.onProgress?.(done, refs.length);
    }
  } catch (error) {
    for (const abandoned of inFlight) abandoned.catch(() => undefined);
    sink.closeFile();
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }
  sink.closeFile();

  const actualBytes = files.length * size * 4;
  let dir: string | undefined;
  let notSaved: string | undefined = save ? undefined : `${mib(bytes)} is over the cache's disk limit`;
  if (tempDir !== undefined) {
    dir = finishFolder(args, tempDir, sink.diskError, { files, skipped, rowShape: prefix.rowShape });
    if (dir === undefined)
      notSaved = `it could not be written to ${args.root} (${sink.diskError ?? 'error'})`;
  }
  const memory = sink.rows();
  const rows = memory
    ? memoryRows(memory, prefix.rowShape)
    : fileRows(path.join(dir!, ROWS), prefix.rowShape);
  return {
    rows,
    files,
    skipped,
    inMemory,
    reused: false,
    dir,
    bytes: actualBytes,
    notSaved,
    timing: { forwardS: forwardMs / 1000, decodeWaitS: decodeWaitMs / 1000 },
  };
}

/** Writes meta.json and renames the finished temporary folder into place; undefined when that failed. */
function finishFolder(
  args: ComputeArgs,
  tempDir: string,
  diskError: string | undefined,
  content: Pick<CacheMeta, 'files' | 'skipped' | 'rowShape'>,
): string | undefined {
  const dir = path.join(args.root, args.key);
  try {
    if (diskError !== undefined) throw new Error(diskError);
    const meta: CacheMeta = {
      format: CACHE_FORMAT,
      key: args.key,
      parts: args.parts,
      ...content,
      createdAt: new Date().toISOString(),
    };
    fs.writeFileSync(path.join(tempDir, META), `${JSON.stringify(meta)}\n`);
    try {
      fs.renameSync(tempDir, dir);
    } catch (error) {
      // Another run with the same key finished first: its rows are the same, keep those.
      if (!fs.existsSync(path.join(dir, META))) throw error;
      fs.rmSync(tempDir, { recursive: true, force: true });
    }
    pruneCache(args.root, args.key, args.limits.maxDiskBytes);
    return dir;
  } catch {
    fs.rmSync(tempDir, { recursive: true, force: true });
    return undefined;
  }
}

/** `<32 hex key>` and `<key>.tmp-<pid>-<time>`: the only names the cache writes. */
const CACHE_NAME = /^[0-9a-f]{32}$/;
const CACHE_TEMP_NAME = /^[0-9a-f]{32}\.tmp-\d+-[0-9a-z]+$/;

/**
 * Keeps the cache folder under `maxBytes`: the most recently used caches stay (`keep` always), older ones
 * and temporary folders left by crashed runs are removed. Only real folders with the names the cache
 * writes are considered, and a cache folder that is itself a link is not pruned: with
 * `.finetune/cache -> ~` a cloned repository would otherwise have us delete folders in the home folder.
 */
export function pruneCache(root: string, keep: string, maxBytes: number): string[] {
  const removed: string[] = [];
  const entries: { name: string; bytes: number; used: number }[] = [];
  let listing: fs.Dirent[];
  try {
    if (!fs.lstatSync(root).isDirectory()) return removed;
    listing = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const entry of listing) {
    const name = entry.name;
    const dir = path.join(root, name);
    if (!entry.isDirectory()) continue;
    try {
      if (CACHE_TEMP_NAME.test(name)) {
        if (Date.now() - fs.lstatSync(dir).mtimeMs > STALE_TEMP_MS) {
          fs.rmSync(dir, { recursive: true, force: true });
          removed.push(name);
        }
        continue;
      }
      if (!CACHE_NAME.test(name) && name !== keep) continue;
      const used = fs.lstatSync(path.join(dir, META)).mtimeMs;
      entries.push({ name, bytes: fs.lstatSync(path.join(dir, ROWS)).size, used });
    } catch {
      // not a cache folder (or being removed by another run): leave it alone
    }
  }
  entries.sort((a, b) => (a.name === keep ? -1 : b.name === keep ? 1 : b.used - a.used));
  let total = 0;
  for (const entry of entries) {
    if (total + entry.bytes > maxBytes && entry.name !== keep) {
      fs.rmSync(path.join(root, entry.name), { recursive: true, force: true });
      removed.push(entry.name);
    } else {
      total += entry.bytes;
    }
  }
  return removed;
}

/** A size for messages: 1.5 GiB, 12.0 MiB, 64 KiB. */
export function mib(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.ceil(bytes / 1024)} KiB`;
}
