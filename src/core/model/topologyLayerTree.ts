/**
 * A model's layer tree read from model.json as plain JSON — path names, classes and nesting, the same
 * paths `describeModel` gives — without TensorFlow.js and without the weight files. Workspace Trust's
 * Restricted Mode shows this, so layers can be browsed (and frozen, which only edits the experiment file)
 * in a folder that is not trusted; output shapes and parameter counts need the model loaded, and are left
 * empty here.
 */
import type { LayerNode } from '../../protocol/layerTree';
import { UserError } from '../userError';
import {
  classOf,
  field,
  layersModelTopology,
  MAX_NESTING,
  MODEL_CLASSES,
  readModelJson,
  type Json,
} from './modelJson';

function nameOf(layer: Json, index: number): string {
  const name = field(field(layer, 'config'), 'name') ?? field(layer, 'name');
  return typeof name === 'string' && name !== '' ? name : `layer_${index}`;
}

/** The layers of a model (`{ class_name, config }`), input layers left out as describeModel does. */
function childrenOf(model: Json, prefix: string, depth: number): LayerNode[] {
  if (depth > MAX_NESTING) throw new Error(`models nested more than ${MAX_NESTING} deep`);
  const config = field(model, 'config');
  const layers = Array.isArray(config) ? config : field(config, 'layers');
  if (!Array.isArray(layers)) return [];
  return layers
    .filter((layer) => classOf(layer) !== 'InputLayer')
    .map((layer, index) => {
      const name = nameOf(layer, index);
      const path = prefix + name;
      const node: LayerNode = {
        path,
        name,
        className: classOf(layer) ?? '?',
        outputShape: [],
        trainableParams: 0,
        nonTrainableParams: 0,
      };
      if (MODEL_CLASSES.has(node.className)) node.children = childrenOf(layer, `${path}/`, depth + 1);
      return node;
    });
}

export function topologyLayerTree(modelJsonPath: string): LayerNode[] {
  return layerTreeOfModelJson(readModelJson(modelJsonPath), modelJsonPath);
}

/** The layer tree of a parsed model.json (readModelJson / readModelJsonAsync); `modelJsonPath` names it in errors. */
export function layerTreeOfModelJson(modelJson: Json, modelJsonPath: string): LayerNode[] {
  const topology = layersModelTopology(modelJson, modelJsonPath);
  try {
    return childrenOf(topology, '', 0);
  } catch (error) {
    throw new UserError(
      `Cannot read the layers of ${modelJsonPath}: ${(error as Error).message}.`,
      modelJsonPath,
    );
  }
}
