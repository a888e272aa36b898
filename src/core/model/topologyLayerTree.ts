/**
 * A model's layer tree read from model.json as plain JSON — path names, classes and nesting, the same
 * paths `describeModel` gives — without TensorFlow.js and without the weight files. Workspace Trust's
 * Restricted Mode shows this, so layers can be browsed (and frozen, which only edits the experiment file)
 * in a folder that is not trusted; output shapes and parameter counts need the model loaded, and are left
 * empty here.
 */
import * as fs from 'node:fs';
import type { LayerNode } from '../../protocol/layerTree';
import { UserError } from '../userError';

/** model.json files are topology plus a manifest; anything this large is not one. */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Nested models deeper than this are not real exports; the limit keeps hostile files from recursing forever. */
const MAX_NESTING = 32;
const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);

type Json = unknown;

function field(value: Json, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, Json>)[key] : undefined;
}

function classOf(layer: Json): string {
  const name = field(layer, 'class_name') ?? field(layer, 'className');
  return typeof name === 'string' ? name : '?';
}

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
        className: classOf(layer),
        outputShape: [],
        trainableParams: 0,
        nonTrainableParams: 0,
      };
      if (MODEL_CLASSES.has(node.className)) node.children = childrenOf(layer, `${path}/`, depth + 1);
      return node;
    });
}

export function topologyLayerTree(modelJsonPath: string): LayerNode[] {
  let text: string;
  try {
    if (fs.statSync(modelJsonPath).size > MAX_MODEL_JSON_BYTES) {
      throw new UserError(
        `${modelJsonPath} is larger than a model.json can be; it is not read.`,
        modelJsonPath,
      );
    }
    text = fs.readFileSync(modelJsonPath, 'utf8');
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `Base model not found: ${modelJsonPath}. Point "baseModel" at a TensorFlow.js model.json.`
        : `Cannot read base model ${modelJsonPath}: ${(error as Error).message}`,
      modelJsonPath,
    );
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${modelJsonPath} is not valid JSON (${(error as Error).message}).`, modelJsonPath);
  }
  let topology = field(json, 'modelTopology');
  if (field(topology, 'model_config') !== undefined) topology = field(topology, 'model_config');
  if (topology === undefined || !MODEL_CLASSES.has(classOf(topology))) {
    throw new UserError(
      `${modelJsonPath} has no Keras/LayersModel topology: it is not a TensorFlow.js LayersModel.`,
      modelJsonPath,
    );
  }
  try {
    return childrenOf(topology, '', 0);
  } catch (error) {
    throw new UserError(
      `Cannot read the layers of ${modelJsonPath}: ${(error as Error).message}.`,
      modelJsonPath,
    );
  }
}
