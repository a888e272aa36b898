/**
 * Our own executor for LayersModel graphs, nested models included.
 *
 * Why not `model.apply`/`model.predict`/`fit`: tfjs runs a nested model (a Sequential inside a Model, as
 * Keras and Teachable Machine exports have) through `runInternalGraph`, which drops the `training` flag —
 * so dropout and batch norm inside nested models never see training mode, and there is no way to run one
 * BatchNormalization layer in inference mode while the rest trains. Walking the graph ourselves gives each
 * leaf layer its own call arguments and lets the same code build a flat functional model symbolically.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { findFusedChains } from '../backend/fusedOps/fusedChains';

type Layer = tfl.layers.Layer;
export type AnyTensor = tf.Tensor | tfl.SymbolicTensor;
type Kwargs = Record<string, unknown>;

/**
 * Internal fields of tfjs containers and nodes that the walk needs (public in JS, not in the typings).
 * The only declaration of them in the engine: every executor (the training model's forward, the frozen
 * prefix of the activation cache) runs graphs through this file.
 */
export interface GraphNode {
  outboundLayer: Layer;
  /** The layers whose outputs this node reads (InputLayers included). */
  inboundLayers: Layer[];
  inputTensors: tfl.SymbolicTensor[];
  outputTensors: tfl.SymbolicTensor[];
  callArgs?: Kwargs;
}
export interface GraphContainer {
  name: string;
  inputs: tfl.SymbolicTensor[];
  outputs: tfl.SymbolicTensor[];
  layers: Layer[];
  nodesByDepth: Record<string, GraphNode[]>;
}

/** A layer failed while the graph ran (typically: an input shape it cannot take). */
export class LayerApplyError extends Error {
  constructor(
    readonly path: string,
    readonly layer: Layer,
    readonly reason: unknown,
  ) {
    super(
      `layer "${path}" (${layer.getClassName()}): ${reason instanceof Error ? reason.message : String(reason)}`,
    );
  }
}

export function isContainer(layer: Layer): layer is tfl.LayersModel {
  return layer instanceof tfl.LayersModel;
}

export function isInputLayer(layer: Layer): boolean {
  return layer.getClassName() === 'InputLayer';
}

/**
 * A Sequential loaded from JSON builds its inner graph lazily (on first call); our walk needs the graph
 * (`nodesByDepth`) now. Built the way tfjs does it on first use.
 */
function ensureBuilt(container: tfl.LayersModel): void {
  if (container instanceof tfl.Sequential && (container as unknown as { model?: unknown }).model == null) {
    container.build();
  }
}

/** The graph of a container (built first when it is a Sequential loaded from JSON). */
export function graphOf(container: tfl.LayersModel): GraphContainer {
  ensureBuilt(container);
  return container as unknown as GraphContainer;
}

/** Layers of a container in execution (topological) order, without InputLayers. */
export function childLayers(container: tfl.LayersModel): Layer[] {
  return graphOf(container).layers.filter((l) => !isInputLayer(l));
}

/** A container's nodes in the order the walk runs them (deepest first), without InputLayers. */
export function executionOrder(graph: GraphContainer): GraphNode[] {
  return Object.keys(graph.nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a)
    .flatMap((depth) => graph.nodesByDepth[depth])
    .filter((node) => !isInputLayer(node.outboundLayer));
}

export interface WalkHooks {
  /** Call arguments for a leaf layer (merged over the node's own). */
  kwargsFor?: (layer: Layer, path: string) => Kwargs;
  /**
   * Computes a leaf layer another way (a fused kernel) instead of `layer.apply`; undefined to apply it.
   * Gets the merged call arguments.
   */
  applyLayer?: (layer: Layer, input: AnyTensor | AnyTensor[], kwargs: Kwargs) => AnyTensor | undefined;
  /**
   * Computes a chain of leaf layers (fusedChains.ts: convolution → batch norm → ReLU, nothing else reading
   * the intermediates) at once, at its first layer; undefined to run them one by one. Gets each layer's
   * merged call arguments. Not asked when `onOutput` is set (it observes every layer).
   */
  applyChain?: (layers: Layer[], input: AnyTensor | AnyTensor[], kwargs: Kwargs[]) => AnyTensor | undefined;
  /** Observes every leaf or container output, by path. */
  onOutput?: (path: string, layer: Layer, outputs: AnyTensor[]) => void;
}

/**
 * Runs `container` on `inputs` (concrete tensors or symbolic tensors), recursing into nested containers.
 * Paths are `prefix + name`, nested ones joined by '/'.
 */
export function walkContainer(
  container: tfl.LayersModel,
  inputs: AnyTensor[],
  hooks: WalkHooks = {},
  prefix = '',
): AnyTensor[] {
  const graph = graphOf(container);
  const values = new Map<number, AnyTensor>();
  graph.inputs.forEach((t, i) => values.set(t.id, inputs[i]));
  const chains = hooks.applyChain && !hooks.onOutput ? chainsOf(graph) : undefined;
  runNodes(executionOrder(graph), values, hooks, prefix, chains);
  return graph.outputs.map((t) => {
    const value = values.get(t.id);
    if (value === undefined) throw new Error(`Model ${container.name}: output ${t.name} was not computed.`);
    return value;
  });
}

/**
 * Runs `nodes` (in execution order) on the tensors in `values` (symbolic tensor id → value), adding each
 * node's outputs to it. A node whose inputs are not all known is skipped (a branch these inputs do not
 * feed), so a slice of a graph runs from whatever tensor it starts at. Nested containers are walked.
 * `chains` (fusedChains.ts, found for these very nodes so none reaches past the slice) are offered to
 * `hooks.applyChain` at their first node; a chain it computes skips its other nodes.
 */
export function runNodes(
  nodes: readonly GraphNode[],
  values: Map<number, AnyTensor>,
  hooks: WalkHooks = {},
  prefix = '',
  chains?: ReadonlyMap<GraphNode, readonly GraphNode[]>,
): void {
  const kwargsOf = (node: GraphNode): Kwargs => ({
    ...(node.callArgs ?? {}),
    ...(hooks.kwargsFor?.(node.outboundLayer, prefix + node.outboundLayer.name) ?? {}),
  });
  /** Nodes whose output a fused chain has already computed. */
  const done = new Set<GraphNode>();
  for (const node of nodes) {
    if (done.has(node)) continue;
    const layer = node.outboundLayer;
    const chain = chains?.get(node);
    const chainInput = chain ? values.get(node.inputTensors[0].id) : undefined;
    const fused =
      chain && chainInput !== undefined
        ? hooks.applyChain?.(
            chain.map((n) => n.outboundLayer),
            chainInput,
            chain.map(kwargsOf),
          )
        : undefined;
    if (chain && fused !== undefined) {
      for (const n of chain) done.add(n);
      values.set(chain[chain.length - 1].outputTensors[0].id, fused);
      continue;
    }
    const args = node.inputTensors.map((t) => values.get(t.id));
    if (args.some((a) => a === undefined)) continue; // a branch not fed by these inputs
    const path = prefix + layer.name;
    let outputs: AnyTensor[];
    if (isContainer(layer)) {
      outputs = walkContainer(layer, args as AnyTensor[], hooks, `${path}/`);
    } else {
      const kwargs = kwargsOf(node);
      const input = args.length === 1 ? args[0] : args;
      let result: AnyTensor | AnyTensor[];
      try {
        result =
          hooks.applyLayer?.(layer, input as AnyTensor | AnyTensor[], kwargs) ??
          (layer.apply(input as tf.Tensor | tf.Tensor[], kwargs) as AnyTensor | AnyTensor[]);
      } catch (error) {
        throw error instanceof LayerApplyError ? error : new LayerApplyError(path, layer, error);
      }
      outputs = Array.isArray(result) ? result : [result];
    }
    hooks.onOutput?.(path, layer, outputs);
    node.outputTensors.forEach((t, i) => values.set(t.id, outputs[i]));
  }
}

const chainsByGraph = new WeakMap<GraphContainer, Map<GraphNode, GraphNode[]>>();

/** The graph's fusable chains (its structure never changes once built), found once. */
function chainsOf(graph: GraphContainer): Map<GraphNode, GraphNode[]> {
  let chains = chainsByGraph.get(graph);
  if (!chains) {
    const nodes = Object.values(graph.nodesByDepth).flat();
    chains = findFusedChains(nodes, graph.outputs);
    chainsByGraph.set(graph, chains);
  }
  return chains;
}

export interface LeafLayer {
  path: string;
  layer: Layer;
  /** Paths of the containers that hold it, outermost first. */
  parents: string[];
}

/** Leaf layers and containers of a model, in execution order (containers listed before their leaves). */
export function enumerateLayers(model: tfl.LayersModel): {
  leaves: LeafLayer[];
  containers: Map<string, tfl.LayersModel>;
} {
  const leaves: LeafLayer[] = [];
  const containers = new Map<string, tfl.LayersModel>();
  const visit = (container: tfl.LayersModel, prefix: string, parents: string[]): void => {
    for (const layer of childLayers(container)) {
      const path = prefix + layer.name;
      if (isContainer(layer)) {
        containers.set(path, layer);
        visit(layer, `${path}/`, [...parents, path]);
      } else {
        leaves.push({ path, layer, parents });
      }
    }
  };
  visit(model, '', []);
  return { leaves, containers };
}
