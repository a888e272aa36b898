/**
 * The work the kernel pool shares out: each task splits one kernel call into numbered items, and an item
 * is one call of a function of simdKernels.wat / convKernels.wat on its own part of the data (a range of
 * values or rows, or one tile of a weight gradient). The main thread and every worker run the same
 * function for an item, whichever thread claims it, and no item adds into another's output, so the result
 * is the same for any thread count and any order in which items are claimed. Arguments are numbers
 * (pointers into the shared heap, sizes), in the order each task's comment gives.
 */
import type { KernelInstance } from './kernelInstance';

export const TASK_NAMES = [
  'clip',
  'reluGrad',
  'blockSums',
  'affine',
  'gemmRows',
  'filterGrad',
  'depthwiseRows',
  'depthwiseInputGradRows',
  'depthwiseFilterGradImages',
  'adamStep',
  'gemmRowsBatchNorm',
  'depthwiseRowsBatchNorm',
  'affineClip',
  'clipGradBlockSums',
  'transposeRows',
  'sumImageTotals',
] as const;
export type TaskName = (typeof TASK_NAMES)[number];

type Task = (k: KernelInstance, item: number, a: Float64Array) => void;

/** The rows of one item: [first, count) within `rows`, `perItem` to an item. */
function rowsOf(item: number, perItem: number, rows: number): [number, number] {
  const first = item * perItem;
  return [first, Math.max(0, Math.min(perItem, rows - first))];
}

/**
 * Output rows i (and columns j) of a convolution whose filter tap at offset `tapOffset` (r·dilation − pad)
 * lands inside the input: [min, end).
 */
export function tapRange(
  tapOffset: number,
  stride: number,
  inSize: number,
  outSize: number,
): [number, number] {
  const min = Math.max(0, Math.ceil(-tapOffset / stride));
  const end = Math.min(outSize, Math.floor((inSize - 1 - tapOffset) / stride) + 1);
  return [min, end];
}

/**
 * The epilogue of a convolution fused with an inference-mode batch norm (and a ReLU with a ceiling): on
 * `rows` rows of c channels the item has just written at y, still in its cache, y = p·(y − μ) + q·y + β
 * (q = 0: the batch-norm kernel's own call of channel_affine), then min(max(y, 0), hi) when `clip` is 1 —
 * the same float32 operations, value by value, as the batch-norm and ClipByValue kernels run one after
 * the other. Arguments: μ, p, q, β, clip, hi.
 */
function batchNormRows(k: KernelInstance, y: number, rows: number, c: number, epilogue: Float64Array): void {
  const [mean, p, q, beta, clip, hi] = epilogue;
  k.simd.channel_affine(y, mean, y, y, rows, c, p, q, beta);
  if (clip === 1) k.simd.clip(y, y, rows * c, 0, hi);
}

const TASKS: Record<TaskName, Task> = {
  // x, y, n, lo, hi, valuesPerItem
  clip: (k, item, [x, y, n, lo, hi, per]) => {
    const [first, count] = rowsOf(item, per, n);
    k.simd.clip(x + 4 * first, y + 4 * first, count, lo, hi);
  },
  // dy, x, dx, n, hi, valuesPerItem
  reluGrad: (k, item, [dy, x, dx, n, hi, per]) => {
    const [first, count] = rowsOf(item, per, n);
    k.simd.clipped_relu_grad(dy + 4 * first, x + 4 * first, dx + 4 * first, count, hi);
  },
  // a, ca, b, cb, rows, c, out, blocksPerItem (blocks of 32 rows; out: 2·c floats per block)
  blockSums: (k, item, [a, ca, b, cb, rows, c, out, blocks]) => {
    const [first, count] = rowsOf(item, blocks * 32, rows);
    const rowBytes = 4 * c;
    k.simd.channel_block_sums(
      a + first * rowBytes,
      ca,
      b + first * rowBytes,
      cb,
      count,
      c,
      out + item * blocks * 2 * rowBytes,
    );
  },
  // a, ca, b, out, rows, c, p, q, r, rowsPerItem
  affine: (k, item, [a, ca, b, out, rows, c, p, q, r, per]) => {
    const [first, count] = rowsOf(item, per, rows);
    const offset = first * 4 * c;
    k.simd.channel_affine(a + offset, ca, b + offset, out + offset, count, c, p, q, r);
  },
  // a, aStride, b, k, n, c, cStride, rows, rowsPerItem
  gemmRows: (k, item, [a, aStride, b, depth, n, c, cStride, rows, per]) => {
    const [first, count] = rowsOf(item, per, rows);
    k.conv.gemm_rows(a + first * aStride, aStride, b, depth, n, c + first * cStride, cStride, count);
  },
  // x, dy, dw, batch, inH, inW, outH, outW, cin, cout, kW, sH, sW, top, left, ciBlocks, coBlocks, coGroup,
  // coGroups — one item per filter tap × block of 4 input channels × group of `coGroup` blocks of 8
  // output channels (no dilation)
  filterGrad: (k, item, a) => {
    const [x, dy, dw, batch, inH, inW, outH, outW, cin, cout, kW, sH, sW, top, left] = a;
    const [ciBlocks, coBlocks, coGroup, coGroups] = a.subarray(15, 19);
    const cog = item % coGroups;
    const cib = Math.floor(item / coGroups) % ciBlocks;
    const tap = Math.floor(item / (coGroups * ciBlocks));
    const r = Math.floor(tap / kW);
    const s = tap - r * kW;
    const ci0 = cib * 4;
    const rows = Math.min(4, cin - ci0);
    const [iMin, iEnd] = tapRange(r - top, sH, inH, outH);
    const [jMin, jEnd] = tapRange(s - left, sW, inW, outW);
    const n = jEnd - jMin;
    const [cinBytes, coutBytes] = [cin * 4, cout * 4];
    for (let cob = cog * coGroup; cob < Math.min(coBlocks, (cog + 1) * coGroup); cob++) {
      const co0 = cob * 8;
      const wide = cout - co0 >= 8;
      const out = dw + ((tap * cin + ci0) * cout + co0) * 4;
      if (iEnd <= iMin || n <= 0) {
        for (let ci = 0; ci < rows; ci++)
          new Float32Array(k.memory.buffer, out + ci * coutBytes, wide ? 8 : 4).fill(0);
        continue;
      }
      const tile =
        rows === 4
          ? wide
            ? k.conv.filter_grad_4x8
            : k.conv.filter_grad_4x4
          : wide
            ? k.conv.filter_grad_1x8
            : k.conv.filter_grad_1x4;
      for (let ci = 0; ci < rows; ci += rows === 4 ? 4 : 1) {
        tile(
          x + (ci0 + ci) * 4,
          dy + co0 * 4,
          out + ci * coutBytes,
          coutBytes,
          batch,
          iMin,
          iEnd,
          jMin,
          n,
          r - top,
          s - left,
          inH,
          inW,
          outH,
          outW,
          cinBytes,
          coutBytes,
          sH,
          sW,
        );
      }
    }
  },
  // gemmRows' arguments, then μ, p, q, β, clip, hi (batchNormRows)
  gemmRowsBatchNorm: (k, item, a) => {
    const [x, aStride, b, depth, n, c, cStride, rows, per] = a;
    const [first, count] = rowsOf(item, per, rows);
    k.conv.gemm_rows(x + first * aStride, aStride, b, depth, n, c + first * cStride, cStride, count);
    batchNormRows(k, c + first * cStride, count, n, a.subarray(9, 15));
  },
  // depthwiseRows' arguments, then μ, p, q, β, clip, hi (batchNormRows)
  depthwiseRowsBatchNorm: (k, item, a) => {
    const [x, w, y, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left, rows, per] = a;
    const [first, count] = rowsOf(item, per, rows);
    k.conv.depthwise_rows(x, w, y, first, first + count, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left);
    batchNormRows(k, y + first * outW * c * 4, count * outW, c, a.subarray(16, 22));
  },
  // x, μ, y, rows, c, p, q, r, hi, rowsPerItem: y = p·(x − μ) + q·x + r, then min(max(y, 0), hi), per item
  // (batch norm in training mode → ReLU6, batchNormClip.ts)
  affineClip: (k, item, [x, mean, y, rows, c, p, q, r, hi, per]) => {
    const [first, count] = rowsOf(item, per, rows);
    const offset = first * 4 * c;
    k.simd.channel_affine(x + offset, mean, x + offset, y + offset, count, c, p, q, r);
    k.simd.clip(y + offset, y + offset, count * c, 0, hi);
  },
  // dy, x, μ, zeros, dm, rows, c, p, q, r, hi, sums, blocksPerItem — that kernel's gradient, first pass:
  // the batch norm's output recomputed into dm, dm = dy where 0 < it ≤ hi (ReLU6's gradient), then the
  // block sums of dm and dm·(x − μ) (blocks of 32 rows, as blockSums)
  clipGradBlockSums: (k, item, [dy, x, mean, zeros, dm, rows, c, p, q, r, hi, sums, blocks]) => {
    const [first, count] = rowsOf(item, blocks * 32, rows);
    const offset = first * 4 * c;
    k.simd.channel_affine(x + offset, mean, x + offset, dm + offset, count, c, p, q, r);
    k.simd.clipped_relu_grad(dy + offset, dm + offset, dm + offset, count * c, hi);
    k.simd.channel_block_sums(dm + offset, zeros, x + offset, mean, count, c, sums + item * blocks * 8 * c);
  },
  // x, w, y, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left, rows (batch·outH), rowsPerItem
  depthwiseRows: (k, item, a) => {
    const [x, w, y, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left, rows, per] = a;
    const [first, count] = rowsOf(item, per, rows);
    k.conv.depthwise_rows(x, w, y, first, first + count, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left);
  },
  // dy, w, dx, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left, rows (batch·inH), rowsPerItem
  depthwiseInputGradRows: (k, item, a) => {
    const [dy, w, dx, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left, rows, per] = a;
    const [first, count] = rowsOf(item, per, rows);
    k.conv.depthwise_input_grad_rows(
      ...[dy, w, dx, first, first + count, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left],
    );
  },
  // x, dy, totals (float64, taps·c per item), scratch (taps·c floats per item), inH, inW, c, outH, outW,
  // kH, kW, sH, sW, top, left — one item per image, each into its own totals (zeroed here, in parallel)
  depthwiseFilterGradImages: (k, image, a) => {
    const [x, dy, totals, scratch, inH, inW, c, outH, outW, kH, kW, sH, sW, top, left] = a;
    const values = kH * kW * c;
    const imageTotals = totals + image * values * 8;
    new Float64Array(k.memory.buffer, imageTotals, values).fill(0);
    k.conv.depthwise_filter_grad_rows(
      ...[x, dy, imageTotals, scratch + image * values * 4, image * outH, (image + 1) * outH],
      ...[inH, inW, c, outH, outW, kH, kW, sH, sW, top, left],
    );
  },
  // totals (float64, images × values), images, values, out, valuesPerItem: out = Σ over images, in order
  sumImageTotals: (k, item, [totals, images, values, out, per]) => {
    const [first, count] = rowsOf(item, per, values);
    k.conv.sum_image_totals(totals, images, values, out, first, first + count);
  },
  // src (rows × cols floats), dst (cols × rows), rows, cols, dstRowsPerItem: dst = srcᵀ
  transposeRows: (k, item, [src, dst, rows, cols, per]) => {
    const [first, count] = rowsOf(item, per, cols);
    k.conv.transpose_rows(src, dst, rows, cols, first, first + count);
  },
  // w, m, v, g, outW, outM, outV, n, b1, c1, b2, c2, d1, d2, eps, negLr, valuesPerItem
  adamStep: (k, item, a) => {
    const [w, m, v, g, ow, om, ov, n] = a;
    const [first, count] = rowsOf(item, a[16], n);
    const at = 4 * first;
    k.simd.adam_step(w + at, m + at, v + at, g + at, ow + at, om + at, ov + at, count, ...a.subarray(8, 16));
  },
};

export function runTaskItem(k: KernelInstance, task: number, item: number, args: Float64Array): void {
  TASKS[TASK_NAMES[task]](k, item, args);
}
