/**
 * Chains of layers that run as one fused kernel: a convolution without bias or activation (Conv2D,
 * DepthwiseConv2D) → BatchNormalization → optionally a ReLU with a ceiling, where nothing else reads the
 * convolution's or the batch norm's output (convBatchNorm.ts). The graph executors (graphWalk.ts,
 * frozenPrefix.ts) find the chains once per graph and, at each chain's first node, ask `fusedChainCall`
 * for the chain's output; it computes one only where the layers' own calls would give the same values
 * and nothing needs a gradient: batch norm in inference mode, no gradient tape recording (the cache's
 * frozen prefix, validation, prediction), float32 on wasm or cpu. Anywhere else the layers run one by one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { convBatchNorm, type ConvBatchNormAttrs } from './convBatchNorm';
import { FLOAT_KERNEL_BACKENDS } from './floatKernel';
import { batchNormStats } from './fusedLayerCall';
import { type BatchNormMoving, updateMovingAverages } from './movingAverages';
import { batchNormTrainingClip } from './batchNormClip';

type Layer = tfl.layers.Layer;

/** The graph fields the search reads (tfjs' internal node type, as graphWalk.ts reads it). */
export interface ChainNode {
  outboundLayer: Layer;
  inputTensors: tfl.SymbolicTensor[];
  outputTensors: tfl.SymbolicTensor[];
}

/** The fields of tfjs-layers' Conv2D / DepthwiseConv2D that their `call` uses (private in the typings). */
interface ConvFields {
  rank?: number;
  kernel?: tfl.LayerVariable;
  depthwiseKernel?: tfl.LayerVariable;
  bias?: tfl.LayerVariable | null;
  strides: [number, number];
  padding: string;
  dataFormat: string;
  dilationRate?: number | number[] | null;
  activation?: { getClassName(): string } | null;
}

function linear(activation: ConvFields['activation']): boolean {
  return activation == null || activation.getClassName().toLowerCase() === 'linear';
}

/** A convolution whose own call is a plain NHWC conv2d / depthwiseConv2d (no bias, no activation). */
function plainConvolution(layer: Layer): boolean {
  const cls = layer.getClassName();
  const conv = layer as unknown as ConvFields;
  const plain =
    conv.bias == null &&
    linear(conv.activation) &&
    conv.dataFormat === 'channelsLast' &&
    (conv.padding === 'same' || conv.padding === 'valid');
  return plain && ((cls === 'Conv2D' && conv.rank === 2) || cls === 'DepthwiseConv2D');
}

function reluCeiling(layer: Layer): number | undefined {
  if (layer.getClassName() !== 'ReLU') return undefined;
  return (layer as unknown as { maxValue?: number | null }).maxValue ?? undefined;
}

/**
 * The chains of these nodes (in execution order), keyed by their first node, each its nodes in order;
 * `outputs` are the graph's outputs (read from outside, so never fused away).
 */
export function findFusedChains<N extends ChainNode>(
  nodes: readonly N[],
  outputs: readonly tfl.SymbolicTensor[],
): Map<N, N[]> {
  const readers = new Map<number, N[]>();
  for (const node of nodes)
    for (const t of node.inputTensors) readers.set(t.id, [...(readers.get(t.id) ?? []), node]);
  const outputIds = new Set(outputs.map((t) => t.id));
  /** The one node that reads this node's one output, when nothing else (the graph's outputs) does. */
  const soleReader = (node: N): N | undefined => {
    if (node.outputTensors.length !== 1) return undefined;
    const id = node.outputTensors[0].id;
    const found = readers.get(id);
    return found?.length === 1 && !outputIds.has(id) && found[0].inputTensors.length === 1
      ? found[0]
      : undefined;
  };
  const chains = new Map<N, N[]>();
  for (const node of nodes) {
    // BN → ReLU6 alone: fused in training mode (a conv → BN chain covers inference mode).
    if (node.inputTensors.length === 1 && node.outboundLayer.getClassName() === 'BatchNormalization') {
      const relu = soleReader(node);
      if (relu && reluCeiling(relu.outboundLayer) !== undefined) chains.set(node, [node, relu]);
    }
    if (node.inputTensors.length !== 1 || !plainConvolution(node.outboundLayer)) continue;
    const bn = soleReader(node);
    if (!bn || bn.outboundLayer.getClassName() !== 'BatchNormalization') continue;
    const relu = soleReader(bn);
    chains.set(node, relu && reluCeiling(relu.outboundLayer) !== undefined ? [node, bn, relu] : [node, bn]);
  }
  return chains;
}

/** A gradient tape is recording (inside tf.grad / variableGrads): the fused kernel has no gradient. */
function tapeRecording(): boolean {
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;
}

/**
 * The chain's output through the fused kernel, or undefined to run its layers one by one. `kwargs`: each
 * layer's merged call arguments, in the chain's order.
 */
export function fusedChainCall(
  layers: readonly Layer[],
  input: unknown,
  kwargs: readonly Record<string, unknown>[],
): tf.Tensor | undefined {
  if (layers[0].getClassName() === 'BatchNormalization') return batchNormClipCall(layers, input, kwargs[0]);
  const [convLayer, bnLayer, reluLayer] = layers;
  if (!(input instanceof tf.Tensor) || input.dtype !== 'float32' || input.rank !== 4) return undefined;
  if (kwargs[1]?.training === true || tapeRecording()) return undefined;
  if (!(FLOAT_KERNEL_BACKENDS as readonly string[]).includes(tf.getBackend())) return undefined;
  const stats = batchNormStats(bnLayer, input.rank);
  if (!stats) return undefined;
  const conv = convLayer as unknown as ConvFields;
  const depthwise = convLayer.getClassName() === 'DepthwiseConv2D';
  const filter = (depthwise ? conv.depthwiseKernel : conv.kernel)?.read();
  if (!filter) return undefined;
  // DepthwiseConv2D's call passes no dilation (tfjs-layers does not support it there).
  const dilation = depthwise ? 1 : conv.dilationRate;
  const attrs: ConvBatchNormAttrs = {
    depthwise,
    strides: conv.strides,
    pad: conv.padding as 'same' | 'valid',
    dilations: (Array.isArray(dilation) ? dilation : [dilation ?? 1, dilation ?? 1]) as [number, number],
    epsilon: stats.epsilon,
    clipMax: reluLayer ? (reluCeiling(reluLayer) ?? null) : null,
  };
  return convBatchNorm(input, filter, stats.values, attrs);
}

/** BN → ReLU6 in training mode (batch statistics, moving averages updated as the layer's call does). */
function batchNormClipCall(
  [bnLayer, reluLayer]: readonly Layer[],
  input: unknown,
  kwargs: Record<string, unknown> | undefined,
): tf.Tensor | undefined {
  if (!(input instanceof tf.Tensor) || input.dtype !== 'float32' || kwargs?.training !== true)
    return undefined;
  if (!(FLOAT_KERNEL_BACKENDS as readonly string[]).includes(tf.getBackend())) return undefined;
  const stats = batchNormStats(bnLayer, input.rank);
  const max = reluCeiling(reluLayer);
  if (!stats || max === undefined) return undefined;
  const bn = bnLayer as unknown as BatchNormMoving;
  return tf.tidy(() => {
    const [y, mean, variance] = batchNormTrainingClip(
      input,
      stats.values.gamma,
      stats.values.beta,
      stats.epsilon,
      max,
    );
    updateMovingAverages(bn, mean, variance);
    return y;
  });
}
