/**
 * The convolution kernels of a MobileNet-style training step on the kernel pool's threads (convKernels.wat
 * via ../wasmThreads/), in place on the wasm backend's shared heap: the 1×1 convolution and its input
 * gradient as matrix products, every convolution's weight gradient, the depthwise convolution and its
 * input gradient, and ClipByValue (ReLU6). XNNPACK — the backend's own kernels — runs on one thread here:
 * its pool wakes its threads through a futex for every call, which on a 2-core virtual machine cost more
 * than the threads gained (measured: a MobileNet step was no faster on 2 threads than on 1), and it packs
 * a weight gradient's whole input before multiplying. Each function returns undefined when the call is
 * not one it takes (no pool: the single-threaded build or the cpu backend; another layout, dtype or
 * geometry), and the caller runs the previous kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelPool, type KernelPool } from '../wasmThreads/kernelPool';
import { MAX_ITEMS } from '../wasmThreads/poolControl';
import { clipOnHeap } from '../wasmThreads/heapKernels';
import type { BackendWasm, KernelArgs } from './wasmKernelCalls';

/** Fewest multiply-adds an item of a convolution task gets. */
const MIN_MACS_PER_ITEM = 1 << 16;

interface Heap {
  pool: KernelPool;
  wasm: BackendWasm;
}

/** The pool, when there is one and every tensor is float32 (the kernels' only type). */
function heapFor(backend: unknown, infos: (tf.TensorInfo | undefined)[]): Heap | undefined {
  const pool = kernelPool();
  if (!pool || infos.some((info) => info === undefined || info.dtype !== 'float32')) return undefined;
  return { pool, wasm: backend as BackendWasm };
}

/** Byte offsets of tensors in the heap (taken after every allocation of the call), or undefined. */
function pointersOf(heap: Heap, infos: tf.TensorInfo[]): number[] | undefined {
  return heap.pool.pointers(infos.map((info) => heap.wasm.typedArrayFromHeap(info) as Float32Array));
}

function channelsLast(dataFormat: unknown): boolean {
  return (
    tf.backend_util.convertConv2DDataFormat((dataFormat as 'NHWC' | 'NCHW') ?? 'NHWC') === 'channelsLast'
  );
}

function unpadded(info: tf.backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return top === 0 && bottom === 0 && left === 0 && right === 0;
}

/** rows × depth → rows × n by gemm_rows on the pool; the caller owns `out`. */
function gemm(heap: Heap, [a, b, c]: number[], rows: number, depth: number, n: number): void {
  const [items, rowsPerItem] = gemmSplit(heap.pool, rows, depth, n);
  heap.pool.run('gemmRows', items, [a, 4 * depth, b, depth, n, c, 4 * n, rows, rowsPerItem]);
}

/**
 * The geometry of a Conv2D the pool's matrix product takes — a 1×1 filter at stride 1, no padding or
 * dilation, NHWC, output channels in fours — or undefined.
 */
export function pointwiseGeometry(
  xShape: number[],
  filterShape: number[],
  { strides, pad, dataFormat, dilations, dimRoundingMode }: tf.Conv2DAttrs,
): tf.backend_util.Conv2DInfo | undefined {
  if (!channelsLast(dataFormat) || xShape.length !== 4) return undefined;
  const [fh, fw, , cout] = filterShape;
  if (fh !== 1 || fw !== 1 || cout % 4 !== 0) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
  );
  const unit =
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1;
  return unit && unpadded(info) ? info : undefined;
}

/** [items, rows per item] of a pointwise convolution's matrix product (gemmRows). */
export function gemmSplit(pool: KernelPool, rows: number, depth: number, n: number): [number, number] {
  return pool.split(rows, Math.max(4, Math.ceil(MIN_MACS_PER_ITEM / (depth * n))));
}

/** Conv2D with a 1×1 filter at stride 1, no padding or dilation: y = x · W as [positions, Cin]·[Cin, Cout]. */
export function parallelConv2D({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const heap = heapFor(backend, [x, filter]);
  if (!heap) return undefined;
  const info = pointwiseGeometry(x.shape, filter.shape, attrs as unknown as tf.Conv2DAttrs);
  if (!info) return undefined;
  const out = heap.wasm.makeOutput(info.outShape, 'float32');
  const pointers = pointersOf(heap, [x, filter, out]);
  if (!pointers) return discard(heap, out);
  gemm(heap, pointers, info.batchSize * info.outHeight * info.outWidth, info.inChannels, info.outChannels);
  return out;
}

/** Conv2DBackpropInput of a 1×1 stride-1 unpadded convolution: dx = dy · Wᵀ, Wᵀ transposed first. */
export function parallelPointwiseInputGrad({
  inputs,
  backend,
  attrs,
}: KernelArgs): tf.TensorInfo | undefined {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const heap = heapFor(backend, [dy, filter]);
  if (!heap || !channelsLast(dataFormat)) return undefined;
  const [fh, fw, cin, cout] = filter.shape;
  if (fh !== 1 || fw !== 1 || cin % 4 !== 0) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || !unpadded(info)) return undefined;
  const out = heap.wasm.makeOutput(inputShape, 'float32');
  const pointers = pointersOf(heap, [dy, filter, out]);
  if (!pointers) return discard(heap, out);
  const [pdy, pw, pdx] = pointers;
  heap.pool.withScratch([4 * cin * cout], ([transposed]) => {
    // Wᵀ on the pool too: a serial JavaScript transpose cost ~2 ms per MobileNet step.
    const [items, perItem] = heap.pool.split(cout, 16);
    heap.pool.run('transposeRows', items, [pw, transposed, cin, cout, perItem]);
    gemm(heap, [pdy, transposed, pdx], info.batchSize * info.inHeight * info.inWidth, cout, cin);
  });
  return out;
}

/**
 * Conv2DBackpropFilter of any NHWC convolution without dilation (output channels in fours): one item per
 * filter tap × 4 input channels × a group of 8-channel output blocks, each reducing over every position.
 */
export function parallelFilterGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const heap = heapFor(backend, [x, dy]);
  if (!heap || !channelsLast(dataFormat)) return undefined;
  const [kH, kW, cin, cout] = filterShape;
  if (cout % 4 !== 0) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  // A 1×1 stride-1 unpadded convolution is one long row of positions (fewer row starts in the loops).
  const flat = kH === 1 && kW === 1 && info.strideHeight === 1 && info.strideWidth === 1 && unpadded(info);
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const geometry = flat
    ? [1, 1, positions, 1, positions]
    : [info.batchSize, info.inHeight, info.inWidth, info.outHeight, info.outWidth];
  const ciBlocks = Math.ceil(cin / 4);
  const coBlocks = Math.ceil(cout / 8);
  const tiles = kH * kW * ciBlocks;
  // Enough 8-channel blocks per item that an item's work outweighs claiming it (and items ≤ MAX_ITEMS).
  const macsPerBlock = 32 * info.batchSize * info.outHeight * info.outWidth;
  const coGroup = Math.min(
    coBlocks,
    Math.max(Math.ceil((tiles * coBlocks) / MAX_ITEMS), Math.ceil(MIN_MACS_PER_ITEM / macsPerBlock)),
  );
  const coGroups = Math.ceil(coBlocks / coGroup);
  const out = heap.wasm.makeOutput(filterShape, 'float32');
  const pointers = pointersOf(heap, [x, dy, out]);
  if (!pointers) return discard(heap, out);
  heap.pool.run('filterGrad', tiles * coGroups, [
    ...pointers,
    ...geometry,
    ...[cin, cout, kW, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left],
    ...[ciBlocks, coBlocks, coGroup, coGroups],
  ]);
  return out;
}

export interface DepthwiseGeometry {
  info: tf.backend_util.Conv2DInfo;
  channels: number;
}

/** The geometry the depthwise kernels take (multiplier 1, channels in fours, no dilation), or undefined. */
export function depthwiseGeometry(
  inputShape: number[],
  filterShape: number[],
  attrs: { strides: number | [number, number]; dilations?: number | [number, number]; pad: unknown },
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
): DepthwiseGeometry | undefined {
  const [, , channels, multiplier] = filterShape;
  if (multiplier !== 1 || channels % 4 !== 0 || inputShape.length !== 4) return undefined;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad as 'same' | 'valid',
    dimRoundingMode,
    true,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  return { info, channels };
}

export function depthwiseArgs({ info, channels }: DepthwiseGeometry): number[] {
  return [
    ...[info.inHeight, info.inWidth, channels, info.outHeight, info.outWidth],
    ...[info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth],
    ...[info.padInfo.top, info.padInfo.left],
  ];
}

/** [items, output rows per item, output rows] of a depthwise convolution (depthwiseRows). */
export function depthwiseSplit(
  pool: KernelPool,
  { info, channels }: DepthwiseGeometry,
): [number, number, number] {
  const rows = info.batchSize * info.outHeight;
  const macsPerRow = info.outWidth * channels * info.filterHeight * info.filterWidth;
  return [...pool.split(rows, Math.ceil(MIN_MACS_PER_ITEM / macsPerRow)), rows];
}

/** DepthwiseConv2dNative (NHWC, multiplier 1, channels in fours, no dilation): rows of the output per item. */
export function parallelDepthwise({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeAttrs;
  const heap = heapFor(backend, [x, filter]);
  if (!heap || !channelsLast(a.dataFormat)) return undefined;
  const geometry = depthwiseGeometry(x.shape, filter.shape, a, a.dimRoundingMode);
  if (!geometry) return undefined;
  const { info } = geometry;
  const [items, rowsPerItem, rows] = depthwiseSplit(heap.pool, geometry);
  const out = heap.wasm.makeOutput(info.outShape, 'float32');
  const pointers = pointersOf(heap, [x, filter, out]);
  if (!pointers) return discard(heap, out);
  heap.pool.run('depthwiseRows', items, [...pointers, ...depthwiseArgs(geometry), rows, rowsPerItem]);
  return out;
}

/** DepthwiseConv2dNativeBackpropInput for the same geometries: rows of dx per item (gathered, no spread). */
export function parallelDepthwiseInputGrad({
  inputs,
  backend,
  attrs,
}: KernelArgs): tf.TensorInfo | undefined {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const heap = heapFor(backend, [dy, filter]);
  if (!heap) return undefined;
  const geometry = depthwiseGeometry(a.inputShape, filter.shape, a, a.dimRoundingMode);
  if (!geometry) return undefined;
  const { info, channels } = geometry;
  const rows = info.batchSize * info.inHeight;
  const macsPerRow =
    (info.inWidth * channels * info.filterHeight * info.filterWidth) / (info.strideHeight * info.strideWidth);
  const [items, rowsPerItem] = heap.pool.split(rows, Math.ceil(MIN_MACS_PER_ITEM / macsPerRow));
  const out = heap.wasm.makeOutput(a.inputShape, 'float32');
  const pointers = pointersOf(heap, [dy, filter, out]);
  if (!pointers) return discard(heap, out);
  heap.pool.run('depthwiseInputGradRows', items, [
    ...pointers,
    ...depthwiseArgs(geometry),
    rows,
    rowsPerItem,
  ]);
  return out;
}

/** ClipByValue on float32 (ReLU6's forward pass): in place on the heap, on the pool. */
export function parallelClip({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { x } = inputs as { x: tf.TensorInfo };
  const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
  const heap = heapFor(backend, [x]);
  if (!heap) return undefined;
  const out = heap.wasm.makeOutput(x.shape, 'float32');
  const done = clipOnHeap(
    heap.wasm.typedArrayFromHeap(x) as Float32Array,
    heap.wasm.typedArrayFromHeap(out) as Float32Array,
    clipValueMin,
    clipValueMax,
  );
  return done ? out : discard(heap, out);
}

/** An output allocated before the heap check failed: freed, and the caller's fallback runs. */
function discard(heap: Heap, out: tf.TensorInfo): undefined {
  heap.wasm.disposeData(out.dataId);
  return undefined;
}
