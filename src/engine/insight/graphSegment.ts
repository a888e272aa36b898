/**
 * Running part of a flat functional model: from any one tensor of its graph (the image input, or the
 * cached boundary of the frozen prefix) to another (the cut, the last spatial layer, the input of the
 * output layer), in inference mode. tfjs cannot make a model whose input is an intermediate tensor, so
 * the nodes are run in graph order here, as graphWalk.ts and frozenPrefix.ts do, each only once every
 * tensor it reads is known.
 *
 * Also finds the tensors data insight needs in the models we train and save: the cut (input of the new
 * head) and the last spatial tensor before it (Grad-CAM's layer).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

type Layer = tfl.layers.Layer;

interface GraphNode {
  outboundLayer: Layer;
  inputTensors: tfl.SymbolicTensor[];
  outputTensors: tfl.SymbolicTensor[];
  callArgs?: Record<string, unknown>;
}
interface Graph {
  inputs: tfl.SymbolicTensor[];
  outputs: tfl.SymbolicTensor[];
  nodesByDepth: Record<string, GraphNode[]>;
}

/** The model's nodes in the order they run (deepest first), without InputLayers. */
export function executionOrder(model: tfl.LayersModel): GraphNode[] {
  const graph = model as unknown as Graph;
  return Object.keys(graph.nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a)
    .flatMap((depth) => graph.nodesByDepth[depth])
    .filter((node) => node.outboundLayer.getClassName() !== 'InputLayer');
}

export function modelInput(model: tfl.LayersModel): tfl.SymbolicTensor {
  return (model as unknown as Graph).inputs[0];
}

/**
 * Runs the nodes between `from` (given as `x`) and `to`, inference mode (dropout off, batch norm on its
 * moving statistics). Tensors are not tidied here: call it inside tf.tidy or tf.grad.
 */
export function runSegment(
  model: tfl.LayersModel,
  from: tfl.SymbolicTensor,
  x: tf.Tensor,
  to: tfl.SymbolicTensor,
): tf.Tensor {
  if (from.id === to.id) return x;
  const values = new Map<number, tf.Tensor>([[from.id, x]]);
  for (const node of executionOrder(model)) {
    if (node.outputTensors.every((t) => values.has(t.id))) continue;
    const args = node.inputTensors.map((t) => values.get(t.id));
    if (args.some((a) => a === undefined)) continue; // fed by tensors before `from`: not in the segment
    const input = args.length === 1 ? args[0]! : (args as tf.Tensor[]);
    const result = node.outboundLayer.apply(input, { ...(node.callArgs ?? {}), training: false }) as
      tf.Tensor | tf.Tensor[];
    const outputs = Array.isArray(result) ? result : [result];
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
    const reached = values.get(to.id);
    if (reached) return reached;
  }
  throw new Error(`The tensor ${to.name} cannot be computed from ${from.name} in model ${model.name}.`);
}

/** The output tensor of `layer` in this model's graph (a layer shared with another model has several). */
export function outputIn(model: tfl.LayersModel, layer: Layer): tfl.SymbolicTensor | undefined {
  return executionOrder(model).find((node) => node.outboundLayer === layer)?.outputTensors[0];
}

const HEAD_LAYER = /^head_(pool|flatten|dense_\d+|bn(_\d+)?|relu_\d+|dropout(_\d+)?|output)(_\d+)?$/;

/**
 * The new head's first node. In a TrainingModel every kept pre-trained layer is in `baseLayers`; in a
 * saved model the head is recognised by its layer names (head.ts names them head_…).
 */
function firstHeadNode(model: tfl.LayersModel, baseLayers?: ReadonlySet<Layer>): GraphNode | undefined {
  const nodes = executionOrder(model);
  return baseLayers
    ? nodes.find((node) => !baseLayers.has(node.outboundLayer))
    : nodes.find((node) => HEAD_LAYER.test(node.outboundLayer.name));
}

/** The cut: the tensor that feeds the new head (for another model: the input of its last Dense layer). */
export function cutTensor(model: tfl.LayersModel, baseLayers?: ReadonlySet<Layer>): tfl.SymbolicTensor {
  const head = firstHeadNode(model, baseLayers);
  if (head) return head.inputTensors[0];
  const lastDense = [...executionOrder(model)]
    .reverse()
    .find((n) => n.outboundLayer.getClassName() === 'Dense');
  if (!lastDense)
    throw new Error(`Model ${model.name} has no head and no Dense layer: no cut to read features at.`);
  return lastDense.inputTensors[0];
}

/**
 * Grad-CAM's layer: the last tensor before the head that still has rows and columns ([batch, h, w, c]),
 * with the layer that produced it.
 */
export function lastSpatialTensor(
  model: tfl.LayersModel,
  baseLayers?: ReadonlySet<Layer>,
): { tensor: tfl.SymbolicTensor; layer: Layer } {
  const nodes = executionOrder(model);
  const head = firstHeadNode(model, baseLayers);
  const before = head ? nodes.slice(0, nodes.indexOf(head)) : nodes;
  for (let i = before.length - 1; i >= 0; i--) {
    const tensor = before[i].outputTensors[0];
    if (tensor.shape.length === 4 && (tensor.shape[1] ?? 0) > 0 && (tensor.shape[2] ?? 0) > 0) {
      return { tensor, layer: before[i].outboundLayer };
    }
  }
  throw new Error(
    `Model ${model.name} has no layer with a spatial output ([batch, height, width, channels]) before its head: Grad-CAM needs one.`,
  );
}

/**
 * The last layer when it is a Dense softmax: Grad-CAM weights the score before the softmax (the logit),
 * whose gradient does not vanish when the model is confident.
 */
export function softmaxOutputLayer(
  model: tfl.LayersModel,
): { layer: Layer; input: tfl.SymbolicTensor } | undefined {
  const nodes = executionOrder(model);
  const last = nodes[nodes.length - 1];
  if (!last || last.outboundLayer.getClassName() !== 'Dense') return undefined;
  const activation = (last.outboundLayer.getConfig() as { activation?: string }).activation;
  return activation === 'softmax' ? { layer: last.outboundLayer, input: last.inputTensors[0] } : undefined;
}
