/** The layer tree API: path names, classes, output shapes and parameter counts, nested models as children. */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerNode } from '../../protocol/layerTree';
import { childLayers, executionOrder, graphOf, isContainer, isInputLayer } from './graphWalk';
import { loadBaseModel } from './loadBaseModel';

type Layer = tfl.layers.Layer;

function countParams(weights: tfl.LayerVariable[]): number {
  return weights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}

function outputShapeOf(layer: Layer): LayerNode['outputShape'] {
  try {
    return layer.outputShape as LayerNode['outputShape'];
  } catch {
    // A layer used at several places has no single output shape; show its first use.
    const node = (layer as unknown as { inboundNodes: { outputShapes: LayerNode['outputShape'] }[] })
      .inboundNodes[0];
    return node?.outputShapes ?? [];
  }
}

export function describeLayer(layer: Layer, prefix = ''): LayerNode {
  const path = prefix + layer.name;
  const node: LayerNode = {
    path,
    name: layer.name,
    className: layer.getClassName(),
    outputShape: outputShapeOf(layer),
    trainableParams: countParams(layer.trainableWeights),
    nonTrainableParams: countParams(layer.nonTrainableWeights),
  };
  if (isContainer(layer)) {
    node.children = describeChildren(layer, `${path}/`);
    const output = functionalOutput(layer, `${path}/`);
    if (output !== undefined) node.output = output;
  }
  return node;
}

/**
 * The children of a model with what each reads (`LayerNode.inputs`), as topologyLayerTree reads them from
 * model.json: a Sequential's children form a chain (left implicit); a functional model's come from its
 * graph — a sibling's path, or the model's own path (`prefix` without its '/', '' at the top) for its input.
 */
function describeChildren(container: tfl.LayersModel, prefix: string): LayerNode[] {
  const children = childLayers(container).map((child) => describeLayer(child, prefix));
  if (container instanceof tfl.Sequential) return children;
  const own = prefix.replace(/\/$/, '');
  const nodes = executionOrder(graphOf(container));
  for (const child of children) {
    const graphNode = nodes.find((n) => prefix + n.outboundLayer.name === child.path);
    if (!graphNode) continue;
    child.inputs = graphNode.inboundLayers.map((l) => (isInputLayer(l) ? own : prefix + l.name));
  }
  return children;
}

/** The child whose output is a functional model's output (a Sequential's is its last child). */
function functionalOutput(container: tfl.LayersModel, prefix: string): string | undefined {
  if (container instanceof tfl.Sequential) return undefined;
  const source = graphOf(container).outputs[0]?.sourceLayer;
  return source ? prefix + source.name : undefined;
}

/** The top-level layers of a model with their nested children. */
export function describeModel(model: tfl.LayersModel): LayerNode[] {
  return describeChildren(model, '');
}

export async function describeModelFile(modelJsonPath: string): Promise<LayerNode[]> {
  const { model } = await loadBaseModel(modelJsonPath);
  try {
    return describeModel(model);
  } finally {
    model.dispose();
  }
}

/** Every path in a tree, depth first (containers before their children). */
export function allPaths(nodes: LayerNode[]): string[] {
  return nodes.flatMap((n) => [n.path, ...allPaths(n.children ?? [])]);
}
