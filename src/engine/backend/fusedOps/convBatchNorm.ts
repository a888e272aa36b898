/**
 * A convolution followed by an inference-mode batch norm and, optionally, a ReLU with a ceiling (ReLU6) —
 * MobileNet's conv → BN → ReLU6 block in a frozen backbone, a validation pass, prediction — as one kernel.
 *
 * Why: run one after the other, the batch norm and the clip each take a full pass over the convolution's
 * output (on the bench's MobileNet a quarter of a forward pass on wasm). On the kernel pool (the wasm
 * backend's threaded build) each item of the convolution normalises and clips the rows it has just
 * written while they are still in its cache: the same float32 operations, value by value, as the three
 * kernels (the pool's 1×1 / depthwise convolution, FineTuneBatchNormInference, ClipByValue), so the same
 * bits. Every other case (the cpu backend, no pool, a geometry the pool's convolutions do not take) runs
 * exactly those three kernels in a row, inside this one.
 *
 * No gradient: the chains that use it (fusedChains.ts) run only when no gradient tape records.
 */
import * as tf from '@tensorflow/tfjs-core';
import { kernelPool } from '../wasmThreads/kernelPool';
import {
  depthwiseArgs,
  depthwiseGeometry,
  depthwiseSplit,
  gemmSplit,
  pointwiseGeometry,
} from '../wasmKernels/parallelConv';
import type { BackendWasm, KernelArgs } from '../wasmKernels/wasmKernelCalls';
import { BATCH_NORM_INFERENCE, inferenceScale, registerBatchNormInference } from './batchNormInference';
import { FLOAT_KERNEL_BACKENDS } from './floatKernel';

export const CONV_BATCH_NORM = 'FineTuneConvBatchNorm';

export interface ConvBatchNormAttrs {
  /** DepthwiseConv2dNative (channel multiplier 1) instead of Conv2D. */
  depthwise: boolean;
  strides: [number, number];
  pad: 'same' | 'valid';
  dilations: [number, number];
  epsilon: number;
  /** The ReLU's ceiling, or null for no ReLU. */
  clipMax: number | null;
}

interface Inputs {
  x: tf.TensorInfo;
  filter: tf.TensorInfo;
  mean: tf.TensorInfo;
  variance: tf.TensorInfo;
  gamma: tf.TensorInfo;
  beta: tf.TensorInfo;
}

function convAttrs(a: ConvBatchNormAttrs): tf.Conv2DAttrs {
  return { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: a.dilations } as tf.Conv2DAttrs;
}

function kernelOf(name: string, backendName: string): tf.KernelConfig {
  const kernel = tf.getKernel(name, backendName);
  if (kernel === undefined) throw new Error(`the ${backendName} backend has no ${name} kernel`);
  return kernel;
}

/** The three kernels in a row, intermediates freed: what the pool path is the same bits as. */
function composed(backendName: string, { inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, filter, mean, variance, gamma, beta } = inputs as unknown as Inputs;
  const a = attrs as unknown as ConvBatchNormAttrs;
  const disposer = backend as unknown as { disposeData(dataId: tf.DataId): void };
  const run = (
    name: string,
    kernelInputs: Record<string, tf.TensorInfo>,
    kernelAttrs: object,
  ): tf.TensorInfo =>
    kernelOf(name, backendName).kernelFunc({
      inputs: kernelInputs,
      backend,
      attrs: kernelAttrs as tf.NamedAttrMap,
    }) as tf.TensorInfo;
  const conv = run(a.depthwise ? tf.DepthwiseConv2dNative : tf.Conv2D, { x, filter }, convAttrs(a));
  let normalised: tf.TensorInfo;
  try {
    normalised = run(BATCH_NORM_INFERENCE, { x: conv, mean, variance, gamma, beta }, { epsilon: a.epsilon });
  } finally {
    disposer.disposeData(conv.dataId);
  }
  if (a.clipMax === null) return normalised;
  try {
    return run(tf.ClipByValue, { x: normalised }, { clipValueMin: 0, clipValueMax: a.clipMax });
  } finally {
    disposer.disposeData(normalised.dataId);
  }
}

/** The fused pass on the kernel pool, or undefined when the call is not one it takes. */
function onPool({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const pool = kernelPool();
  const all = inputs as unknown as Inputs;
  if (!pool || Object.values(all).some((info) => info.dtype !== 'float32')) return undefined;
  const { x, filter, mean, variance, gamma, beta } = all;
  const a = attrs as unknown as ConvBatchNormAttrs;
  const wasm = backend as BackendWasm;
  const depthwise = a.depthwise ? depthwiseGeometry(x.shape, filter.shape, a, undefined) : undefined;
  const pointwise = a.depthwise ? undefined : pointwiseGeometry(x.shape, filter.shape, convAttrs(a));
  const info = depthwise?.info ?? pointwise;
  if (!info) return undefined;
  const channels = info.outChannels;
  if (channels % 4 !== 0 || mean.shape[0] !== channels) return undefined;
  const heap = (t: tf.TensorInfo): Float32Array => wasm.typedArrayFromHeap(t) as Float32Array;
  const scale = inferenceScale(heap(gamma), heap(variance), a.epsilon);
  const out = wasm.makeOutput(info.outShape, 'float32');
  const pointers = pool.pointers([x, filter, out, mean, beta].map(heap));
  if (!pointers) {
    wasm.disposeData(out.dataId);
    return undefined;
  }
  const [px, pw, py, pmean, pbeta] = pointers;
  const c4 = 4 * channels;
  pool.withScratch([c4, c4], ([pp, pq]) => {
    pool.f32(pp, channels).set(scale);
    pool.f32(pq, channels).fill(0);
    const epilogue = [pmean, pp, pq, pbeta, a.clipMax === null ? 0 : 1, a.clipMax ?? 0];
    if (depthwise) {
      const [items, rowsPerItem, rows] = depthwiseSplit(pool, depthwise);
      pool.run('depthwiseRowsBatchNorm', items, [
        ...[px, pw, py, ...depthwiseArgs(depthwise), rows, rowsPerItem],
        ...epilogue,
      ]);
    } else {
      const rows = info.batchSize * info.outHeight * info.outWidth;
      const depth = info.inChannels;
      const [items, rowsPerItem] = gemmSplit(pool, rows, depth, channels);
      pool.run('gemmRowsBatchNorm', items, [
        ...[px, 4 * depth, pw, depth, channels, py, c4, rows, rowsPerItem],
        ...epilogue,
      ]);
    }
  });
  return out;
}

let registered = false;

/** Registers the kernel on wasm and cpu (idempotent). */
export function registerConvBatchNorm(): void {
  if (registered) return;
  registered = true;
  registerBatchNormInference();
  for (const backendName of FLOAT_KERNEL_BACKENDS) {
    if (tf.getKernel(CONV_BATCH_NORM, backendName) !== undefined) continue;
    tf.registerKernel({
      kernelName: CONV_BATCH_NORM,
      backendName,
      kernelFunc: (args) =>
        (backendName === 'wasm' ? onPool(args) : undefined) ?? composed(backendName, args),
    });
  }
}

/**
 * y = clip(BN(conv(x, filter)), 0, clipMax) with the batch norm's moving statistics (no clip when
 * clipMax is null): the same values as the three ops in a row. Not differentiable.
 */
export function convBatchNorm(
  x: tf.Tensor,
  filter: tf.Tensor,
  stats: { mean: tf.Tensor; variance: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor },
  attrs: ConvBatchNormAttrs,
): tf.Tensor {
  registerConvBatchNorm();
  return tf
    .engine()
    .runKernel(CONV_BATCH_NORM, { x, filter, ...stats }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
