/**
 * The [height, width] a saved TensorFlow.js LayersModel expects, read from model.json's topology alone —
 * no TensorFlow.js, no weights — so an experiment file can omit `dataset.imageSize` and loading the config
 * stays instant.
 *
 * Topologies come in several spellings (model.json is read by core/model/modelJson.ts, which unwraps
 * Keras' `model_config`): Sequential configs are `{ layers: [...] }` or, in
 * old Keras, the layer array itself; functional models ("Model"/"Functional") name their inputs in
 * `config.input_layers`; and a model may be a layer of another (a Sequential whose first layer is a
 * MobileNet), in which case the input is the inner model's input.
 */
import {
  classOf,
  field,
  MAX_NESTING,
  MODEL_CLASSES,
  readModelJson,
  topologyOf,
  type Json,
} from '../model/modelJson';

export function readModelInputSize(modelJsonPath: string): [number, number] | undefined {
  try {
    return modelInputSizeOf(readModelJson(modelJsonPath));
  } catch {
    // Unreadable, not JSON or no topology: the caller asks the user for dataset.imageSize instead.
    return undefined;
  }
}

/** The [height, width] of a parsed model.json (readModelJson), or undefined when its topology does not say. */
export function modelInputSizeOf(modelJson: Json): [number, number] | undefined {
  return imageSizeOf(inputShapeOfModel(topologyOf(modelJson), 0));
}

/** Channels of the image input as the topology declares them (1 or 3), or undefined when it does not say. */
export function readModelInputChannels(modelJsonPath: string): 1 | 3 | undefined {
  try {
    const shape = inputShapeOfModel(topologyOf(readModelJson(modelJsonPath)), 0);
    const channels = shape?.length === 4 ? shape[3] : undefined;
    return channels === 1 || channels === 3 ? channels : undefined;
  } catch {
    return undefined;
  }
}

/** [null, h, w, c] of a model (`{ class_name, config }`), or undefined when it does not say. */
function inputShapeOfModel(model: Json, depth: number): Json[] | undefined {
  if (depth > MAX_NESTING) return undefined;
  const className = classOf(model);
  const config = field(model, 'config');
  // The model's own config may carry the shape (a Sequential built with an explicit batchInputShape).
  const own = shapeInLayerConfig(config);
  if (own !== undefined) return own;

  const layers = Array.isArray(config) ? config : field(config, 'layers');
  if (!Array.isArray(layers) || layers.length === 0) return undefined;

  if (className === 'Sequential' || Array.isArray(config)) return inputShapeOfLayer(layers[0], depth);

  // Functional: the first named input layer, looked up by name among the layers.
  const inputName = firstInputLayerName(field(config, 'input_layers') ?? field(config, 'inputLayers'));
  const inputLayer =
    inputName === undefined ? undefined : layers.find((layer) => layerName(layer) === inputName);
  return inputShapeOfLayer(inputLayer ?? layers[0], depth);
}

/** Shape a layer declares, recursing when the layer is itself a model. */
function inputShapeOfLayer(layer: Json, depth: number): Json[] | undefined {
  const className = classOf(layer);
  if (className !== undefined && MODEL_CLASSES.has(className)) return inputShapeOfModel(layer, depth + 1);
  return shapeInLayerConfig(field(layer, 'config'));
}

/** `batch_input_shape` (tfjs, Keras 2), `batch_shape` (Keras 3), or `input_shape` without the batch axis. */
function shapeInLayerConfig(config: Json): Json[] | undefined {
  for (const key of ['batch_input_shape', 'batchInputShape', 'batch_shape', 'batchShape']) {
    const shape = field(config, key);
    if (Array.isArray(shape)) return shape;
  }
  for (const key of ['input_shape', 'inputShape']) {
    const shape = field(config, key);
    if (Array.isArray(shape)) return [null, ...shape];
  }
  return undefined;
}

/** `input_layers` is `[[name, nodeIndex, tensorIndex], …]`, or a single `[name, 0, 0]` in Keras 3. */
function firstInputLayerName(inputLayers: Json): string | undefined {
  if (!Array.isArray(inputLayers) || inputLayers.length === 0) return undefined;
  const first: Json = inputLayers[0];
  if (typeof first === 'string') return first;
  if (Array.isArray(first) && typeof first[0] === 'string') return first[0];
  return undefined;
}

function layerName(layer: Json): unknown {
  return field(layer, 'name') ?? field(field(layer, 'config'), 'name');
}

/** [h, w] from [batch, h, w, channels] when both are positive integers (not null: a flexible size). */
function imageSizeOf(shape: Json[] | undefined): [number, number] | undefined {
  if (shape === undefined || shape.length !== 4) return undefined;
  const [, height, width] = shape;
  return isPositiveInteger(height) && isPositiveInteger(width) ? [height, width] : undefined;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}
