/**
 * Batch normalisation in training mode (batch statistics over every axis but the last) as one kernel with
 * one gradient kernel, for the CPU backends.
 *
 * Why: tfjs-layers builds it from `moments` + `batchNorm`, and tfjs-core differentiates that op by op —
 * about 40 kernel calls per layer and per step, each a full pass over the activation (broadcasts, tiles,
 * sums, squares, divisions). On MobileNet-v1 α 0.25 at 96×96 that was a third of a training step on wasm.
 * Here the forward pass reads x twice and the backward pass reads dy and x twice, with the textbook
 * gradient (through the batch mean and the biased batch variance, as the composed ops compute it):
 *
 *   x̂ = (x − μ)·σ⁻¹,  dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γσ⁻¹·(dy − dβ/M − x̂·dγ/M)     (M: values per channel)
 *
 * Sums accumulate in float64, shifted by the first row (so a large mean does not cancel the variance away).
 * The passes are WebAssembly SIMD (simdKernels.wat) when the channel count is a multiple of 4 — every
 * MobileNet/ResNet/EfficientNet layer — and plain loops otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerFloatKernel } from './floatKernel';
import { channelAffine, channelSums, channelsOf } from './channelLoops';

export const BATCH_NORM_TRAINING = 'FineTuneBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'FineTuneBatchNormTrainingGrad';

interface Attrs {
  epsilon: number;
}

/**
 * The batch statistics of x (rows × c): writes the mean and the biased variance, returns the scale
 * γ/√(σ² + ε) the normalisation multiplies by (from the float64 variance).
 */
export function batchStatistics(
  x: Float32Array,
  gamma: Float32Array,
  xShape: number[],
  epsilon: number,
  meanOut: Float32Array,
  varianceOut: Float32Array,
): Float32Array {
  const { channels, rows } = channelsOf(xShape);
  const shift = x.slice(0, channels);
  const { sumU: sum, sumUV: squares } = channelSums(x, shift, x, shift, channels);
  const scale = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const shiftedMean = sum[c] / rows;
    const variance = Math.max(0, squares[c] / rows - shiftedMean * shiftedMean);
    meanOut[c] = shift[c] + shiftedMean;
    varianceOut[c] = variance;
    scale[c] = gamma[c] / Math.sqrt(variance + epsilon);
  }
  return scale;
}

/**
 * From Σ dy and Σ dy·(x − μ): writes dγ and dβ, returns [k2, k1, k3] of dx = k2·(x − μ) + k1·dy + k3.
 */
export function gradientCoefficients(
  [sumDy, sumDyXc]: [Float64Array, Float64Array],
  [gamma, variance]: [Float32Array, Float32Array],
  epsilon: number,
  rows: number,
  [dGamma, dBeta]: [Float32Array, Float32Array],
): [Float32Array, Float32Array, Float32Array] {
  const channels = gamma.length;
  const k1 = new Float32Array(channels);
  const k2 = new Float32Array(channels);
  const k3 = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const invStd = 1 / Math.sqrt(variance[c] + epsilon);
    dBeta[c] = sumDy[c];
    dGamma[c] = sumDyXc[c] * invStd;
    k1[c] = gamma[c] * invStd;
    k2[c] = (-gamma[c] * invStd * invStd * invStd * sumDyXc[c]) / rows;
    k3[c] = (-gamma[c] * invStd * sumDy[c]) / rows;
  }
  return [k2, k1, k3];
}

function registerForward(): void {
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_TRAINING,
    inputNames: ['x', 'gamma', 'beta'],
    outputShapes: ([xShape]) => {
      const c = xShape[xShape.length - 1];
      return [xShape, [c], [c]];
    },
    compute: ([x, gamma, beta], [y, meanOut, varianceOut], [xShape], { epsilon }) => {
      const { channels } = channelsOf(xShape);
      const scale = batchStatistics(x, gamma, xShape, epsilon, meanOut, varianceOut);
      // y = scale·(x − μ) + β
      channelAffine(x, meanOut, x, y, channels, [scale, new Float32Array(channels), beta]);
    },
  });
}

function registerBackward(): void {
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_TRAINING_GRAD,
    inputNames: ['dy', 'x', 'gamma', 'mean', 'variance'],
    outputShapes: ([dyShape]) => {
      const c = dyShape[dyShape.length - 1];
      return [dyShape, [c], [c]];
    },
    compute: ([dy, x, gamma, mean, variance], [dx, dGamma, dBeta], [dyShape], { epsilon }) => {
      const { channels, rows } = channelsOf(dyShape);
      const { sumU, sumUV } = channelSums(dy, new Float32Array(channels), x, mean, channels);
      // dx = k2·(x − μ) + k1·dy + k3, per channel.
      const k = gradientCoefficients([sumU, sumUV], [gamma, variance], epsilon, rows, [dGamma, dBeta]);
      channelAffine(x, mean, dy, dx, channels, k);
    },
  });
}

let registered = false;

/** Registers both kernels (wasm and cpu) and the forward kernel's gradient; idempotent. */
export function registerBatchNormTraining(): void {
  if (registered) return;
  registered = true;
  registerForward();
  registerBackward();
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, mean, variance] = saved;
      const dy = (dys as tf.Tensor[])[0];
      // One call computes all three gradients; each closure hands out its own.
      const [dx, dGamma, dBeta] = tf
        .engine()
        .runKernel(
          BATCH_NORM_TRAINING_GRAD,
          { dy, x, gamma, mean, variance },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      return { x: () => dx, gamma: () => dGamma, beta: () => dBeta };
    },
  });
}

/**
 * Normalises x with its own batch statistics over every axis but the last; returns the output and the
 * batch mean and (biased) variance per channel, as tfjs-layers' `normalizeBatchInTraining` does.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const channels = x.shape[x.rank - 1];
  if (gamma.size !== channels || beta.size !== channels) {
    throw new Error(
      `batch norm: gamma [${gamma.shape}] and beta [${beta.shape}] must have one value per channel (${channels})`,
    );
  }
  registerBatchNormTraining();
  const attrs: Attrs = { epsilon };
  return tf
    .engine()
    .runKernel(
      BATCH_NORM_TRAINING,
      { x, gamma: tf.reshape(gamma, [channels]), beta: tf.reshape(beta, [channels]) },
      attrs as unknown as tf.NamedAttrMap,
    ) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
}
