/**
 * The fused kernels' SIMD loops (simdKernels.ts) run in place on the wasm backend's heap, shared out over
 * the kernel pool's threads, when their arrays live in that heap (the multi-threaded build). Each returns
 * undefined/false when the arrays are elsewhere (the cpu backend, the single-threaded build), and
 * simdKernels.ts copies them through its own memory instead. The arithmetic is the same either way:
 * channel sums are formed per block of 32 rows and added into float64 totals in block order on the main
 * thread, so neither the path nor the thread count changes a result.
 */
import { kernelPool, type KernelPool } from './kernelPool';
import type { ConvGeometry } from '../fusedOps/simdKernels';

/** Fewest values (or rows × channels) an item gets: below this, waking a thread costs more than it saves. */
const MIN_VALUES_PER_ITEM = 8192;

function poolFor(arrays: readonly Float32Array[]): [KernelPool, number[]] | undefined {
  const pool = kernelPool();
  if (!pool) return undefined;
  const pointers = pool.pointers(arrays);
  return pointers ? [pool, pointers] : undefined;
}

/** Values per item of an elementwise task, in fours (items start on 16-byte boundaries). */
function valuesPerItem(pool: KernelPool, values: number): number {
  return Math.ceil(pool.split(values, MIN_VALUES_PER_ITEM)[1] / 4) * 4;
}

/** dx = dy where 0 < x ≤ hi, else 0 — on the heap; false when the arrays are not there. */
export function clippedReluGradOnHeap(
  dy: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  hi: number,
): boolean {
  const found = poolFor([dy, x, dx]);
  if (!found) return false;
  const [pool, [pdy, px, pdx]] = found;
  const per = valuesPerItem(pool, x.length);
  pool.run('reluGrad', Math.ceil(x.length / per), [pdy, px, pdx, x.length, hi, per]);
  return true;
}

/** y = min(max(x, lo), hi) on the heap; false when the arrays are not there. */
export function clipOnHeap(x: Float32Array, y: Float32Array, lo: number, hi: number): boolean {
  const found = poolFor([x, y]);
  if (!found) return false;
  const [pool, [px, py]] = found;
  const per = valuesPerItem(pool, x.length);
  pool.run('clip', Math.ceil(x.length / per), [px, py, x.length, lo, hi, per]);
  return true;
}

/** channelSumsSimd on the heap (block sums on the pool, folded in order here); undefined elsewhere. */
export function channelSumsOnHeap(
  a: Float32Array,
  ca: Float32Array,
  b: Float32Array,
  cb: Float32Array,
  channels: number,
): { sumU: Float64Array; sumUV: Float64Array } | undefined {
  const found = poolFor([a, b]);
  if (!found) return undefined;
  const [pool, [pa, pb]] = found;
  const rows = a.length / channels;
  const blocks = Math.ceil(rows / 32);
  const [items, blocksPerItem] = pool.split(blocks, Math.ceil(MIN_VALUES_PER_ITEM / (32 * channels)));
  const c4 = 4 * channels;
  return pool.withScratch([c4, c4, blocks * 2 * c4, 16 * channels], ([pca, pcb, sums, totals]) => {
    pool.f32(pca, channels).set(ca);
    pool.f32(pcb, channels).set(cb);
    pool.run('blockSums', items, [pa, pca, pb, pcb, rows, channels, sums, blocksPerItem]);
    pool.f64(totals, 2 * channels).fill(0);
    pool.main.simd.fold_block_sums(sums, blocks, channels, totals, totals + 8 * channels);
    const both = pool.f64(totals, 2 * channels);
    return { sumU: both.slice(0, channels), sumUV: both.slice(channels) };
  });
}

/** channelAffineSimd on the heap; false when the arrays are not there. */
export function channelAffineOnHeap(
  a: Float32Array,
  ca: Float32Array,
  b: Float32Array,
  out: Float32Array,
  channels: number,
  [p, q, r]: [Float32Array, Float32Array, Float32Array],
): boolean {
  const found = poolFor([a, b, out]);
  if (!found) return false;
  const [pool, [pa, pb, pout]] = found;
  const rows = a.length / channels;
  const [items, rowsPerItem] = pool.split(rows, Math.ceil(MIN_VALUES_PER_ITEM / channels));
  const c4 = 4 * channels;
  pool.withScratch([c4, c4, c4, c4], ([pca, pp, pq, pr]) => {
    pool.f32(pca, channels).set(ca);
    pool.f32(pp, channels).set(p);
    pool.f32(pq, channels).set(q);
    pool.f32(pr, channels).set(r);
    pool.run('affine', items, [pa, pca, pb, pout, rows, channels, pp, pq, pr, rowsPerItem]);
  });
  return true;
}

/**
 * depthwiseFilterGradSimd on the heap, into `out`: one item per image (all taps in one pass over its dy,
 * float32 per output row, float64 per image), then the images' totals added in image order, a range of
 * values per item — the same sums for any thread count. Dilation 1 only (false otherwise, or when the
 * arrays are not on the heap).
 */
export function depthwiseFilterGradOnHeap(
  x: Float32Array,
  dy: Float32Array,
  out: Float32Array,
  info: ConvGeometry,
): boolean {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return false;
  const found = poolFor([x, dy, out]);
  if (!found) return false;
  const [pool, [px, pdy, pout]] = found;
  const c = info.inChannels;
  const values = info.filterHeight * info.filterWidth * c;
  const images = info.batchSize;
  pool.withScratch([8 * images * values, 4 * images * values], ([totals, scratch]) => {
    pool.run('depthwiseFilterGradImages', images, [
      ...[px, pdy, totals, scratch, info.inHeight, info.inWidth, c, info.outHeight, info.outWidth],
      ...[info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth],
      ...[info.padInfo.top, info.padInfo.left],
    ]);
    // The images' totals added in image order (float64, from zero), straight into the output.
    const [items, perItem] = pool.split(values, 256);
    pool.run('sumImageTotals', items, [totals, images, values, pout, perItem]);
  });
  return true;
}

/** The constants of one Adam step (see adam_step in simdKernels.wat), float32 values. */
export interface AdamConstants {
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  d1: number;
  d2: number;
  eps: number;
  negLr: number;
}

/** One Adam step on the heap (w, m, v, g in; w', m', v' out); false when the arrays are not there. */
export function adamStepOnHeap(
  [w, m, v, g]: Float32Array[],
  [ow, om, ov]: Float32Array[],
  k: AdamConstants,
): boolean {
  const found = poolFor([w, m, v, g, ow, om, ov]);
  if (!found) return false;
  const [pool, pointers] = found;
  const per = valuesPerItem(pool, w.length);
  pool.run('adamStep', Math.ceil(w.length / per), [
    ...pointers,
    ...[w.length, k.b1, k.c1, k.b2, k.c2, k.d1, k.d2, k.eps, k.negLr, per],
  ]);
  return true;
}
