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

/** Layer names an inbound node refers to: `[[name, node, tensor, kwargs], …]` (Keras 2, tfjs) or Keras 3's `keras_history`. */
function inboundNames(node: Json, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    if (typeof node[0] === 'string' && typeof node[1] === 'number') out.push(node[0]);
    else node.forEach((item) => inboundNames(item, out));
  } else if (typeof node === 'object' && node !== null) {
    const history = field(field(node, 'config'), 'keras_history');
    if (Array.isArray(history) && typeof history[0] === 'string') out.push(history[0]);
    else
      for (const key of ['args', 'kwargs'])
        if (field(node, key) !== undefined) inboundNames(field(node, key), out);
  }
  return out;
}

/** The layers of a model (`{ class_name, config }`), input layers left out as describeModel does. */
function childrenOf(model: Json, prefix: string, depth: number): LayerNode[] {
  if (depth > MAX_NESTING) throw new Error(`models nested more than ${MAX_NESTING} deep`);
  const config = field(model, 'config');
  const layers = Array.isArray(config) ? config : field(config, 'layers');
  if (!Array.isArray(layers)) return [];
  // A functional model's graph: which layers each reads (a Sequential's children are a chain).
  const functional = classOf(model) !== 'Sequential';
  const own = prefix.replace(/\/$/, '');
  const inputNames = new Set(
    layers.filter((layer) => classOf(layer) === 'InputLayer').map((layer, i) => nameOf(layer, i)),
  );
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
      if (MODEL_CLASSES.has(node.className)) {
        node.children = childrenOf(layer, `${path}/`, depth + 1);
        const output = outputName(layer);
        if (output !== undefined && classOf(layer) !== 'Sequential') node.output = `${path}/${output}`;
      }
      if (functional) {
        const nodes = field(layer, 'inbound_nodes');
        if (Array.isArray(nodes) && nodes.length > 0) {
          node.inputs = inboundNames(nodes[0]).map((n) => (inputNames.has(n) ? own : prefix + n));
        }
      }
      return node;
    });
}

/** The layer a functional model's (first) output comes from (`output_layers`). */
function outputName(model: Json): string | undefined {
  const outputs = field(field(model, 'config'), 'output_layers');
  if (!Array.isArray(outputs) || outputs.length === 0) return undefined;
  const first = Array.isArray(outputs[0]) ? outputs[0] : outputs;
  return typeof first[0] === 'string' ? first[0] : undefined;
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
