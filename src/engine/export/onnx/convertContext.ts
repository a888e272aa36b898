/**
 * What layer converters share: the graph under construction, turning lazy values into graph tensors, and
 * reading a layer's weights and configuration.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { OnnxGraph } from './onnxGraph';
import { OnnxRefusal, type OnnxValue } from './onnxValue';

type Layer = tfl.layers.Layer;

/** A layer's weight as TensorFlow.js holds it (a copy: converters may change it). */
export interface Weight {
  values: Float32Array;
  shape: number[];
}

/** A layer's `getConfig()`: tfjs' camelCase keys and values (model.json has them in snake_case). */
export type LayerConfig = Record<string, unknown>;

export class ConvertContext {
  readonly graph = new OnnxGraph();

  /** The graph tensor of `value`, emitting a pending convolution or Dense on first use. */
  name(value: OnnxValue): string {
    if (value.name) return value.name;
    const pending = value.pending;
    if (!pending) throw new Error('a value without a tensor');
    if (!pending.emitted) {
      const weight = this.graph.addFloats(`${pending.stem}/weight`, pending.weightDims, pending.weight);
      const bias = this.graph.addFloats(`${pending.stem}/bias`, [pending.bias.length], pending.bias);
      pending.emitted = this.graph.node(
        pending.op,
        [pending.input, weight, bias],
        pending.stem,
        pending.attributes,
      );
    }
    return pending.emitted;
  }

  /**
   * The graph tensor of `value` with its features in TensorFlow.js' order: a vector flattened from NCHW is
   * put back into h·w·c order (reshape → transpose → reshape). Only layers that mix features in an
   * order-dependent way (Concatenate, Reshape, the model output) need this.
   */
  ordered(value: OnnxValue): string {
    const name = this.name(value);
    if (!value.flattenedFrom) return name;
    const [h, w, c] = value.flattenedFrom;
    const stem = `${name}/to_tfjs_order`;
    const nchw = this.graph.node(
      'Reshape',
      [name, this.graph.addInt64s(`${stem}/shape`, [0, c, h, w])],
      stem,
    );
    const nhwc = this.graph.node('Transpose', [nchw], `${stem}/transpose`, { perm: [0, 2, 3, 1] });
    return this.graph.node('Reshape', [nhwc, this.graph.addInt64s(`${stem}/flat`, [0, -1])], `${stem}/flat`);
  }

  /** A value held by the graph tensor `name`. */
  value(name: string, shape: number[], flattenedFrom?: OnnxValue['flattenedFrom']): OnnxValue {
    return flattenedFrom ? { name, shape, flattenedFrom } : { name, shape };
  }
}

/** The layer's own weight field (`kernel`, `depthwiseKernel`, `gamma` …), or undefined when it has none. */
export function layerWeight(layer: Layer, field: string): Weight | undefined {
  const variable = (
    layer as unknown as Record<string, { read(): { dataSync(): ArrayLike<number> }; shape: number[] } | null>
  )[field];
  if (!variable) return undefined;
  // The export always runs on the cpu backend (finetune export initialises it: the weights are only read),
  // where a synchronous read is exact and cheap; converters stay synchronous that way.
  // eslint-disable-next-line no-restricted-properties
  return { values: Float32Array.from(variable.read().dataSync()), shape: [...variable.shape] };
}

export function requireWeight(layer: Layer, field: string): Weight {
  const weight = layerWeight(layer, field);
  if (!weight) throw new OnnxRefusal(`has no ${field} weight.`);
  return weight;
}

export function configOf(layer: Layer): LayerConfig {
  return layer.getConfig() as LayerConfig;
}

/** A pair config value (`kernel_size`, `strides`, `dilation_rate`) as [height, width]. */
export function pair(value: unknown, what: string): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number'))
    return [value[0] as number, value[1] as number];
  throw new OnnxRefusal(`has an unexpected ${what} (${JSON.stringify(value)}).`);
}

/** Refuses layers configured for channels_first (our models are NHWC, as TensorFlow.js trains them). */
export function requireChannelsLast(config: LayerConfig): void {
  const format = config.dataFormat;
  if (format !== undefined && format !== null && format !== 'channelsLast' && format !== 'channels_last')
    throw new OnnxRefusal(`uses data_format "${String(format)}"; only channels_last models are exported.`);
}

/** Refuses inputs that are not images ([h, w, c]) where a layer needs one. */
export function requireImage(value: OnnxValue): [number, number, number] {
  if (value.shape.length !== 3)
    throw new OnnxRefusal(
      `gets a tensor of shape [${value.shape.join(', ')}]; it is exported only for images [h, w, c].`,
    );
  return value.shape as [number, number, number];
}

/**
 * TensorFlow's padding for one spatial dimension as [before, after]: "valid" none, "same" so that the output
 * has ceil(size / stride) positions, the odd pixel at the end (as ONNX's SAME_UPPER; written out explicitly
 * because the sizes are known).
 */
export function spatialPads(
  padding: unknown,
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
): [number, number] {
  if (padding === 'valid') return [0, 0];
  if (padding !== 'same') throw new OnnxRefusal(`uses padding "${String(padding)}", which is not exported.`);
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
