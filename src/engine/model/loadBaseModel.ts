/** Loads a pre-trained TensorFlow.js LayersModel from disk and checks it can classify images. */
import * as tfl from '@tensorflow/tfjs-layers';
import { fileLoadHandler } from './fileModelIO';
import { UserError, errorMessage, isUserError } from '../../core/userError';

export interface BaseModel {
  model: tfl.LayersModel;
  /** [height, width, channels] of the image input (height/width may be null: any size). */
  inputShape: [number | null, number | null, number];
}

export async function loadBaseModel(modelJsonPath: string): Promise<BaseModel> {
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(fileLoadHandler(modelJsonPath));
  } catch (error) {
    if (isUserError(error)) throw error;
    throw new UserError(
      `Cannot load the base model ${modelJsonPath}: ${errorMessage(error)}. It must be a TensorFlow.js LayersModel (model.json + weight files) using only built-in layers.`,
      modelJsonPath,
    );
  }
  if (model.inputs.length !== 1) {
    throw new UserError(
      `The base model ${modelJsonPath} has ${model.inputs.length} inputs; an image classifier needs exactly one image input.`,
      modelJsonPath,
    );
  }
  const shape = model.inputs[0].shape;
  const channels = shape[3];
  if (shape.length !== 4 || (channels !== 1 && channels !== 3)) {
    throw new UserError(
      `The base model ${modelJsonPath} takes input of shape [${shape.map((d) => (d == null ? 'null' : d)).join(', ')}], not an image: fine-tuning needs a model whose input is [batch, height, width, 1 or 3].`,
      modelJsonPath,
    );
  }
  return { model, inputShape: [shape[1], shape[2], channels] };
}
