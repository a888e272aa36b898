/**
 * TFRecord framing, the container of TensorBoard event files (tensorflow/core/lib/io/record_writer.cc):
 *
 *   uint64 length            little-endian
 *   uint32 masked_crc32c(length bytes)
 *   byte   data[length]
 *   uint32 masked_crc32c(data)
 */
import { maskedCrc32c } from './crc32c';

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

/** One record, framed. */
export function encodeTfRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + data.length + FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return out;
}

/**
 * Splits a TFRecord file into its records, checking both CRCs of each. A file that ends inside a record
 * or whose checksums do not match throws, naming the record's byte offset.
 */
export function decodeTfRecords(file: Uint8Array): Uint8Array[] {
  const buffer = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (buffer.length - offset < HEADER_BYTES) {
      throw new Error(
        `TFRecord truncated at byte ${offset}: ${buffer.length - offset} bytes left of a header`,
      );
    }
    const lengthBig = buffer.readBigUInt64LE(offset);
    if (buffer.readUInt32LE(offset + 8) !== maskedCrc32c(buffer.subarray(offset, offset + 8))) {
      throw new Error(`TFRecord length CRC mismatch at byte ${offset}`);
    }
    if (lengthBig > BigInt(buffer.length - offset - HEADER_BYTES - FOOTER_BYTES)) {
      throw new Error(`TFRecord truncated at byte ${offset}: the record claims ${lengthBig} bytes`);
    }
    const length = Number(lengthBig);
    const data = buffer.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
    if (buffer.readUInt32LE(offset + HEADER_BYTES + length) !== maskedCrc32c(data)) {
      throw new Error(`TFRecord data CRC mismatch in the record at byte ${offset}`);
    }
    records.push(data);
    offset += HEADER_BYTES + length + FOOTER_BYTES;
  }
  return records;
}
