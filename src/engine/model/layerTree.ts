/** The layer tree API: path names, classes, output shapes and parameter counts, nested models as children. */
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerNode } from '../../protocol/layerTree';
import { childLayers, isContainer } from './graphWalk';
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
  if (isContainer(layer)) node.children = childLayers(layer).map((child) => describeLayer(child, `${path}/`));
  return node;
}

/** The top-level layers of a model with their nested children. */
export function describeModel(model: tfl.LayersModel): LayerNode[] {
  return childLayers(model).map((layer) => describeLayer(layer));
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
