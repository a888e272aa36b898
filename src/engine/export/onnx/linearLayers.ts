/**
 * Layers with weights: Conv2D, DepthwiseConv2D (a grouped Conv), SeparableConv2D (depthwise then 1×1),
 * Dense (Gemm, or a 1×1 Conv on an image) and BatchNormalization — folded into the convolution or Dense
 * right before it when nothing comes in between (inference-mode batch norm is a per-channel affine map, so
 * scaling that layer's output channels is the same function), else a BatchNormalization node.
 *
 * Weight layouts: tfjs Conv2D kernel [kh, kw, in, out] → ONNX [out, in, kh, kw]; depthwise kernel
 * [kh, kw, in, m] → [in·m, 1, kh, kw] with group = in (tfjs' output channel c·m + j is ONNX's too); Dense
 * kernel [in, out] → [out, in] with transB = 1, its rows in the input vector's physical order.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { applyActivation } from './activations';
import {
  configOf,
  layerWeight,
  pair,
  requireChannelsLast,
  requireImage,
  requireWeight,
  spatialPads,
  type ConvertContext,
  type LayerConfig,
} from './convertContext';
import { OnnxRefusal, flattenOrder, permuteFeatures, type OnnxValue, type PendingLinear } from './onnxValue';

type Layer = tfl.layers.Layer;

/** ONNX Conv attributes for a tfjs convolution's window on an [h, w, c] input. */
function convAttributes(config: LayerConfig, image: [number, number, number], kernel: [number, number]) {
  const strides = pair(config.strides, 'strides');
  const dilations = pair(config.dilationRate ?? 1, 'dilation_rate');
  const [top, bottom] = spatialPads(config.padding, image[0], kernel[0], strides[0], dilations[0]);
  const [left, right] = spatialPads(config.padding, image[1], kernel[1], strides[1], dilations[1]);
  return { kernel_shape: kernel, strides, dilations, pads: [top, left, bottom, right] };
}

function biasOf(layer: Layer, units: number): Float32Array {
  return layerWeight(layer, 'bias')?.values ?? new Float32Array(units);
}

function pendingValue(pending: PendingLinear, shape: number[]): OnnxValue {
  return { shape, pending };
}

/** [kh, kw, in, out] → [out, in, kh, kw]. */
function convKernel({
  values,
  shape: [kh, kw, ci, co],
}: {
  values: Float32Array;
  shape: number[];
}): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++)
          out[((o * ci + i) * kh + y) * kw + x] = values[((y * kw + x) * ci + i) * co + o];
  return out;
}

/** [kh, kw, in, m] → [in·m, 1, kh, kw]. */
function depthwiseKernel({
  values,
  shape: [kh, kw, ci, m],
}: {
  values: Float32Array;
  shape: number[];
}): Float32Array {
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < ci; c++)
        for (let j = 0; j < m; j++)
          out[((c * m + j) * kh + y) * kw + x] = values[((y * kw + x) * ci + c) * m + j];
  return out;
}

export function convertConv2D(
  cx: ConvertContext,
  layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const config = configOf(layer);
  requireChannelsLast(config);
  const image = requireImage(x);
  const kernel = requireWeight(layer, 'kernel');
  const [kh, kw, ci, co] = kernel.shape;
  const groups = image[2] / ci;
  if (!Number.isInteger(groups))
    throw new OnnxRefusal(`has a kernel for ${ci} channels but gets ${image[2]}.`);
  const conv = pendingValue(
    {
      op: 'Conv',
      input: cx.name(x),
      weight: convKernel(kernel),
      weightDims: [co, ci, kh, kw],
      bias: biasOf(layer, co),
      attributes: { ...convAttributes(config, image, [kh, kw]), ...(groups > 1 ? { group: groups } : {}) },
      stem,
    },
    shape,
  );
  return applyActivation(cx, conv, config.activation, stem);
}

export function convertDepthwiseConv2D(
  cx: ConvertContext,
  layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const config = configOf(layer);
  requireChannelsLast(config);
  const image = requireImage(x);
  const kernel = requireWeight(layer, 'depthwiseKernel');
  const [kh, kw, ci, m] = kernel.shape;
  const conv = pendingValue(
    {
      op: 'Conv',
      input: cx.name(x),
      weight: depthwiseKernel(kernel),
      weightDims: [ci * m, 1, kh, kw],
      bias: biasOf(layer, ci * m),
      attributes: { ...convAttributes(config, image, [kh, kw]), group: ci },
      stem,
    },
    shape,
  );
  return applyActivation(cx, conv, config.activation, stem);
}

export function convertSeparableConv2D(
  cx: ConvertContext,
  layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const config = configOf(layer);
  requireChannelsLast(config);
  const image = requireImage(x);
  const depthwise = requireWeight(layer, 'depthwiseKernel');
  const pointwise = requireWeight(layer, 'pointwiseKernel');
  const [kh, kw, ci, m] = depthwise.shape;
  const co = pointwise.shape[3];
  const g = cx.graph;
  const dw = g.node(
    'Conv',
    [cx.name(x), g.addFloats(`${stem}/depthwise/weight`, [ci * m, 1, kh, kw], depthwiseKernel(depthwise))],
    `${stem}/depthwise`,
    { ...convAttributes(config, image, [kh, kw]), group: ci },
  );
  const conv = pendingValue(
    {
      op: 'Conv',
      input: dw,
      weight: convKernel(pointwise),
      weightDims: [co, ci * m, 1, 1],
      bias: biasOf(layer, co),
      attributes: { kernel_shape: [1, 1] },
      stem: `${stem}/pointwise`,
    },
    shape,
  );
  return applyActivation(cx, conv, config.activation, stem);
}

export function convertDense(
  cx: ConvertContext,
  layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const config = configOf(layer);
  const kernel = requireWeight(layer, 'kernel');
  const [inputs, units] = kernel.shape;
  const bias = biasOf(layer, units);
  let dense: OnnxValue;
  if (x.shape.length === 3) {
    // Dense on an image acts on the channels of every pixel: a 1×1 convolution in NCHW.
    dense = pendingValue(
      {
        op: 'Conv',
        input: cx.name(x),
        weight: convKernel({ values: kernel.values, shape: [1, 1, inputs, units] }),
        weightDims: [units, inputs, 1, 1],
        bias,
        attributes: { kernel_shape: [1, 1] },
        stem,
      },
      shape,
    );
  } else if (x.shape.length === 1) {
    // Rows follow the input's physical feature order (see onnxValue.ts): no transpose of the activation.
    const order = x.flattenedFrom ? flattenOrder(x.flattenedFrom) : undefined;
    const weight = new Float32Array(units * inputs);
    for (let o = 0; o < units; o++)
      for (let f = 0; f < inputs; f++)
        weight[o * inputs + f] = kernel.values[(order ? order[f] : f) * units + o];
    dense = pendingValue(
      {
        op: 'Gemm',
        input: cx.name(x),
        weight,
        weightDims: [units, inputs],
        bias,
        attributes: { transB: 1 },
        stem,
      },
      shape,
    );
  } else {
    throw new OnnxRefusal(
      `gets a tensor of shape [${x.shape.join(', ')}]; Dense is exported on vectors and images.`,
    );
  }
  return applyActivation(cx, dense, config.activation, stem);
}

export function convertBatchNormalization(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const config = configOf(layer);
  const rank = x.shape.length;
  const axis = Number(config.axis ?? -1);
  if (axis !== -1 && axis !== rank)
    throw new OnnxRefusal(`normalises axis ${axis}; only the channel (last) axis is exported.`);
  const channels = x.shape[rank - 1];
  const mean = requireWeight(layer, 'movingMean').values;
  const variance = requireWeight(layer, 'movingVariance').values;
  const gamma = layerWeight(layer, 'gamma')?.values ?? new Float32Array(channels).fill(1);
  const beta = layerWeight(layer, 'beta')?.values ?? new Float32Array(channels);
  const epsilon = Number(config.epsilon ?? 1e-3);
  // y = (x − mean)·γ/√(var + ε) + β = x·scale + shift, per channel.
  const scale = Float32Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + epsilon));
  const shift = Float32Array.from(beta, (b, c) => b - mean[c] * scale[c]);

  const pending = x.pending;
  if (pending && !pending.emitted) {
    // Fold into the convolution / Dense before it: its output channel o is scaled by scale[o].
    const perOut = pending.weight.length / pending.bias.length;
    const weight = Float32Array.from(pending.weight, (w, i) => w * scale[Math.floor(i / perOut)]);
    const bias = Float32Array.from(pending.bias, (b, o) => b * scale[o] + shift[o]);
    return pendingValue(
      { ...pending, weight, bias, stem: `${pending.stem}+${layer.name}`, emitted: undefined },
      x.shape,
    );
  }
  const g = cx.graph;
  const params = (name: string, values: Float32Array): string =>
    g.addFloats(`${stem}/${name}`, [values.length], permuteFeatures(values, x.flattenedFrom));
  const out = g.node(
    'BatchNormalization',
    [cx.name(x), params('scale', gamma), params('bias', beta), params('mean', mean), params('var', variance)],
    stem,
    { epsilon },
  );
  return cx.value(out, x.shape, x.flattenedFrom);
}
