/**
 * The SIMD loops of simdKernels.wat, callable on Float32Arrays. On the wasm backend's multi-threaded build
 * the arrays live in its shared heap and the loops run there in place, shared out over the kernel pool's
 * threads (../wasmThreads/heapKernels.ts). Anywhere else (the cpu backend, the single-threaded build)
 * the module gets a memory of its own: each call copies its inputs in and its outputs out (a memcpy, ~0.1
 * ns per value, against several ns per value for the same loop in JavaScript). Large arrays go through
 * in chunks of CHUNK_VALUES, so that memory (which never shrinks) stays at a few tens of MiB whatever the
 * model. Both paths compute the same values.
 */
import {
  instantiateKernels,
  kernelModules,
  newSharedMemory,
  type KernelInstance,
} from '../wasmThreads/kernelInstance';
import { channelAffineOnHeap, channelSumsOnHeap, clippedReluGradOnHeap } from '../wasmThreads/heapKernels';

type Exports = KernelInstance['simd'];

const PAGE = 65536;
/** Values per array and chunk: 4 MiB of float32. */
let CHUNK_VALUES = 1 << 20;

/** Changes the chunk size (tests use tiny chunks to cover the chunk seams); returns the previous one. */
export function setSimdChunkValues(values: number): number {
  const previous = CHUNK_VALUES;
  CHUNK_VALUES = Math.max(4, Math.floor(values));
  return previous;
}
let instance: KernelInstance | undefined;

/** The copy path's instance, on a memory of its own. */
function kernels(): KernelInstance {
  instance ??= instantiateKernels(kernelModules(), newSharedMemory());
  return instance;
}

/** Bump allocation in the module's memory for one call; sized up front so no view is detached later. */
class Arena {
  private top = 0;
  constructor(private readonly wasm: KernelInstance) {}

  /** Grows the memory to hold this many bytes (plus alignment slack) before anything is placed. */
  reserveBytes(bytes: number): void {
    const needed = bytes + 64 * 16;
    const have = this.wasm.memory.buffer.byteLength;
    if (needed > have) this.wasm.memory.grow(Math.ceil((needed - have) / PAGE));
  }

  /** The allocation point, to return to with `reset` (memory reused chunk after chunk). */
  mark(): number {
    return this.top;
  }

  reset(mark: number): void {
    this.top = mark;
  }

  private take(bytes: number): number {
    const at = this.top;
    this.top += Math.ceil(bytes / 16) * 16;
    if (this.top > this.wasm.memory.buffer.byteLength) throw new Error('simd kernels: arena overflow');
    return at;
  }

  /** Copies float32 values in; returns their offset. */
  put(values: Float32Array): number {
    const at = this.take(values.length * 4);
    new Float32Array(this.wasm.memory.buffer, at, values.length).set(values);
    return at;
  }

  /** Room for float32 values (uninitialised). */
  floats(count: number): number {
    return this.take(count * 4);
  }

  /** Room for float64 values, zeroed. */
  zeroedDoubles(count: number): number {
    const at = this.take(count * 8);
    new Float64Array(this.wasm.memory.buffer, at, count).fill(0);
    return at;
  }

  f32(at: number, count: number): Float32Array {
    return new Float32Array(this.wasm.memory.buffer, at, count);
  }

  f64(at: number, count: number): Float64Array {
    return new Float64Array(this.wasm.memory.buffer, at, count);
  }
}

function withArena<T>(bytes: number, body: (arena: Arena, wasm: Exports) => T): T {
  const wasm = kernels();
  const arena = new Arena(wasm);
  arena.reserveBytes(bytes);
  return body(arena, wasm.simd);
}

/** dx = dy where 0 < x ≤ hi, else 0. */
export function clippedReluGradSimd(dy: Float32Array, x: Float32Array, dx: Float32Array, hi: number): void {
  if (clippedReluGradOnHeap(dy, x, dx, hi)) return;
  const chunk = Math.min(x.length, CHUNK_VALUES);
  withArena(chunk * 12, (arena, wasm) => {
    const mark = arena.mark();
    for (let start = 0; start < x.length; start += chunk) {
      const end = Math.min(x.length, start + chunk);
      arena.reset(mark);
      const pdy = arena.put(dy.subarray(start, end));
      const px = arena.put(x.subarray(start, end));
      const pdx = arena.floats(end - start);
      wasm.clipped_relu_grad(pdy, px, pdx, end - start, hi);
      dx.set(arena.f32(pdx, end - start), start);
    }
  });
}

/**
 * Rows per chunk for rows × c arrays: whole blocks of 32 rows (channel_sums' float32 blocks start where
 * they would in one pass, so chunking does not change the sums).
 */
function rowsPerChunk(rows: number, channels: number): number {
  const blocks = Math.max(1, Math.floor(CHUNK_VALUES / (32 * channels)));
  return Math.max(1, Math.min(rows, blocks * 32));
}

/** Whether the channel loops below take arrays with this many channels (SIMD lanes of 4). */
export function simdChannelsOk(channels: number): boolean {
  return channels > 0 && channels % 4 === 0;
}

/**
 * Per channel of rows × c arrays: Σ (a − ca) and Σ (a − ca)·(b − cb), in float64. `a` and `b` may be the
 * same array (then it is copied in once).
 */
export function channelSumsSimd(
  a: Float32Array,
  ca: Float32Array,
  b: Float32Array,
  cb: Float32Array,
  channels: number,
): { sumU: Float64Array; sumUV: Float64Array } {
  const onHeap = channelSumsOnHeap(a, ca, b, cb, channels);
  if (onHeap) return onHeap;
  const rows = a.length / channels;
  const same = a === b;
  const chunkRows = rowsPerChunk(rows, channels);
  const bytes = (same ? 4 : 8) * chunkRows * channels + 4 * 4 * channels + 2 * 8 * channels;
  return withArena(bytes, (arena, wasm) => {
    const pca = arena.put(ca);
    const pcb = ca === cb ? pca : arena.put(cb);
    const scratch = arena.floats(2 * channels);
    // The float64 totals are added to chunk after chunk.
    const sumU = arena.zeroedDoubles(channels);
    const sumUV = arena.zeroedDoubles(channels);
    const mark = arena.mark();
    for (let row = 0; row < rows; row += chunkRows) {
      const n = Math.min(chunkRows, rows - row);
      arena.reset(mark);
      const pa = arena.put(a.subarray(row * channels, (row + n) * channels));
      const pb = same ? pa : arena.put(b.subarray(row * channels, (row + n) * channels));
      wasm.channel_sums(pa, pca, pb, pcb, n, channels, scratch, sumU, sumUV);
    }
    return { sumU: arena.f64(sumU, channels).slice(), sumUV: arena.f64(sumUV, channels).slice() };
  });
}

/**
 * out = p·(a − ca) + q·b + r per channel, for rows × c arrays (p, q, r, ca: one value per channel). `b`
 * may be `a`.
 */
export function channelAffineSimd(
  a: Float32Array,
  ca: Float32Array,
  b: Float32Array,
  out: Float32Array,
  channels: number,
  [p, q, r]: [Float32Array, Float32Array, Float32Array],
): void {
  if (channelAffineOnHeap(a, ca, b, out, channels, [p, q, r])) return;
  const rows = a.length / channels;
  const same = a === b;
  const chunkRows = rowsPerChunk(rows, channels);
  const bytes = (same ? 8 : 12) * chunkRows * channels + 4 * 4 * channels;
  withArena(bytes, (arena, wasm) => {
    const [pca, pp, pq, pr] = [ca, p, q, r].map((v) => arena.put(v));
    const mark = arena.mark();
    for (let row = 0; row < rows; row += chunkRows) {
      const n = Math.min(chunkRows, rows - row);
      const [from, to] = [row * channels, (row + n) * channels];
      arena.reset(mark);
      const pa = arena.put(a.subarray(from, to));
      const pb = same ? pa : arena.put(b.subarray(from, to));
      const pout = arena.floats(to - from);
      wasm.channel_affine(pa, pca, pb, pout, n, channels, pp, pq, pr);
      out.set(arena.f32(pout, to - from), from);
    }
  });
}

/** The geometry of a 2-D convolution, as tfjs' computeConv2DInfo describes it (the fields used here). */
export interface ConvGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padInfo: { top: number; left: number };
}

/**
 * The weight gradient of a depthwise convolution with channel multiplier 1 (MobileNet's), [fH, fW, C, 1]
 * flattened: per filter tap, the SIMD dot products of x's and dy's channels over every output pixel whose
 * tap lands inside x (float32 per output row, float64 across rows).
 */
export function depthwiseFilterGradSimd(x: Float32Array, dy: Float32Array, info: ConvGeometry): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const taps = filterHeight * filterWidth;
  const xImage = inHeight * inWidth * c;
  const dyImage = outHeight * outWidth * c;
  // Images in chunks (at least one), the float64 totals added to chunk after chunk.
  const imagesPerChunk = Math.max(
    1,
    Math.min(batchSize, Math.floor(CHUNK_VALUES / Math.max(xImage, dyImage))),
  );
  const bytes = 4 * imagesPerChunk * (xImage + dyImage) + 8 * taps * c + 4 * c;
  return withArena(bytes, (arena, wasm) => {
    const totals = arena.zeroedDoubles(taps * c);
    const scratch = arena.floats(c);
    const mark = arena.mark();
    for (let first = 0; first < batchSize; first += imagesPerChunk) {
      const images = Math.min(imagesPerChunk, batchSize - first);
      arena.reset(mark);
      const px = arena.put(x.subarray(first * xImage, (first + images) * xImage));
      const pdy = arena.put(dy.subarray(first * dyImage, (first + images) * dyImage));
      for (let r = 0; r < filterHeight; r++) {
        // Output rows and columns whose tap (r, s) lands inside the input (not on padding).
        const rowOffset = r * dilationHeight - info.padInfo.top;
        const iMin = Math.max(0, Math.ceil(-rowOffset / strideHeight));
        const iEnd = Math.min(outHeight, Math.floor((inHeight - 1 - rowOffset) / strideHeight) + 1);
        for (let s = 0; s < filterWidth; s++) {
          const colOffset = s * dilationWidth - info.padInfo.left;
          const jMin = Math.max(0, Math.ceil(-colOffset / strideWidth));
          const jEnd = Math.min(outWidth, Math.floor((inWidth - 1 - colOffset) / strideWidth) + 1);
          if (iEnd <= iMin || jEnd <= jMin) continue;
          wasm.depthwise_tap(
            px,
            pdy,
            totals + (r * filterWidth + s) * c * 8,
            scratch,
            images,
            iMin,
            iEnd,
            jMin,
            jEnd - jMin,
            rowOffset,
            colOffset,
            inHeight,
            inWidth,
            outHeight,
            outWidth,
            c,
            strideHeight,
            strideWidth,
          );
        }
      }
    }
    return Float32Array.from(arena.f64(totals, taps * c));
  });
}
