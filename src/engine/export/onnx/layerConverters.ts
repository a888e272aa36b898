/**
 * Which TensorFlow.js layer class becomes which ONNX ops. A class not listed here is refused by name
 * (convertModel.ts), never approximated.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ConvertContext } from './convertContext';
import {
  convertBatchNormalization,
  convertConv2D,
  convertDense,
  convertDepthwiseConv2D,
  convertSeparableConv2D,
} from './linearLayers';
import type { OnnxValue } from './onnxValue';
import {
  convertActivationLayer,
  convertConcatenate,
  convertCropping2D,
  convertELU,
  convertFlatten,
  convertGlobalPooling,
  convertIdentity,
  convertLeakyReLU,
  convertMerge,
  convertPReLU,
  convertPooling,
  convertReLU,
  convertRescaling,
  convertReshape,
  convertSoftmaxLayer,
  convertThresholdedReLU,
  convertZeroPadding2D,
} from './structureLayers';

/** Converts one layer: its inputs as graph values, its output's TensorFlow.js shape (without batch). */
export type LayerConverter = (
  cx: ConvertContext,
  layer: tfl.layers.Layer,
  inputs: OnnxValue[],
  stem: string,
  outputShape: number[],
) => OnnxValue;

export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  Conv2D: convertConv2D,
  DepthwiseConv2D: convertDepthwiseConv2D,
  SeparableConv2D: convertSeparableConv2D,
  Dense: convertDense,
  BatchNormalization: convertBatchNormalization,
  Activation: convertActivationLayer,
  ReLU: convertReLU,
  LeakyReLU: convertLeakyReLU,
  ELU: convertELU,
  PReLU: convertPReLU,
  ThresholdedReLU: convertThresholdedReLU,
  Softmax: convertSoftmaxLayer,
  MaxPooling2D: convertPooling('MaxPool'),
  AveragePooling2D: convertPooling('AveragePool'),
  GlobalAveragePooling2D: convertGlobalPooling('GlobalAveragePool'),
  GlobalMaxPooling2D: convertGlobalPooling('GlobalMaxPool'),
  ZeroPadding2D: convertZeroPadding2D,
  Cropping2D: convertCropping2D,
  Flatten: convertFlatten,
  Reshape: convertReshape,
  Add: convertMerge('Add'),
  Multiply: convertMerge('Mul'),
  Average: convertMerge('Mean'),
  Maximum: convertMerge('Max'),
  Minimum: convertMerge('Min'),
  Concatenate: convertConcatenate,
  Rescaling: convertRescaling,
  // Random only in training: nothing at inference.
  Dropout: convertIdentity,
  SpatialDropout1D: convertIdentity,
  AlphaDropout: convertIdentity,
  GaussianDropout: convertIdentity,
  GaussianNoise: convertIdentity,
};

export const EXPORTED_LAYER_CLASSES = Object.keys(LAYER_CONVERTERS);
