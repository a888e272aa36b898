/**
 * A TensorFlow.js LayersModel (an image classifier, nested models included) as an ONNX model.
 *
 * The engine's own graph walk (model/graphWalk.ts) drives the conversion: it visits every leaf layer in
 * execution order through nested models, and its `applyLayer` hook gets our graph values instead of
 * tensors, so each layer adds its ONNX nodes. A layer without a conversion is refused by path and class.
 *
 * The ONNX model's contract (also in preprocessing.json and the README):
 * - input `pixels`: float32 [batch, height, width, channels] — NHWC like TensorFlow.js, RGB (or BT.601
 *   luma for one channel), values 0..255. The run's pixel range is folded into the graph, then one
 *   Transpose to NCHW; no other layout change anywhere in the graph.
 * - output `probabilities`: float32 [batch, classes], in the order of labels.json.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { LayerApplyError, walkContainer, type AnyTensor } from '../../model/graphWalk';
import { UserError } from '../../../core/userError';
import { ConvertContext } from './convertContext';
import { EXPORTED_LAYER_CLASSES, LAYER_CONVERTERS } from './layerConverters';
import { OnnxRefusal, type OnnxValue } from './onnxValue';

export const ONNX_INPUT = 'pixels';
export const ONNX_OUTPUT = 'probabilities';

export interface OnnxModelOptions {
  /** [height, width] the model takes. */
  imageSize: [number, number];
  channels: 1 | 3;
  /** 0..255 is mapped linearly to this range inside the graph (what the run trained on). */
  pixelRange: [number, number];
  classNames: string[];
  /** Graph name and doc string (what Netron shows). */
  name: string;
  description: string;
  /** Written into the model's metadata_props as well. */
  metadata?: Record<string, string>;
}

export interface OnnxConversion {
  bytes: Uint8Array;
  /** Op types in node order. */
  opTypes: string[];
  /** Bytes of float weights in the file. */
  weightBytes: number;
}

/** TensorFlow.js' output shape of `layer` for these inputs, without the batch. */
function outputShapeOf(layer: tfl.layers.Layer, inputs: OnnxValue[]): number[] {
  const shapes = inputs.map((i) => [null, ...i.shape]);
  const shape = layer.computeOutputShape(shapes.length === 1 ? shapes[0] : shapes) as (number | null)[];
  if (Array.isArray(shape[0])) throw new OnnxRefusal('has several outputs, which is not exported.');
  const rest = shape.slice(1);
  if (rest.some((d) => typeof d !== 'number' || d <= 0))
    throw new OnnxRefusal(`has an output shape [${rest.join(', ')}] that is not fixed.`);
  return rest as number[];
}

/** Refuses with the walk's layer path and class; other failures are bugs and stay as they are. */
function refusal(error: unknown, what: string): unknown {
  if (error instanceof LayerApplyError && error.reason instanceof OnnxRefusal) {
    return new UserError(
      `Cannot export ${what} to ONNX: layer "${error.path}" (${error.layer.getClassName()}) ${error.reason.message}`,
    );
  }
  return error;
}

export function convertToOnnx(model: tfl.LayersModel, options: OnnxModelOptions): OnnxConversion {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new UserError(
      `Cannot export ${options.name} to ONNX: the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; an image classifier has one of each.`,
    );
  const [height, width] = options.imageSize;
  const channels = options.channels;
  const cx = new ConvertContext();
  const g = cx.graph;
  g.reserve(ONNX_OUTPUT);

  let x = g.addInput(ONNX_INPUT, ['batch', height, width, channels]);
  const [lo, hi] = options.pixelRange;
  if (hi - lo !== 255)
    x = g.node('Mul', [x, g.addScalar('pixel_range/scale_value', (hi - lo) / 255)], 'pixel_range/scale');
  if (lo !== 0) x = g.node('Add', [x, g.addScalar('pixel_range/offset_value', lo)], 'pixel_range/offset');
  x = g.node('Transpose', [x], 'to_nchw', { perm: [0, 3, 1, 2] });
  const input: OnnxValue = { name: x, shape: [height, width, channels] };

  let outputs: AnyTensor[];
  let path = '';
  try {
    outputs = walkContainer(model, [input as unknown as AnyTensor], {
      // Called for each leaf right before applyLayer: the layer's path names its nodes.
      kwargsFor: (_layer, layerPath) => {
        path = layerPath;
        return {};
      },
      applyLayer: (layer, args) => {
        const inputs = (Array.isArray(args) ? args : [args]) as unknown as OnnxValue[];
        const convert = LAYER_CONVERTERS[layer.getClassName()];
        if (!convert) {
          throw new OnnxRefusal(
            `has no ONNX conversion. Exported layer classes: ${EXPORTED_LAYER_CLASSES.join(', ')} (and nested models of them). Export as TensorFlow.js (format tfjs) instead, or replace the layer.`,
          );
        }
        return convert(cx, layer, inputs, path, outputShapeOf(layer, inputs)) as unknown as AnyTensor;
      },
    });
  } catch (error) {
    throw refusal(error, options.name);
  }

  const out = outputs[0] as unknown as OnnxValue;
  if (out.shape.length !== 1 || out.shape[0] !== options.classNames.length) {
    throw new UserError(
      `Cannot export ${options.name} to ONNX: the model's output has shape [${out.shape.join(', ')}], not one probability for each of the ${options.classNames.length} classes.`,
    );
  }
  g.node('Identity', [cx.ordered(out)], ONNX_OUTPUT, {}, ONNX_OUTPUT);
  g.addOutput(ONNX_OUTPUT, ['batch', options.classNames.length]);

  const bytes = g.encode({
    name: options.name,
    docString: options.description,
    metadata: {
      labels: JSON.stringify(options.classNames),
      input_layout: 'NHWC',
      input_range: '[0, 255]',
      pixel_range: JSON.stringify(options.pixelRange),
      ...options.metadata,
    },
  });
  return { bytes, opTypes: g.opTypes, weightBytes: g.floatBytes };
}
