/**
 * Builds an ONNX graph (nodes, initializers, inputs, outputs) and encodes it as a ModelProto with the
 * protobuf classes `onnx-proto` generates from the official onnx.proto — no hand-written bytes.
 *
 * Opset 13 (the first with Softmax over one axis, Clip's min/max as inputs and Pad's pads as an input):
 * every ONNX runtime of the last years loads it (ONNX Runtime ≥ 1.6, TensorRT, OpenVINO, onnx.js' heirs).
 */
import { onnx } from 'onnx-proto';

export const OPSET = 13;
/** IR version 7 is the one that goes with opset 13 (onnx/onnx docs/Versioning.md). */
const IR_VERSION = 7;

export type AttributeValue = number | number[] | string | { floats: number[] };

/** A dimension: a fixed size, or a named free one (the batch). */
export type Dim = number | string;

export class OnnxGraph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private weightBytes = 0;

  /** A tensor name not used yet, from a readable stem (layer paths keep their slashes: Netron shows them). */
  uniqueName(stem: string): string {
    let name = stem;
    for (let i = 1; this.used.has(name); i++) name = `${stem}_${i}`;
    this.used.add(name);
    return name;
  }

  /** A float32 initializer (weights), stored as raw little-endian bytes: 4 bytes a value, as in weights.bin. */
  addFloats(stem: string, dims: number[], values: Float32Array): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== values.length)
      throw new Error(`initializer ${stem}: ${values.length} values for dims [${dims.join(', ')}]`);
    const name = this.uniqueName(stem);
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    this.weightBytes += values.byteLength;
    return name;
  }

  /** An int64 initializer (shapes, pads, slice bounds). */
  addInt64s(stem: string, values: number[]): string {
    const name = this.uniqueName(stem);
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      int64Data: values,
    });
    return name;
  }

  /** A float32 scalar initializer (Clip's bounds, constants of composed activations). */
  addScalar(stem: string, value: number): string {
    const name = this.uniqueName(stem);
    this.initializers.push({
      name,
      dims: [],
      dataType: onnx.TensorProto.DataType.FLOAT,
      floatData: [value],
    });
    return name;
  }

  /** Keeps `name` free for a later `node(…, { output: name })`. */
  reserve(name: string): void {
    this.used.add(name);
  }

  /** Adds a node; returns the name of its output (`output` if given: a reserved name). */
  node(
    opType: string,
    inputs: string[],
    stem: string,
    attributes: Record<string, AttributeValue> = {},
    output = this.uniqueName(stem),
  ): string {
    this.nodes.push({
      opType,
      name: output,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return output;
  }

  addInput(name: string, dims: Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  addOutput(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The op types in node order (tests check the graph's structure with it). */
  get opTypes(): string[] {
    return this.nodes.map((n) => n.opType ?? '');
  }

  /** Bytes of float weights the graph holds. */
  get floatBytes(): number {
    return this.weightBytes;
  }

  encode(options: { name: string; docString: string; metadata: Record<string, string> }): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'Fine-Tune Studio',
      producerVersion: '0.1.0',
      docString: options.docString,
      graph: {
        name: options.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: type.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: type.INTS, ints: value };
  if (typeof value === 'object') return { name, type: type.FLOATS, floats: value.floats };
  // Integers are INT attributes except where ONNX wants a FLOAT (alpha, epsilon …): see `float`.
  return Number.isInteger(value) && !floatAttributes.has(name)
    ? { name, type: type.INT, i: value }
    : { name, type: type.FLOAT, f: value };
}

/** Attributes ONNX defines as FLOAT even when the value happens to be whole (Elu's alpha = 1). */
const floatAttributes = new Set(['alpha', 'beta', 'gamma', 'epsilon', 'momentum']);
