/**
 * A TensorFlow.js LayersModel's model.json read as plain JSON — no TensorFlow.js, no weights — with the
 * one set of error messages every reader gives (what is wrong with which file, and how to fix it): the
 * engine's loader (model/fileModelIO.ts), the layer tree of Restricted Mode (topologyLayerTree.ts) and
 * the image size an experiment may leave out (config/modelInputShape.ts).
 *
 * Topologies come in two wrappings: tfjs writes `modelTopology` = { class_name, config }; Keras exports
 * nest that under `modelTopology.model_config`.
 */
import { UserError } from '../userError';
import { isFileReadError, readTextFile, readTextFileSync } from '../files/regularFile';

export type Json = unknown;

/** model.json files are topology plus a manifest; anything this large is not one. */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Nested models deeper than this are not real exports; the limit keeps hostile files from recursing forever. */
export const MAX_NESTING = 32;
/** Classes of a model, at the top or nested as a layer of another. */
export const MODEL_CLASSES: ReadonlySet<string> = new Set(['Sequential', 'Model', 'Functional']);

const GRAPH_MODEL_HINT = 'graph models from tfjs-converter cannot be fine-tuned; export a Keras/LayersModel';

/** An own property of a JSON object (never one inherited from Object.prototype), else undefined. */
export function field(value: Json, key: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, Json>)[key] : undefined;
}

/** The class of a layer or model (`class_name`, or tfjs's `className`). */
export function classOf(layer: Json): string | undefined {
  const name = field(layer, 'class_name') ?? field(layer, 'className');
  return typeof name === 'string' ? name : undefined;
}

/** The model inside `modelTopology`, unwrapping Keras' `model_config`. */
export function topologyOf(modelJson: Json): Json {
  const topology = field(modelJson, 'modelTopology');
  return field(topology, 'model_config') ?? topology;
}

function readFailure(modelJsonPath: string, error: unknown): UserError {
  if (isFileReadError(error)) {
    if (error.reason === 'missing')
      return new UserError(
        `Base model not found: ${modelJsonPath}. Point "baseModel" at a TensorFlow.js model.json.`,
        modelJsonPath,
      );
    if (error.reason === 'too large')
      return new UserError(
        `${modelJsonPath} is larger than a model.json can be; it is not read.`,
        modelJsonPath,
      );
    return new UserError(
      `Cannot read base model ${modelJsonPath}: it is ${error.reason === 'unreadable' ? `unreadable (${error.detail ?? 'error'})` : error.reason}.`,
      modelJsonPath,
    );
  }
  return new UserError(`Cannot read base model ${modelJsonPath}: ${(error as Error).message}`, modelJsonPath);
}

/** model.json's text parsed and checked for an object `modelTopology` (see readModelJson). */
export function parseModelJson(text: string, modelJsonPath: string): Record<string, Json> {
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${modelJsonPath} is not valid JSON (${(error as Error).message}).`, modelJsonPath);
  }
  const topology = field(json, 'modelTopology');
  if (topology === null || typeof topology !== 'object') {
    throw new UserError(
      `${modelJsonPath} has no "modelTopology": it is not a TensorFlow.js LayersModel (${GRAPH_MODEL_HINT}).`,
      modelJsonPath,
    );
  }
  return json as Record<string, Json>;
}

/**
 * model.json parsed, with an object `modelTopology`. Every problem is a UserError naming the file: missing
 * (point "baseModel" at one), unreadable (a device, a FIFO), too large, not JSON, or no topology (a graph
 * model). Read as a regular file of at most MAX_MODEL_JSON_BYTES (files/regularFile.ts).
 */
export function readModelJson(modelJsonPath: string): Record<string, Json> {
  let text: string;
  try {
    text = readTextFileSync(modelJsonPath, { maxBytes: MAX_MODEL_JSON_BYTES });
  } catch (error) {
    throw readFailure(modelJsonPath, error);
  }
  return parseModelJson(text, modelJsonPath);
}

/** readModelJson without blocking the thread (the extension host). */
export async function readModelJsonAsync(modelJsonPath: string): Promise<Record<string, Json>> {
  let text: string;
  try {
    text = await readTextFile(modelJsonPath, { maxBytes: MAX_MODEL_JSON_BYTES });
  } catch (error) {
    throw readFailure(modelJsonPath, error);
  }
  return parseModelJson(text, modelJsonPath);
}

/** The model of a model.json read by readModelJson; a topology that is not a model is a UserError. */
export function layersModelTopology(modelJson: Json, modelJsonPath: string): Json {
  const topology = topologyOf(modelJson);
  const className = classOf(topology);
  if (className === undefined || !MODEL_CLASSES.has(className)) {
    throw new UserError(
      `${modelJsonPath} has no Keras/LayersModel topology (its "modelTopology" is not a Sequential or functional model): it is not a TensorFlow.js LayersModel (${GRAPH_MODEL_HINT}).`,
      modelJsonPath,
    );
  }
  return topology;
}
