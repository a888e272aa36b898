/**
 * Runs a layer through one of the fused kernels of this folder instead of its own `call`, when the current
 * backend has them (wasm, cpu) and the layer is one they compute exactly: a BatchNormalization over the
 * last axis with both γ and β (training or inference mode), a ReLU layer with a ceiling, and a Conv2D
 * without bias or activation (plain conv2d, whose input gradient is computed only when needed). Returns
 * undefined for every other case, and the caller applies the layer as usual (native backends keep
 * TensorFlow's own kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_INFERENCE, batchNormInference, registerBatchNormInference } from './batchNormInference';
import { BATCH_NORM_TRAINING, batchNormTraining, registerBatchNormTraining } from './batchNormTraining';
import { CLIPPED_RELU, clippedRelu, registerClippedRelu } from './clippedRelu';
import { registerAdamStep } from './adamStep';
import { registerBatchNormClip } from './batchNormClip';
import { registerConvBatchNorm } from './convBatchNorm';
import { FLOAT_KERNEL_BACKENDS, currentBackendHas } from './floatKernel';
import { updateMovingAverages } from './movingAverages';

/** The fields of tfjs-layers' BatchNormalization that its `call` uses (private in the typings). */
interface BatchNormFields {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: tfl.LayerVariable | null;
  beta?: tfl.LayerVariable | null;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/** Makes the fused kernels available on wasm and cpu (safe to call more than once). */
export function registerFusedOps(): void {
  registerAdamStep();
  registerBatchNormClip();
  registerConvBatchNorm();
  registerBatchNormTraining();
  registerBatchNormInference();
  registerClippedRelu();
}

/**
 * A BatchNormalization layer's inference-mode statistics and ε, when its own call is the one the fused
 * kernels compute (over the last axis of a rank-`rank` input, with both γ and β); else undefined.
 */
export function batchNormStats(
  layer: tfl.layers.Layer,
  rank: number,
):
  | { values: { mean: tf.Tensor; variance: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor }; epsilon: number }
  | undefined {
  const bn = layer as unknown as BatchNormFields;
  const axis = bn.axis >= 0 ? bn.axis : bn.axis + rank;
  if (axis !== rank - 1 || !bn.center || !bn.scale || !bn.gamma || !bn.beta) return undefined;
  return {
    values: {
      mean: bn.movingMean.read(),
      variance: bn.movingVariance.read(),
      gamma: bn.gamma.read(),
      beta: bn.beta.read(),
    },
    epsilon: bn.epsilon,
  };
}

/** The layer's output through a fused kernel, when it is one the kernels compute exactly. */
function batchNorm(layer: tfl.layers.Layer, x: tf.Tensor, training: boolean): tf.Tensor | undefined {
  const bn = layer as unknown as BatchNormFields;
  const axis = bn.axis >= 0 ? bn.axis : bn.axis + x.rank;
  if (axis !== x.rank - 1 || !bn.center || !bn.scale || !bn.gamma || !bn.beta) return undefined;
  const kernel = training ? BATCH_NORM_TRAINING : BATCH_NORM_INFERENCE;
  if (x.dtype !== 'float32' || !currentBackendHas(kernel)) return undefined;
  const { gamma, beta } = bn;
  if (!training) {
    return batchNormInference(
      x,
      {
        mean: bn.movingMean.read(),
        variance: bn.movingVariance.read(),
        gamma: gamma.read(),
        beta: beta.read(),
      },
      bn.epsilon,
    );
  }
  return tf.tidy(() => {
    const [y, mean, variance] = batchNormTraining(x, gamma.read(), beta.read(), bn.epsilon);
    updateMovingAverages(bn, mean, variance);
    return y;
  });
}

/** The fields of tfjs-layers' Conv2D that its `call` uses (private in the typings). */
interface ConvFields {
  rank: number;
  kernel: tfl.LayerVariable;
  bias?: tfl.LayerVariable | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation?: { getClassName(): string } | null;
}

/**
 * A Conv2D without bias or activation (the convolutions before a BatchNormalization: MobileNet, ResNet,
 * EfficientNet) as tfjs' plain conv2d. tfjs-layers calls the fused conv2d, whose gradient (a customGrad)
 * computes the input's gradient whether or not anything needs it: for the first layer (its input is the
 * image) and for the first trainable layer after frozen ones that is a full backward convolution per step
 * thrown away — on the bench's MobileNet the slowest kernel of a step (the first layer's 3×3 stride-2
 * input gradient, ~15% of the step on wasm). The plain kernel's gradient is computed only where the tape
 * needs it, and the forward pass is the same XNNPACK convolution (no bias, no activation: same values).
 */
function convolution(layer: tfl.layers.Layer, x: tf.Tensor): tf.Tensor | undefined {
  const conv = layer as unknown as ConvFields;
  const plain =
    conv.rank === 2 &&
    conv.bias == null &&
    (conv.activation == null || conv.activation.getClassName().toLowerCase() === 'linear') &&
    conv.dataFormat === 'channelsLast' &&
    (conv.padding === 'same' || conv.padding === 'valid') &&
    x.rank === 4 &&
    x.dtype === 'float32' &&
    (FLOAT_KERNEL_BACKENDS as readonly string[]).includes(tf.getBackend());
  if (!plain) return undefined;
  return tf.conv2d(
    x as tf.Tensor4D,
    conv.kernel.read() as tf.Tensor4D,
    conv.strides as [number, number],
    conv.padding as 'same' | 'valid',
    'NHWC',
    conv.dilationRate as [number, number],
  );
}

function reluWithCeiling(layer: tfl.layers.Layer, x: tf.Tensor): tf.Tensor | undefined {
  const maxValue = (layer as unknown as { maxValue?: number | null }).maxValue;
  if (maxValue == null || x.dtype !== 'float32' || !currentBackendHas(CLIPPED_RELU)) return undefined;
  return clippedRelu(x, maxValue);
}

/**
 * The layer's output through a fused kernel, or undefined to apply the layer itself. `training` is the
 * mode the layer would be called in.
 */
export function fusedLayerCall(
  layer: tfl.layers.Layer,
  input: tf.Tensor,
  training: boolean,
): tf.Tensor | undefined {
  switch (layer.getClassName()) {
    case 'BatchNormalization':
      return batchNorm(layer, input, training);
    case 'ReLU':
      return reluWithCeiling(layer, input);
    case 'Conv2D':
      return convolution(layer, input);
    default:
      return undefined;
  }
}

/**
 * A leaf layer called with these inputs and call arguments, through a fused kernel: its output, or
 * undefined when no fused kernel applies (several or symbolic inputs, or a layer the kernels do not take).
 * The shape of graphWalk's `applyLayer` hook.
 */
export function fusedLeafCall(
  layer: tfl.layers.Layer,
  input: unknown,
  kwargs: Record<string, unknown>,
): tf.Tensor | undefined {
  return input instanceof tf.Tensor ? fusedLayerCall(layer, input, kwargs.training === true) : undefined;
}
