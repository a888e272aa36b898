/**
 * Batch normalisation in inference mode (moving statistics) for the CPU backends: y = s·(x − μ) + β with
 * s = γ/√(σ² + ε) per channel, one SIMD pass (simdKernels.wat) where tfjs-backend-wasm's FusedBatchNorm
 * takes ~4× as long. This is what every frozen BatchNormalization layer runs — the backbone of a
 * head-only fine-tune, each validation pass, prediction.
 *
 * Gradients: a frozen BatchNormalization between trainable layers passes dy back as dx = s·dy (one pass);
 * the gradients of μ, σ², γ and β (only needed if one of them is trained while the layer is in inference
 * mode) come from the same two sums as in training mode: Σ dy and Σ dy·(x − μ).
 */
import * as tf from '@tensorflow/tfjs-core';
import { channelAffine, channelSums, channelsOf } from './channelLoops';
import { registerFloatKernel } from './floatKernel';

export const BATCH_NORM_INFERENCE = 'FineTuneBatchNormInference';
const BATCH_NORM_INFERENCE_DX = 'FineTuneBatchNormInferenceDx';
/** [dμ, dσ², dγ, dβ] as one [4, c] output. */
const BATCH_NORM_INFERENCE_PARAM_GRADS = 'FineTuneBatchNormInferenceParamGrads';

interface Attrs {
  epsilon: number;
}

function inverseStd(variance: Float32Array, epsilon: number): Float64Array {
  return Float64Array.from(variance, (v) => 1 / Math.sqrt(v + epsilon));
}

/** s = γ/√(σ² + ε) per channel, as float32 (the scale of the inference-mode normalisation). */
export function inferenceScale(gamma: Float32Array, variance: Float32Array, epsilon: number): Float32Array {
  const invStd = inverseStd(variance, epsilon);
  return Float32Array.from(gamma, (g, c) => g * invStd[c]);
}

function registerKernels(): void {
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_INFERENCE,
    inputNames: ['x', 'mean', 'variance', 'gamma', 'beta'],
    outputShapes: ([xShape]) => [xShape],
    compute: ([x, mean, variance, gamma, beta], [y], [xShape], { epsilon }) => {
      const { channels } = channelsOf(xShape);
      const scale = inferenceScale(gamma, variance, epsilon);
      channelAffine(x, mean, x, y, channels, [scale, new Float32Array(channels), beta]);
    },
  });
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_INFERENCE_DX,
    inputNames: ['dy', 'x', 'variance', 'gamma'],
    outputShapes: ([dyShape]) => [dyShape],
    compute: ([dy, x, variance, gamma], [dx], [dyShape], { epsilon }) => {
      const { channels } = channelsOf(dyShape);
      const invStd = inverseStd(variance, epsilon);
      const zeros = new Float32Array(channels);
      // dx = 0·(x − 0) + s·dy + 0
      channelAffine(x, zeros, dy, dx, channels, [
        zeros,
        Float32Array.from(gamma, (g, c) => g * invStd[c]),
        zeros,
      ]);
    },
  });
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_INFERENCE_PARAM_GRADS,
    inputNames: ['dy', 'x', 'mean', 'variance', 'gamma'],
    outputShapes: ([dyShape]) => [[4, dyShape[dyShape.length - 1]]],
    compute: ([dy, x, mean, variance, gamma], [out], [dyShape], { epsilon }) => {
      const { channels } = channelsOf(dyShape);
      const invStd = inverseStd(variance, epsilon);
      const { sumU: sumDy, sumUV: sumDyXc } = channelSums(dy, new Float32Array(channels), x, mean, channels);
      for (let c = 0; c < channels; c++) {
        out[c] = -gamma[c] * invStd[c] * sumDy[c];
        out[channels + c] = -0.5 * gamma[c] * invStd[c] ** 3 * sumDyXc[c];
        out[2 * channels + c] = sumDyXc[c] * invStd[c];
        out[3 * channels + c] = sumDy[c];
      }
    },
  });
}

let registered = false;

/** Registers the kernels (wasm and cpu) and the forward kernel's gradient; idempotent. */
export function registerBatchNormInference(): void {
  if (registered) return;
  registered = true;
  registerKernels();
  tf.registerGradient({
    kernelName: BATCH_NORM_INFERENCE,
    inputsToSave: ['x', 'mean', 'variance', 'gamma'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, gamma] = saved;
      const kernelAttrs = attrs as unknown as tf.NamedAttrMap;
      const run = (name: string, inputs: tf.NamedTensorMap): tf.Tensor =>
        tf.engine().runKernel(name, inputs, kernelAttrs) as tf.Tensor;
      // Each closure runs in its own scope; the parameter gradients are rows of one kernel's output.
      const paramGrad = (row: number) => (): tf.Tensor => {
        const all = run(BATCH_NORM_INFERENCE_PARAM_GRADS, { dy: dy as tf.Tensor, x, mean, variance, gamma });
        return tf.reshape(tf.slice(all, [row, 0], [1, -1]), [-1]);
      };
      return {
        x: () => run(BATCH_NORM_INFERENCE_DX, { dy: dy as tf.Tensor, x, variance, gamma }),
        mean: paramGrad(0),
        variance: paramGrad(1),
        gamma: paramGrad(2),
        beta: paramGrad(3),
      };
    },
  });
}

/** Normalises x with given per-channel statistics (the last axis), as tf.batchNorm does. */
export function batchNormInference(
  x: tf.Tensor,
  stats: { mean: tf.Tensor; variance: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor },
  epsilon: number,
): tf.Tensor {
  const channels = x.shape[x.rank - 1];
  for (const [name, t] of Object.entries(stats)) {
    if (t.size !== channels) {
      throw new Error(`batch norm: ${name} [${t.shape}] must have one value per channel (${channels})`);
    }
  }
  registerBatchNormInference();
  const flat = (t: tf.Tensor): tf.Tensor => tf.reshape(t, [channels]);
  const attrs: Attrs = { epsilon };
  return tf.engine().runKernel(
    BATCH_NORM_INFERENCE,
    {
      x,
      mean: flat(stats.mean),
      variance: flat(stats.variance),
      gamma: flat(stats.gamma),
      beta: flat(stats.beta),
    },
    attrs as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}
