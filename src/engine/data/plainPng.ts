/**
 * A fast path for the commonest file of a prepared dataset: a plain 8-bit PNG (RGB, RGBA or greyscale)
 * already at the model's size. sharp (libvips) spends ~0.9 ms of CPU per file whatever its size (setting
 * up the pipeline), more than the decoding itself for a 96×96 image; this reads such a file with Node's
 * zlib and one unfiltering pass in ~0.2–0.3 ms.
 *
 * It gives exactly sharp's pixels (the unit test compares them byte for byte), because for these files
 * decodeImages' pipeline is the identity: no EXIF orientation (no eXIf chunk), no colour profile (no iCCP,
 * cICP, gAMA, cHRM), no resize (the size already matches), alpha dropped, grey repeated into R, G and B.
 * Anything else — another bit depth or colour type, interlacing, a palette, an unknown chunk, a bad CRC,
 * truncated or extra data — gives undefined and sharp decodes the file, and reports what is wrong with it.
 */
import { promises as fs } from 'node:fs';
import * as zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Signature + IHDR chunk (length, type, 13 bytes, CRC). */
const HEAD_BYTES = 8 + 8 + 13 + 4;
/** Far above any file this path accepts (a 4096² RGBA image, unfiltered, is 64 MiB): refuse to read more. */
const MAX_FILE_BYTES = 64 * 2 ** 20;
const FIRST_READ_BYTES = 64 * 1024;
/** Chunks that change no pixel in decodeImages' pipeline; any other sends the file to sharp. */
const HARMLESS_CHUNKS = new Set(['sRGB', 'pHYs', 'tEXt', 'zTXt', 'iTXt', 'tIME']);
/** Bytes per pixel by PNG colour type, 8-bit only: greyscale, RGB, RGBA. */
const BYTES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 6: 4 };

// zlib.crc32 is in Node ≥ 20.15 / 22.2; an older Node (an older VS Code's) just takes sharp's path.
const crc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * The file's pixels as width × height × 3 bytes (RGB), or undefined when the file is not a plain PNG of
 * exactly this size (sharp then decodes it). Only the 33-byte head is read from any other file.
 */
export async function readPlainPng(
  abs: string,
  width: number,
  height: number,
): Promise<Uint8Array | undefined> {
  if (!crc32) return undefined;
  const handle = await fs.open(abs, 'r');
  try {
    // One read takes most such files whole (few file-system calls per image: they cost as much as decoding).
    const first = Buffer.alloc(FIRST_READ_BYTES);
    const { bytesRead } = await handle.read(first, 0, FIRST_READ_BYTES, 0);
    if (bytesRead < HEAD_BYTES || !plainHeader(first, width, height)) return undefined;
    if (bytesRead < FIRST_READ_BYTES) return decodePlainPng(first.subarray(0, bytesRead), width, height);
    const { size } = await handle.stat();
    if (size > MAX_FILE_BYTES) return undefined;
    const file = Buffer.alloc(size);
    first.copy(file);
    const rest = await handle.read(file, FIRST_READ_BYTES, size - FIRST_READ_BYTES, FIRST_READ_BYTES);
    return rest.bytesRead === size - FIRST_READ_BYTES ? decodePlainPng(file, width, height) : undefined;
  } finally {
    await handle.close();
  }
}

/** Signature, then an IHDR of this size: 8-bit, a supported colour type, no interlacing. */
function plainHeader(head: Buffer, width: number, height: number): boolean {
  return (
    head.subarray(0, 8).equals(SIGNATURE) &&
    head.readUInt32BE(8) === 13 &&
    head.toString('latin1', 12, 16) === 'IHDR' &&
    head.readUInt32BE(16) === width &&
    head.readUInt32BE(20) === height &&
    head[24] === 8 &&
    BYTES_PER_PIXEL[head[25]] !== undefined &&
    head[26] === 0 && // compression: deflate
    head[27] === 0 && // filtering: adaptive
    head[28] === 0 // no interlacing
  );
}

/** A whole file's bytes → RGB, or undefined (see the file comment). */
export function decodePlainPng(file: Buffer, width: number, height: number): Uint8Array | undefined {
  if (!crc32 || file.length < HEAD_BYTES || !plainHeader(file, width, height)) return undefined;
  const bpp = BYTES_PER_PIXEL[file[25]];
  const idat: Buffer[] = [];
  let idatEnd = 0;
  let at = 8 + 8 + 13 + 4; // after the IHDR plainHeader checked
  let ended = false;
  while (!ended && at + 12 <= file.length) {
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    const end = at + 12 + length;
    if (end > file.length) return undefined;
    if (crc32(file.subarray(at + 4, at + 8 + length)) !== file.readUInt32BE(at + 8 + length)) {
      return undefined;
    }
    if (type === 'IDAT') {
      // IDATs must follow one another (libspng refuses a file where they do not).
      if (idat.length > 0 && idatEnd !== at) return undefined;
      idat.push(file.subarray(at + 8, at + 8 + length));
      idatEnd = end;
    } else if (type === 'IEND') {
      ended = end === file.length; // bytes after IEND: left to sharp
      if (!ended) return undefined;
    } else if (!HARMLESS_CHUNKS.has(type)) {
      return undefined;
    }
    at = end;
  }
  if (!ended || idat.length === 0) return undefined;
  const stride = width * bpp;
  let filtered: Buffer;
  try {
    filtered = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: height * (stride + 1) + 1 });
  } catch {
    return undefined;
  }
  if (filtered.length !== height * (stride + 1)) return undefined;
  return unfilterToRgb(filtered, width, height, bpp);
}

/**
 * Undoes PNG's per-row filters (None, Sub, Up, Average, Paeth) and writes each pixel as RGB: alpha dropped,
 * grey repeated — what sharp's removeAlpha and toColourspace('srgb') give for these files.
 */
function unfilterToRgb(data: Buffer, width: number, height: number, bpp: number): Uint8Array | undefined {
  const stride = width * bpp;
  const rgb = new Uint8Array(width * height * 3);
  // RGB rows are unfiltered in place in the output; the others go through two row buffers.
  const zeros = new Uint8Array(stride); // the row above the first
  let previous = zeros;
  let spare = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1) + 1;
    const filter = data[start - 1];
    if (filter > 4) return undefined;
    const out = y * width * 3;
    const row = bpp === 3 ? rgb.subarray(out, out + stride) : spare;
    unfilterRow(filter, data, start, row, previous, bpp);
    if (bpp === 1) {
      for (let x = 0, o = out; x < width; x++, o += 3) rgb[o] = rgb[o + 1] = rgb[o + 2] = row[x];
    } else if (bpp === 4) {
      for (let x = 0, o = out, i = 0; x < width; x++, o += 3, i += 4) {
        rgb[o] = row[i];
        rgb[o + 1] = row[i + 1];
        rgb[o + 2] = row[i + 2];
      }
    }
    if (bpp !== 3) spare = previous === zeros ? new Uint8Array(stride) : previous;
    previous = row;
  }
  return rgb;
}

/** One row: a separate loop per filter, so the inner loops do not branch on it. */
function unfilterRow(
  filter: number,
  data: Buffer,
  start: number,
  row: Uint8Array,
  up: Uint8Array,
  bpp: number,
): void {
  const n = row.length;
  if (filter === 0) {
    row.set(data.subarray(start, start + n));
  } else if (filter === 1) {
    for (let i = 0; i < bpp; i++) row[i] = data[start + i];
    for (let i = bpp; i < n; i++) row[i] = (data[start + i] + row[i - bpp]) & 0xff;
  } else if (filter === 2) {
    for (let i = 0; i < n; i++) row[i] = (data[start + i] + up[i]) & 0xff;
  } else if (filter === 3) {
    for (let i = 0; i < bpp; i++) row[i] = (data[start + i] + (up[i] >> 1)) & 0xff;
    for (let i = bpp; i < n; i++) row[i] = (data[start + i] + ((row[i - bpp] + up[i]) >> 1)) & 0xff;
  } else {
    for (let i = 0; i < bpp; i++) row[i] = (data[start + i] + up[i]) & 0xff; // Paeth with a = c = 0 is b
    for (let i = bpp; i < n; i++) {
      row[i] = (data[start + i] + paeth(row[i - bpp], up[i], up[i - bpp])) & 0xff;
    }
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
