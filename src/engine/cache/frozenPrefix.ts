/**
 * The frozen prefix of a training model: its first layers, in execution order, when they are frozen and
 * behave the same in training as in inference — a fixed function of the image. Its output (the
 * "boundary") can then be computed once per image and cached, and only the rest trained on it.
 *
 * Frozen BatchNormalization already runs in inference mode in our engine (its moving statistics are
 * used, never updated), so it is fixed. Dropout and noise layers are not: they draw random numbers in
 * training, so the prefix ends before the first such layer with a non-zero rate. The prefix must feed
 * the rest through one tensor (a branch that skips over the boundary cannot be cached as one row).
 *
 * A layer without weights that computes the same function in training as in inference (pooling,
 * flattening, an activation) is as fixed as a frozen one, whatever its state, so the prefix goes on
 * through it. That matters for the usual transfer-learning cut at a spatial feature layer: the head
 * starts with global average pooling, and caching after it stores [1024] per image instead of
 * [7, 7, 1024] (49× less memory and disk, and no pooling in any training step).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { findFusedChains, fusedChainCall } from '../backend/fusedOps/fusedChains';
import { fusedLeafCall } from '../backend/fusedOps/fusedLayerCall';
import type { TrainingModel } from '../model/buildTrainingModel';
import {
  executionOrder,
  graphOf,
  runNodes,
  type AnyTensor,
  type GraphContainer,
  type GraphNode,
} from '../model/graphWalk';

type Layer = tfl.layers.Layer;

export interface FrozenPrefix {
  /** Path of the layer whose output is cached. */
  boundaryPath: string;
  /** Path of the last frozen layer in the prefix (the boundary, or a layer before weightless ones). */
  lastFrozenPath: string;
  /** Paths of the prefix's layers in execution order (the boundary layer last). */
  layerPaths: string[];
  /** Shape of one cached row: the boundary output without the batch dimension. */
  rowShape: number[];
  /** Images → boundary activations (inference mode; a new tensor the caller owns). */
  run(x: tf.Tensor): tf.Tensor;
  /** Boundary activations → class probabilities, with `training` as in TrainingModel.forward. */
  forwardRest(activations: tf.Tensor, training: boolean): tf.Tensor;
  /** Why the prefix ends where it does, when not at the last frozen layer. */
  notes: string[];
}

export type PrefixSplit = { prefix: FrozenPrefix } | { prefix?: undefined; reason: string };

/** Layers that draw random numbers in training mode (identity in inference). */
const RANDOM_IN_TRAINING = new Set([
  'Dropout',
  'SpatialDropout1D',
  'GaussianDropout',
  'AlphaDropout',
  'GaussianNoise',
]);

/**
 * Weightless layers whose output does not depend on the training flag (checked by class name: a layer
 * of any other class, or one of these that has weights, is never taken as fixed).
 */
const FIXED_WITHOUT_WEIGHTS = new Set([
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'AveragePooling1D',
  'AveragePooling2D',
  'MaxPooling1D',
  'MaxPooling2D',
  'Flatten',
  'Reshape',
  'Permute',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'ZeroPadding2D',
  'Cropping2D',
]);

function fixedWithoutWeights(layer: Layer): boolean {
  return FIXED_WITHOUT_WEIGHTS.has(layer.getClassName()) && layer.weights.length === 0;
}

/**
 * Whether a layer is random in training. The dropout family is the identity at rate 0 (tfjs skips the
 * random draw then); GaussianNoise draws even at stddev 0, which would shift the random numbers the
 * head's dropout gets, so it always counts.
 */
function randomInTraining(layer: Layer): boolean {
  const cls = layer.getClassName();
  if (!RANDOM_IN_TRAINING.has(cls)) return false;
  if (cls === 'GaussianNoise') return true;
  const rate = (layer as unknown as { rate?: number }).rate;
  return !(rate !== undefined && (rate <= 0 || rate >= 1));
}

/** Tensors produced before node `k` (the model input included) that nodes from `k` on, or the output, read. */
function crossingTensors(graph: GraphContainer, nodes: GraphNode[], k: number): Set<tfl.SymbolicTensor> {
  const produced = new Set<number>(graph.inputs.map((t) => t.id));
  for (const node of nodes.slice(0, k)) node.outputTensors.forEach((t) => produced.add(t.id));
  const crossing = new Set<tfl.SymbolicTensor>();
  for (const node of nodes.slice(k))
    for (const t of node.inputTensors) if (produced.has(t.id)) crossing.add(t);
  for (const t of graph.outputs) if (produced.has(t.id)) crossing.add(t);
  return crossing;
}

export function splitFrozenPrefix(model: TrainingModel): PrefixSplit {
  // The training model is flat (buildTrainingModel flattens nested bases), so its nodes are leaf layers.
  const graph = graphOf(model.model);
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    return { reason: 'the model has more than one input or output' };
  }
  const nodes: GraphNode[] = executionOrder(graph);
  const pathOf = (layer: Layer): string => model.layerPaths.get(layer) ?? layer.name;
  const isFrozen = (layer: Layer): boolean => {
    const path = model.layerPaths.get(layer);
    return path !== undefined && model.states.get(path) === 'frozen';
  };
  const notes: string[] = [];
  // The leading layers that are fixed functions of the image: frozen, or weightless and mode-independent.
  let fixedCount = 0;
  let lastFrozen = -1;
  while (fixedCount < nodes.length) {
    const layer = nodes[fixedCount].outboundLayer;
    if (!isFrozen(layer) && !fixedWithoutWeights(layer)) break;
    if (randomInTraining(layer)) {
      notes.push(
        `the frozen ${layer.getClassName()} layer "${pathOf(layer)}" is random during training, so the cache stops before it`,
      );
      break;
    }
    if (isFrozen(layer)) lastFrozen = fixedCount;
    fixedCount++;
  }
  // Weightless layers only help after a frozen one: a prefix of nothing but pooling of the input would
  // cache the images themselves, resized.
  if (lastFrozen < 0) {
    const stop = nodes[fixedCount]?.outboundLayer;
    const which = fixedCount === 0 ? 'its first layer' : 'its first layer with weights';
    return {
      reason:
        stop && isFrozen(stop)
          ? `${which} "${pathOf(stop)}" (${stop.getClassName()}) is random during training`
          : `${which} "${stop ? pathOf(stop) : '?'}" is not frozen`,
    };
  }

  // The longest fixed prefix whose output reaches the rest of the model through a single tensor.
  let cut = fixedCount;
  let boundary: tfl.SymbolicTensor | undefined;
  for (; cut > 0; cut--) {
    const crossing = [...crossingTensors(graph, nodes, cut)];
    if (crossing.length === 1 && crossing[0] !== graph.inputs[0]) {
      boundary = crossing[0];
      break;
    }
  }
  if (boundary === undefined) {
    return {
      reason: `no layer among the frozen ones feeds the rest of the model through a single tensor (branches skip over every frozen layer)`,
    };
  }
  const boundaryLayer = boundary.sourceLayer;
  if (cut - 1 > lastFrozen) {
    const through = nodes
      .slice(lastFrozen + 1, cut)
      .map((n) => `"${pathOf(n.outboundLayer)}" (${n.outboundLayer.getClassName()})`);
    notes.push(
      `the cache goes on past the last frozen layer "${pathOf(nodes[lastFrozen].outboundLayer)}" through ${through.join(', ')}: no weights, the same in training as in inference`,
    );
  }
  if (cut < fixedCount && cut - 1 < lastFrozen) {
    notes.push(
      `the cache ends at "${pathOf(boundaryLayer)}", not at the last frozen layer "${pathOf(nodes[lastFrozen].outboundLayer)}": after it, branches feed the rest of the model through more than one tensor`,
    );
  }
  const rowShape = boundary.shape.slice(1);
  if (!rowShape.every((d): d is number => typeof d === 'number' && d > 0)) {
    return {
      reason: `the output shape of "${pathOf(boundaryLayer)}" is not fixed ([${boundary.shape.join(', ')}])`,
    };
  }
  const prefixNodes = nodes.slice(0, cut);
  const restNodes = nodes.slice(cut);
  // Within each part: a chain may not reach over the boundary (the boundary is read from outside).
  const prefixChains = findFusedChains(prefixNodes, [boundary]);
  const restChains = findFusedChains(restNodes, graph.outputs);
  const inputId = graph.inputs[0].id;
  const outputId = graph.outputs[0].id;
  const boundaryId = boundary.id;
  return {
    prefix: {
      boundaryPath: pathOf(boundaryLayer),
      lastFrozenPath: pathOf(nodes[Math.min(lastFrozen, cut - 1)].outboundLayer),
      layerPaths: prefixNodes.map((n) => pathOf(n.outboundLayer)),
      rowShape: rowShape as number[],
      notes,
      run: (x) =>
        tf.tidy(() => {
          const values = new Map<number, AnyTensor>([[inputId, x]]);
          runNodes(
            prefixNodes,
            values,
            { kwargsFor: () => ({ training: false }), applyLayer: fusedLeafCall, applyChain: fusedChainCall },
            '',
            prefixChains,
          );
          return values.get(boundaryId) as tf.Tensor;
        }),
      forwardRest: (activations, training) => {
        const values = new Map<number, AnyTensor>([[boundaryId, activations]]);
        runNodes(
          restNodes,
          values,
          {
            kwargsFor: (layer) => ({ training: training && !model.frozenBatchNorm.has(layer) }),
            applyLayer: fusedLeafCall,
            applyChain: fusedChainCall,
          },
          '',
          restChains,
        );
        return values.get(outputId) as tf.Tensor;
      },
    },
  };
}
