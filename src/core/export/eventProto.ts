/**
 * The part of TensorFlow's `Event` protobuf (tensorflow/core/util/event.proto) that scalar curves need,
 * encoded and decoded by hand — a protobuf library for five fields would outweigh the feature:
 *
 *   message Event   { double wall_time = 1; int64 step = 2;
 *                     oneof what { string file_version = 3; Summary summary = 5; … } }
 *   message Summary { repeated Value value = 1;
 *                     message Value { string tag = 1; oneof value { float simple_value = 2; … } } }
 *
 * Wire format (protobuf encoding spec): each field is a varint key (field_number << 3 | wire_type), then
 * a 64-bit little-endian value (type 1), a varint (type 0), a length-delimited byte string (type 2) or a
 * 32-bit little-endian value (type 5).
 */

export interface ScalarValue {
  tag: string;
  /** Stored as a 32-bit float, as TensorBoard's simple_value is. */
  value: number;
}

export interface TfEvent {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  /** Present on the first record of every event file ("brain.Event:2"). */
  fileVersion?: string;
  scalars?: ScalarValue[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  varint(value: bigint): void {
    // int64 fields encode negative numbers as 10-byte two's complement varints.
    let v = BigInt.asUintN(64, value);
    const bytes: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      bytes.push(byte);
    } while (v !== 0n);
    this.parts.push(Uint8Array.from(bytes));
  }

  double(field: number, value: number): void {
    this.key(field, WIRE_FIXED64);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
  }

  float(field: number, value: number): void {
    this.key(field, WIRE_FIXED32);
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.parts.push(b);
  }

  int64(field: number, value: number): void {
    this.key(field, WIRE_VARINT);
    this.varint(BigInt(Math.trunc(value)));
  }

  bytes(field: number, value: Uint8Array): void {
    this.key(field, WIRE_LENGTH);
    this.varint(BigInt(value.length));
    this.parts.push(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, Buffer.from(value, 'utf8'));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function encodeSummaryValue(scalar: ScalarValue): Buffer {
  const w = new ProtoWriter();
  w.string(1, scalar.tag);
  w.float(2, scalar.value);
  return w.finish();
}

/** Serialises an Event. Field order follows the field numbers, as protobuf serializers do. */
export function encodeEvent(event: TfEvent): Buffer {
  const w = new ProtoWriter();
  w.double(1, event.wallTime);
  // proto3 leaves a zero step out; TensorFlow writes it when set. Both decode to 0.
  if (event.step !== 0) w.int64(2, event.step);
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion);
  if (event.scalars !== undefined) {
    const summary = new ProtoWriter();
    for (const scalar of event.scalars) summary.bytes(1, encodeSummaryValue(scalar));
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/** A field of a decoded message: its number, wire type and raw value. */
interface RawField {
  field: number;
  wire: number;
  /** varint value (wire 0) */
  int?: bigint;
  /** the value's bytes (wire 1, 2, 5) */
  bytes?: Buffer;
}

function readFields(message: Uint8Array): RawField[] {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const fields: RawField[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('protobuf: varint runs past the end of the message');
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('protobuf: varint longer than 10 bytes');
    }
  };
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new Error('protobuf: field runs past the end of the message');
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === WIRE_VARINT) fields.push({ field, wire, int: readVarint() });
    else if (wire === WIRE_FIXED64) fields.push({ field, wire, bytes: take(8) });
    else if (wire === WIRE_LENGTH) fields.push({ field, wire, bytes: take(Number(readVarint())) });
    else if (wire === WIRE_FIXED32) fields.push({ field, wire, bytes: take(4) });
    else throw new Error(`protobuf: unsupported wire type ${wire} (field ${field})`);
  }
  return fields;
}

/**
 * Decodes an Event, keeping wall_time, step, file_version and the simple_value scalars; other fields
 * (graphs, images, tensors) are skipped, as a reader of newer files must.
 */
export function decodeEvent(message: Uint8Array): TfEvent {
  const event: TfEvent = { wallTime: 0, step: 0 };
  for (const f of readFields(message)) {
    if (f.field === 1 && f.wire === WIRE_FIXED64) event.wallTime = f.bytes!.readDoubleLE(0);
    else if (f.field === 2 && f.wire === WIRE_VARINT) event.step = Number(BigInt.asIntN(64, f.int!));
    else if (f.field === 3 && f.wire === WIRE_LENGTH) event.fileVersion = f.bytes!.toString('utf8');
    else if (f.field === 5 && f.wire === WIRE_LENGTH) {
      event.scalars ??= [];
      for (const v of readFields(f.bytes!)) {
        if (v.field !== 1 || v.wire !== WIRE_LENGTH) continue;
        let tag: string | undefined;
        let value: number | undefined;
        for (const inner of readFields(v.bytes!)) {
          if (inner.field === 1 && inner.wire === WIRE_LENGTH) tag = inner.bytes!.toString('utf8');
          else if (inner.field === 2 && inner.wire === WIRE_FIXED32) value = inner.bytes!.readFloatLE(0);
        }
        if (tag !== undefined && value !== undefined) event.scalars.push({ tag, value });
      }
    }
  }
  return event;
}
