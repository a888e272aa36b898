/**
 * What flows between layers while a model is converted: a tensor of the ONNX graph, described by its
 * TensorFlow.js (NHWC) shape, held in ONNX's layout.
 *
 * Layout: image tensors ([h, w, c] per example in TensorFlow.js) live as NCHW in the graph — ONNX's Conv,
 * pooling and BatchNormalization want channels first — so the graph transposes the input once and never
 * again. Feature vectors ([n]) live as [batch, n]. Two things are kept lazy so the graph stays small:
 * - `pending`: a convolution or Dense not emitted yet, so a BatchNormalization right after it can be
 *   folded into its weights (emitted on first use; at most once).
 * - `flattenedFrom`: a vector flattened from an NCHW tensor holds its features in c·h·w order, while
 *   TensorFlow.js' Flatten gives h·w·c order. Instead of transposing the activation back to NHWC, the Dense
 *   that consumes it takes its weight rows in the permuted order; elementwise layers pass the tag on.
 */
import type { AttributeValue } from './onnxGraph';

export interface PendingLinear {
  op: 'Conv' | 'Gemm';
  input: string;
  /** Output-channel-major weights: Conv [out, in/group, kh, kw], Gemm [out, in] (transB = 1). */
  weight: Float32Array;
  weightDims: number[];
  bias: Float32Array;
  attributes: Record<string, AttributeValue>;
  stem: string;
  /** The output's name once emitted. */
  emitted?: string;
}

export interface OnnxValue {
  /** TensorFlow.js shape without the batch: [h, w, c] or [n]. */
  shape: number[];
  /** The graph tensor's name (absent while `pending`). */
  name?: string;
  pending?: PendingLinear;
  /** A vector whose features are in c·h·w order of this [h, w, c] tensor (see above). */
  flattenedFrom?: [number, number, number];
}

/** Why a layer cannot be exported; the walk adds the layer's path and class. */
export class OnnxRefusal extends Error {}

/**
 * Where TensorFlow.js feature f (h·w·c order) is in a vector flattened from NCHW: `order[onnxIndex] = tfIndex`.
 */
export function flattenOrder([h, w, c]: [number, number, number]): Int32Array {
  const order = new Int32Array(h * w * c);
  let onnxIndex = 0;
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) order[onnxIndex++] = (y * w + x) * c + ch;
  return order;
}

/** True when flattening [h, w, c] from NCHW gives TensorFlow.js' order anyway (1×1 maps, one channel). */
export function flattenKeepsOrder([h, w, c]: [number, number, number]): boolean {
  return h * w === 1 || c === 1;
}

/** The same per-feature values, reordered to a tagged vector's physical order. */
export function permuteFeatures(values: Float32Array, tag: OnnxValue['flattenedFrom']): Float32Array {
  if (!tag) return values;
  const order = flattenOrder(tag);
  return Float32Array.from(order, (tfIndex) => values[tfIndex]);
}

/** Maps a TensorFlow.js axis (with batch, may be negative) of a rank-`rank` (without batch) value to ONNX's. */
export function onnxAxis(axis: number, rank: number): number {
  const full = rank + 1;
  const a = axis < 0 ? axis + full : axis;
  if (a < 1 || a >= full) throw new OnnxRefusal(`uses axis ${axis}, which is not a feature axis.`);
  if (rank !== 3) return a;
  return a === 3 ? 1 : a + 1; // NHWC h,w,c → NCHW positions 2,3,1
}
