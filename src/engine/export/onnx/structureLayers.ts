/**
 * Layers without weights that move, pick or combine values: pooling, ZeroPadding2D, Cropping2D, Flatten,
 * Reshape, the merge layers (Add, Concatenate …), the advanced activations (ReLU, LeakyReLU, ELU, PReLU,
 * ThresholdedReLU, Softmax, Activation), Rescaling, and the layers inference drops (Dropout and noise).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { applyActivation, clip } from './activations';
import {
  configOf,
  pair,
  requireChannelsLast,
  requireImage,
  requireWeight,
  spatialPads,
  type ConvertContext,
} from './convertContext';
import { OnnxRefusal, flattenKeepsOrder, onnxAxis, permuteFeatures, type OnnxValue } from './onnxValue';

type Layer = tfl.layers.Layer;

/** MaxPooling2D / AveragePooling2D; TensorFlow's "same" average excludes the padding, as ONNX's default does. */
export function convertPooling(op: 'MaxPool' | 'AveragePool') {
  return (cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string, shape: number[]): OnnxValue => {
    const config = configOf(layer);
    requireChannelsLast(config);
    const image = requireImage(x);
    const kernel = pair(config.poolSize, 'pool_size');
    const strides = pair(config.strides ?? kernel, 'strides');
    const [top, bottom] = spatialPads(config.padding, image[0], kernel[0], strides[0], 1);
    const [left, right] = spatialPads(config.padding, image[1], kernel[1], strides[1], 1);
    const out = cx.graph.node(op, [cx.name(x)], stem, {
      kernel_shape: kernel,
      strides,
      pads: [top, left, bottom, right],
    });
    return cx.value(out, shape);
  };
}

/** GlobalAveragePooling2D / GlobalMaxPooling2D: [N, C, 1, 1], flattened to [N, C] unless keepDims. */
export function convertGlobalPooling(op: 'GlobalAveragePool' | 'GlobalMaxPool') {
  return (cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string, shape: number[]): OnnxValue => {
    requireChannelsLast(configOf(layer));
    requireImage(x);
    const pooled = cx.graph.node(op, [cx.name(x)], stem);
    if (shape.length === 3) return cx.value(pooled, shape);
    return cx.value(cx.graph.node('Flatten', [pooled], `${stem}/flatten`, { axis: 1 }), shape);
  };
}

export function convertZeroPadding2D(
  cx: ConvertContext,
  layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const config = configOf(layer);
  requireChannelsLast(config);
  requireImage(x);
  const padding = config.padding as unknown;
  const rows = Array.isArray(padding) ? pair(padding[0], 'padding') : pair(padding, 'padding');
  const cols = Array.isArray(padding) ? pair(padding[1], 'padding') : pair(padding, 'padding');
  const pads = cx.graph.addInt64s(`${stem}/pads`, [0, 0, rows[0], cols[0], 0, 0, rows[1], cols[1]]);
  return cx.value(cx.graph.node('Pad', [cx.name(x), pads], stem), shape);
}

export function convertCropping2D(
  cx: ConvertContext,
  layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const config = configOf(layer);
  requireChannelsLast(config);
  const [h, w] = requireImage(x);
  const cropping = config.cropping as unknown;
  const rows = Array.isArray(cropping) ? pair(cropping[0], 'cropping') : pair(cropping, 'cropping');
  const cols = Array.isArray(cropping) ? pair(cropping[1], 'cropping') : pair(cropping, 'cropping');
  const g = cx.graph;
  const out = g.node(
    'Slice',
    [
      cx.name(x),
      g.addInt64s(`${stem}/starts`, [rows[0], cols[0]]),
      g.addInt64s(`${stem}/ends`, [h - rows[1], w - cols[1]]),
      g.addInt64s(`${stem}/axes`, [2, 3]),
    ],
    stem,
  );
  return cx.value(out, shape);
}

export function convertFlatten(
  cx: ConvertContext,
  _layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  if (x.shape.length === 1) return x;
  const image = requireImage(x);
  const flat = cx.graph.node('Flatten', [cx.name(x)], stem, { axis: 1 });
  // The features are now in c·h·w order; the Dense after this takes its rows in that order (onnxValue.ts).
  return cx.value(flat, shape, flattenKeepsOrder(image) ? undefined : image);
}

/** Reshape between vectors and images; a general image → image reshape goes through NHWC (two transposes). */
export function convertReshape(
  cx: ConvertContext,
  _layer: Layer,
  [x]: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const g = cx.graph;
  if (shape.length === 1) {
    if (x.shape.length === 1) return x;
    return convertFlatten(cx, _layer, [x], stem, shape);
  }
  if (shape.length !== 3 || (x.shape.length !== 1 && x.shape.length !== 3))
    throw new OnnxRefusal(
      `reshapes [${x.shape.join(', ')}] to [${shape.join(', ')}]; the export handles vectors and images [h, w, c] only.`,
    );
  const [h, w, c] = shape;
  if (x.shape.length === 1 && (h * w === 1 || c === 1)) {
    // A vector as a 1×1×c or h×w×1 image: the same order in NCHW.
    return cx.value(
      g.node('Reshape', [cx.ordered(x), g.addInt64s(`${stem}/shape`, [0, c, h, w])], stem),
      shape,
    );
  }
  const flat =
    x.shape.length === 1
      ? cx.ordered(x)
      : g.node('Transpose', [cx.name(x)], `${stem}/to_nhwc`, { perm: [0, 2, 3, 1] });
  const nhwc = g.node('Reshape', [flat, g.addInt64s(`${stem}/shape`, [0, h, w, c])], stem);
  return cx.value(g.node('Transpose', [nhwc], `${stem}/to_nchw`, { perm: [0, 3, 1, 2] }), shape);
}

/** Add, Multiply, Average, Maximum, Minimum: elementwise over inputs of one shape. */
export function convertMerge(op: 'Add' | 'Mul' | 'Mean' | 'Max' | 'Min') {
  return (
    cx: ConvertContext,
    _layer: Layer,
    inputs: OnnxValue[],
    stem: string,
    shape: number[],
  ): OnnxValue => {
    for (const input of inputs)
      if (input.shape.join() !== inputs[0].shape.join())
        throw new OnnxRefusal(
          `merges inputs of shapes ${inputs.map((i) => `[${i.shape.join(', ')}]`).join(' and ')}; broadcasting merges are not exported.`,
        );
    const tag = inputs[0].flattenedFrom?.join();
    const sameOrder = inputs.every((i) => i.flattenedFrom?.join() === tag);
    const names = inputs.map((i) => (sameOrder ? cx.name(i) : cx.ordered(i)));
    let out: string;
    if (op === 'Mean' || op === 'Max' || op === 'Min') out = cx.graph.node(op, names, stem);
    else
      out = names
        .slice(1)
        .reduce((acc, name, i) => cx.graph.node(op, [acc, name], `${stem}${i ? `_${i}` : ''}`), names[0]);
    return cx.value(out, shape, sameOrder ? inputs[0].flattenedFrom : undefined);
  };
}

export function convertConcatenate(
  cx: ConvertContext,
  layer: Layer,
  inputs: OnnxValue[],
  stem: string,
  shape: number[],
) {
  const axis = onnxAxis(Number(configOf(layer).axis ?? -1), shape.length);
  const out = cx.graph.node(
    'Concat',
    inputs.map((i) => cx.ordered(i)),
    stem,
    { axis },
  );
  return cx.value(out, shape);
}

/** Dropout, noise: identity at inference, no node. */
export function convertIdentity(_cx: ConvertContext, _layer: Layer, [x]: OnnxValue[]): OnnxValue {
  return x;
}

export function convertActivationLayer(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  return applyActivation(cx, x, configOf(layer).activation, stem);
}

export function convertSoftmaxLayer(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const axis = onnxAxis(Number(configOf(layer).axis ?? -1), x.shape.length);
  const out = cx.graph.node('Softmax', [cx.name(x)], stem, { axis });
  // Softmax over the feature axis does not depend on the features' order.
  return cx.value(out, x.shape, x.shape.length === 1 ? x.flattenedFrom : undefined);
}

export function convertReLU(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const maxValue = configOf(layer).maxValue;
  const input = cx.name(x);
  const out =
    typeof maxValue === 'number' ? clip(cx, input, 0, maxValue, stem) : cx.graph.node('Relu', [input], stem);
  return cx.value(out, x.shape, x.flattenedFrom);
}

export function convertLeakyReLU(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const alpha = Number(configOf(layer).alpha ?? 0.3);
  return cx.value(cx.graph.node('LeakyRelu', [cx.name(x)], stem, { alpha }), x.shape, x.flattenedFrom);
}

export function convertELU(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const alpha = Number(configOf(layer).alpha ?? 1);
  return cx.value(cx.graph.node('Elu', [cx.name(x)], stem, { alpha }), x.shape, x.flattenedFrom);
}

export function convertThresholdedReLU(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const alpha = Number(configOf(layer).theta ?? 1);
  return cx.value(cx.graph.node('ThresholdedRelu', [cx.name(x)], stem, { alpha }), x.shape, x.flattenedFrom);
}

/** PReLU: its slope has the input's shape with shared axes as 1; laid out like the input (NCHW / order tag). */
export function convertPReLU(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const alpha = requireWeight(layer, 'alpha');
  let slope: Float32Array;
  let dims: number[];
  if (x.shape.length === 1) {
    slope = permuteFeatures(alpha.values, x.flattenedFrom);
    dims = [slope.length];
  } else if (x.shape.length === 3 && alpha.shape.length === 3) {
    const [a, b, c] = alpha.shape;
    slope = new Float32Array(alpha.values.length);
    for (let y = 0; y < a; y++)
      for (let z = 0; z < b; z++)
        for (let ch = 0; ch < c; ch++) slope[(ch * a + y) * b + z] = alpha.values[(y * b + z) * c + ch];
    dims = [c, a, b];
  } else {
    throw new OnnxRefusal(`gets a tensor of shape [${x.shape.join(', ')}], which is not exported.`);
  }
  const out = cx.graph.node('PRelu', [cx.name(x), cx.graph.addFloats(`${stem}/slope`, dims, slope)], stem);
  return cx.value(out, x.shape, x.flattenedFrom);
}

/** Rescaling (x·scale + offset), as Keras preprocessing layers put it inside models. */
export function convertRescaling(cx: ConvertContext, layer: Layer, [x]: OnnxValue[], stem: string) {
  const config = configOf(layer);
  const scale = Number(config.scale ?? 1);
  const offset = Number(config.offset ?? 0);
  if (!Number.isFinite(scale) || !Number.isFinite(offset))
    throw new OnnxRefusal('has a per-channel scale or offset, which is not exported.');
  const g = cx.graph;
  let out = cx.name(x);
  if (scale !== 1) out = g.node('Mul', [out, g.addScalar(`${stem}/scale`, scale)], `${stem}/Mul`);
  if (offset !== 0) out = g.node('Add', [out, g.addScalar(`${stem}/offset`, offset)], `${stem}/Add`);
  return cx.value(out, x.shape, x.flattenedFrom);
}
