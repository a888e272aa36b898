/**
 * ReLU with a ceiling (Keras' `ReLU(max_value=6)`, MobileNet's ReLU6) as one kernel with one gradient
 * kernel, for the CPU backends.
 *
 * Why: tfjs-layers computes it as `clipByValue(relu(x), 0, max)`, whose gradient tfjs-core builds from
 * GreaterEqual, LessEqual, LogicalAnd, ZerosLike, Select, Step and Multiply — seven full passes per layer
 * and step, a fifth of a MobileNet training step on wasm. The gradient here is the same function in one
 * pass: dy where 0 < x ≤ max, else 0 (relu passes x > 0; the clip passes its input ≤ max), a
 * WebAssembly SIMD loop (simdKernels.wat).
 */
import * as tf from '@tensorflow/tfjs-core';
import { FLOAT_KERNEL_BACKENDS, registerFloatKernel } from './floatKernel';
import { clippedReluGradSimd } from './simdKernels';

export const CLIPPED_RELU = 'FineTuneClippedRelu';
export const CLIPPED_RELU_GRAD = 'FineTuneClippedReluGrad';

interface Attrs {
  max: number;
}

let registered = false;

/** Registers both kernels (wasm and cpu) and the forward kernel's gradient; idempotent. */
export function registerClippedRelu(): void {
  if (registered) return;
  registered = true;
  // The forward pass is the backend's own ClipByValue(x, 0, max) — one pass, no copy; only the gradient
  // differs from clipByValue's (which would pass x = 0 through, where relu's does not).
  for (const backendName of FLOAT_KERNEL_BACKENDS) {
    if (tf.getKernel(CLIPPED_RELU, backendName) !== undefined) continue;
    tf.registerKernel({
      kernelName: CLIPPED_RELU,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const clip = tf.getKernel(tf.ClipByValue, backendName);
        if (clip === undefined) throw new Error(`the ${backendName} backend has no ClipByValue kernel`);
        const { max } = attrs as unknown as Attrs;
        return clip.kernelFunc({ inputs, backend, attrs: { clipValueMin: 0, clipValueMax: max } });
      },
    });
  }
  registerFloatKernel<Attrs>({
    kernelName: CLIPPED_RELU_GRAD,
    inputNames: ['dy', 'x'],
    outputShapes: ([dyShape]) => [dyShape],
    compute: ([dy, x], [dx], _shapes, { max }) => clippedReluGradSimd(dy, x, dx, max),
  });
  tf.registerGradient({
    kernelName: CLIPPED_RELU,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      return {
        x: () =>
          tf
            .engine()
            .runKernel(
              CLIPPED_RELU_GRAD,
              { dy: dy as tf.Tensor, x },
              attrs as unknown as tf.NamedAttrMap,
            ) as tf.Tensor,
      };
    },
  });
}

/** min(max(x, 0), max), with the gradient of tfjs' relu followed by clipByValue. */
export function clippedRelu(x: tf.Tensor, max: number): tf.Tensor {
  registerClippedRelu();
  const attrs: Attrs = { max };
  return tf.engine().runKernel(CLIPPED_RELU, { x }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
