/**
 * The passes of batch norm in training mode fused with a ReLU with a ceiling (fusedOps/batchNormClip.ts)
 * in place on the wasm backend's heap, on the kernel pool: each item runs, on its own rows and while they
 * are in its cache, the same SIMD functions the unfused kernels run one whole pass after another — so the
 * same bits. Each returns undefined/false when the arrays are not on the heap (the cpu backend, the
 * single-threaded build) or the channel count is not a multiple of 4 (the SIMD functions step 4 channels
 * at a time; the unfused kernels then run plain loops); the caller then runs the passes one by one.
 */
import { simdChannelsOk } from '../fusedOps/simdKernels';
import { kernelPool, type KernelPool } from './kernelPool';
import { MAX_ITEMS } from './poolControl';

/** Fewest rows × channels an item gets (as heapKernels.ts). */
const MIN_VALUES_PER_ITEM = 8192;
/**
 * Most rows × channels an item gets: an item makes several passes over its rows, which pays only while
 * they stay in the core's cache (16k values: 64 KiB per array).
 */
const MAX_VALUES_PER_ITEM = 16384;

/** [items, units per item] for `units` of `valuesPerUnit` values each, within the bounds above. */
function splitCached(pool: KernelPool, units: number, valuesPerUnit: number): [number, number] {
  const [items, perItem] = pool.split(units, Math.ceil(MIN_VALUES_PER_ITEM / valuesPerUnit));
  const most = Math.max(1, Math.floor(MAX_VALUES_PER_ITEM / valuesPerUnit), Math.ceil(units / MAX_ITEMS));
  return perItem <= most ? [items, perItem] : [Math.ceil(units / most), most];
}

/** y = min(max(p·(x − μ) + β, 0), hi) (with the batch-norm kernel's q·x term, q = 0); false off the heap. */
export function affineClipOnHeap(
  x: Float32Array,
  mean: Float32Array,
  y: Float32Array,
  channels: number,
  [p, r]: [Float32Array, Float32Array],
  hi: number,
): boolean {
  const pool = kernelPool();
  const pointers = simdChannelsOk(channels) ? pool?.pointers([x, y]) : undefined;
  if (!pool || !pointers) return false;
  const [px, py] = pointers;
  const rows = x.length / channels;
  const [items, rowsPerItem] = splitCached(pool, rows, channels);
  const c4 = 4 * channels;
  pool.withScratch([c4, c4, c4, c4], ([pm, pp, pq, pr]) => {
    pool.f32(pm, channels).set(mean);
    pool.f32(pp, channels).set(p);
    pool.f32(pq, channels).fill(0);
    pool.f32(pr, channels).set(r);
    pool.run('affineClip', items, [px, pm, py, rows, channels, pp, pq, pr, hi, rowsPerItem]);
  });
  return true;
}

/**
 * The gradient's first pass: dm = dy where 0 < p·(x − μ) + β ≤ hi (the batch norm's output, recomputed),
 * else 0; returns Σ dm and Σ dm·(x − μ) per channel (float32 per 32-row block, float64 over the blocks
 * in order, as channelSumsOnHeap). Undefined off the heap.
 */
export function clipGradSumsOnHeap(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  dm: Float32Array,
  channels: number,
  [p, r]: [Float32Array, Float32Array],
  hi: number,
): { sumU: Float64Array; sumUV: Float64Array } | undefined {
  const pool = kernelPool();
  const pointers = simdChannelsOk(channels) ? pool?.pointers([dy, x, dm]) : undefined;
  if (!pool || !pointers) return undefined;
  const [pdy, px, pdm] = pointers;
  const rows = x.length / channels;
  const blocks = Math.ceil(rows / 32);
  const [items, blocksPerItem] = splitCached(pool, blocks, 32 * channels);
  const c4 = 4 * channels;
  return pool.withScratch(
    [c4, c4, c4, c4, c4, blocks * 2 * c4, 16 * channels],
    ([pm, zeros, pp, pq, pr, sums, totals]) => {
      pool.f32(pm, channels).set(mean);
      pool.f32(zeros, channels).fill(0);
      pool.f32(pp, channels).set(p);
      pool.f32(pq, channels).fill(0);
      pool.f32(pr, channels).set(r);
      pool.run('clipGradBlockSums', items, [
        ...[pdy, px, pm, zeros, pdm, rows, channels, pp, pq, pr, hi, sums, blocksPerItem],
      ]);
      pool.f64(totals, 2 * channels).fill(0);
      pool.main.simd.fold_block_sums(sums, blocks, channels, totals, totals + 8 * channels);
      const both = pool.f64(totals, 2 * channels);
      return { sumU: both.slice(0, channels), sumUV: both.slice(channels) };
    },
  );
}
