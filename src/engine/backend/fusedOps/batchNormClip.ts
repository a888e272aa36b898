/**
 * Batch norm in training mode followed by a ReLU with a ceiling (MobileNet's BN → ReLU6 while the layers
 * train) as one kernel with one gradient kernel, for the CPU backends.
 *
 * Why: run apart, the clip is one more pass over the batch norm's output, and its gradient one more pass
 * that writes dy masked for the batch norm's gradient to read back — with the batch norm's output kept
 * for it. Here the forward pass normalises and clips each item's rows while they are in cache and keeps
 * only the clipped output; the gradient recomputes the batch norm's output from x (the same float32
 * operations, from the same saved mean and scale, so the same values and the same mask), masks dy with it
 * and forms the sums in the same pass. On the kernel pool (wasm's threaded build) every pass runs the
 * SIMD functions the unfused kernels run (../wasmThreads/heapBatchNormClip.ts), so the same bits as
 * FineTuneBatchNormTraining → ClipByValue and their gradients; elsewhere the same passes one by one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { affineClipOnHeap, clipGradSumsOnHeap } from '../wasmThreads/heapBatchNormClip';
import { batchStatistics, gradientCoefficients } from './batchNormTraining';
import { channelAffine, channelSums, channelsOf } from './channelLoops';
import { registerFloatKernel } from './floatKernel';
import { clippedReluGradSimd } from './simdKernels';

export const BATCH_NORM_CLIP = 'FineTuneBatchNormTrainingClip';
const BATCH_NORM_CLIP_GRAD = 'FineTuneBatchNormTrainingClipGrad';

interface Attrs {
  epsilon: number;
  max: number;
}

function registerKernels(): void {
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_CLIP,
    inputNames: ['x', 'gamma', 'beta'],
    // y, batch mean, batch variance, and the scale (kept for the gradient's recomputation)
    outputShapes: ([xShape]) => {
      const c = xShape[xShape.length - 1];
      return [xShape, [c], [c], [c]];
    },
    compute: ([x, gamma, beta], [y, meanOut, varianceOut, scaleOut], [xShape], { epsilon, max }) => {
      const { channels } = channelsOf(xShape);
      scaleOut.set(batchStatistics(x, gamma, xShape, epsilon, meanOut, varianceOut));
      if (affineClipOnHeap(x, meanOut, y, channels, [scaleOut, beta], max)) return;
      channelAffine(x, meanOut, x, y, channels, [scaleOut, new Float32Array(channels), beta]);
      // as tfjs-cpu's ClipByValue (the same -0 and NaN)
      for (let i = 0; i < y.length; i++) y[i] = y[i] > max ? max : y[i] < 0 ? 0 : y[i];
    },
  });
  registerFloatKernel<Attrs>({
    kernelName: BATCH_NORM_CLIP_GRAD,
    inputNames: ['dy', 'x', 'gamma', 'beta', 'mean', 'variance', 'scale'],
    outputShapes: ([dyShape]) => {
      const c = dyShape[dyShape.length - 1];
      return [dyShape, [c], [c]];
    },
    compute: ([dy, x, gamma, beta, mean, variance, scale], [dx, dGamma, dBeta], [dyShape], attrs) => {
      const { channels, rows } = channelsOf(dyShape);
      // dx first holds dy masked by ReLU6's gradient, then (in place) the batch norm's gradient of it.
      const sums =
        clipGradSumsOnHeap(dy, x, mean, dx, channels, [scale, beta], attrs.max) ??
        ((): { sumU: Float64Array; sumUV: Float64Array } => {
          channelAffine(x, mean, x, dx, channels, [scale, new Float32Array(channels), beta]);
          clippedReluGradSimd(dy, dx, dx, attrs.max);
          return channelSums(dx, new Float32Array(channels), x, mean, channels);
        })();
      const k = gradientCoefficients([sums.sumU, sums.sumUV], [gamma, variance], attrs.epsilon, rows, [
        dGamma,
        dBeta,
      ]);
      channelAffine(x, mean, dx, dx, channels, k);
    },
  });
}

let registered = false;

/** Registers both kernels (wasm and cpu) and the forward kernel's gradient; idempotent. */
export function registerBatchNormClip(): void {
  if (registered) return;
  registered = true;
  registerKernels();
  tf.registerGradient({
    kernelName: BATCH_NORM_CLIP,
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma, beta, mean, variance, scale] = saved;
      const dy = (dys as tf.Tensor[])[0];
      const [dx, dGamma, dBeta] = tf
        .engine()
        .runKernel(
          BATCH_NORM_CLIP_GRAD,
          { dy, x, gamma, beta, mean, variance, scale },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      return { x: () => dx, gamma: () => dGamma, beta: () => dBeta };
    },
  });
}

/**
 * min(max(batchNorm(x), 0), max) with x's own batch statistics over every axis but the last; returns the
 * output and the batch mean and (biased) variance, as batchNormTraining followed by clippedRelu.
 */
export function batchNormTrainingClip(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  max: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const channels = x.shape[x.rank - 1];
  if (gamma.size !== channels || beta.size !== channels) {
    throw new Error(
      `batch norm: gamma [${gamma.shape}] and beta [${beta.shape}] must have one value per channel (${channels})`,
    );
  }
  registerBatchNormClip();
  const attrs: Attrs = { epsilon, max };
  const [y, mean, variance, scale] = tf
    .engine()
    .runKernel(
      BATCH_NORM_CLIP,
      { x, gamma: tf.reshape(gamma, [channels]), beta: tf.reshape(beta, [channels]) },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
  scale.dispose();
  return [y, mean as tf.Tensor1D, variance as tf.Tensor1D];
}
