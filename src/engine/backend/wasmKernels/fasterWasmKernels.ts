/**
 * Kernels the wasm backend has but that dominate a training step, replaced by faster ones (measured on
 * MobileNet-v1 α 0.25, 96×96, batch 32: Tile ~460 ms and Conv2DBackpropInput ~200 ms of a 1.4 s step).
 * tfjs refuses to register a kernel twice, so the backend's own is unregistered first; it stays
 * reachable: a replacement handles the cases it is faster for and hands every other call to it, and the
 * backend's setup function is kept (it runs when the backend initialises after this).
 */
import * as tf from '@tensorflow/tfjs-core';
import { parallelClip, parallelConv2D, parallelDepthwise, parallelPointwiseInputGrad } from './parallelConv';
import { pointwiseBackpropInput } from './pointwiseBackpropInput';
import { tileByCopies } from './tileByCopies';
import { transposedMatMul } from './transposedMatMul';
import type { KernelArgs } from './wasmKernelCalls';

interface Replacement {
  kernelName: string;
  /** The result, or undefined to use the backend's own kernel for this call. */
  fast: (args: KernelArgs) => tf.TensorInfo | undefined;
}

/**
 * tfjs clones every tensor it saves for the backward pass (hundreds per step), and the wasm backend's
 * Identity copies the data. Tensors are immutable and the backend counts references to shared data (its
 * Reshape shares it the same way), so sharing is enough — as the cpu backend's Identity does.
 */
function shareData({ inputs, backend }: KernelArgs): tf.TensorInfo | undefined {
  const { x } = inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return undefined;
  (backend as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const WASM_FASTER_KERNELS: readonly Replacement[] = [
  { kernelName: tf.Identity, fast: shareData },
  { kernelName: tf.Tile, fast: tileByCopies },
  {
    kernelName: tf.Conv2DBackpropInput,
    fast: (args) => parallelPointwiseInputGrad(args) ?? pointwiseBackpropInput(args),
  },
  // On the kernel pool's threads when the threaded build runs (parallelConv.ts), else the backend's own.
  { kernelName: tf.Conv2D, fast: parallelConv2D },
  { kernelName: tf.DepthwiseConv2dNative, fast: parallelDepthwise },
  { kernelName: tf.ClipByValue, fast: parallelClip },
  // Dense layers' backward products (xᵀ·dy, dy·Wᵀ): the backend's transposed product is a generic loop.
  { kernelName: tf.BatchMatMul, fast: transposedMatMul },
];

const ours = new WeakSet<tf.KernelConfig>();

/** Installs each replacement over the wasm backend's kernel (once); returns the names replaced now. */
export function replaceSlowWasmKernels(): string[] {
  const replaced: string[] = [];
  for (const { kernelName, fast } of WASM_FASTER_KERNELS) {
    const own = tf.getKernel(kernelName, 'wasm');
    if (own === undefined || ours.has(own)) continue;
    const config: tf.KernelConfig = {
      kernelName,
      backendName: 'wasm',
      ...(own.setupFunc ? { setupFunc: own.setupFunc } : {}),
      ...(own.disposeFunc ? { disposeFunc: own.disposeFunc } : {}),
      kernelFunc: (args) => fast(args as KernelArgs) ?? (own.kernelFunc(args) as tf.TensorInfo),
    };
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel(config);
    ours.add(config);
    replaced.push(kernelName);
  }
  return replaced;
}

/** Whether the wasm backend's kernel of this name is one of ours. */
export function isFasterWasmKernel(kernelName: string): boolean {
  const kernel = tf.getKernel(kernelName, 'wasm');
  return kernel !== undefined && ours.has(kernel);
}
