/**
 * ReLU with a ceiling (Keras' `ReLU(max_value=6)`, MobileNet's ReLU6) as one kernel with one gradient
 * kernel, for the CPU backends.
 *
 * Why: tfjs-layers computes it as `clipByValue(relu(x), 0, max)`, whose gradient tfjs-core builds from
 * GreaterEqual, LessEqual, LogicalAnd, ZerosLike, Select, Step and Multiply — seven full passes per layer
 * and step, a fifth of a MobileNet training step on wasm. The gradient here is the same function in one
 * pass: dy where 0 < x ≤ max, else 0 (relu passes x > 0; the clip passes its input ≤ max). Both loops
 * are WebAssembly SIMD (simdKernels.wat).
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerFloatKernel } from './floatKernel';
import { clippedReluGradSimd, clippedReluSimd } from './simdKernels';

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
  registerFloatKernel<Attrs>({
    kernelName: CLIPPED_RELU,
    inputNames: ['x'],
    outputShapes: ([xShape]) => [xShape],
    compute: ([x], [y], _shapes, { max }) => clippedReluSimd(x, y, max),
  });
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
