/**
 * BatchMatMul with a transposed operand, as a Transpose followed by the plain product.
 *
 * Why: the wasm backend hands only the untransposed product to XNNPACK; with transposeA or transposeB it
 * runs a generic loop instead. Every Dense layer's backward pass asks for exactly those (dW = xᵀ·dy,
 * dx = dy·Wᵀ), so a head-only run on cached activations spent most of each step there: on a
 * [32, 1024] × [1024, 10] head, xᵀ·dy took 886 µs through the loop and 125 µs as a Transpose plus the
 * plain product (dy·Wᵀ: 375 µs). Transposing costs one pass over the operand, the product m·n·k
 * multiply-adds, so the copy is always the smaller part.
 *
 * The sums then run in XNNPACK's order instead of the loop's: the same values up to float32 rounding
 * (tested against the cpu backend), and the same bits from one run to the next.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runWasmKernel, withTemporaries, type BackendWasm, type KernelArgs } from './wasmKernelCalls';

/** The permutation that swaps a tensor's last two axes and keeps the batch axes in front. */
function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/** The product with every transposed operand transposed explicitly; undefined when no operand is. */
export function transposedMatMul({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo | undefined {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if (!transposeA && !transposeB) return undefined;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return undefined;
  }
  const wasm = backend as BackendWasm;
  return withTemporaries(wasm, (temp) => {
    const plain = (x: tf.TensorInfo, transposed: boolean): tf.TensorInfo =>
      transposed ? temp(runWasmKernel(wasm, 'Transpose', { x }, { perm: swapLastTwo(x.shape.length) })) : x;
    // Both flags false now, so this call reaches the backend's own kernel and XNNPACK.
    return runWasmKernel(
      wasm,
      'BatchMatMul',
      { a: plain(a, transposeA), b: plain(b, transposeB) },
      { transposeA: false, transposeB: false },
    );
  });
}
