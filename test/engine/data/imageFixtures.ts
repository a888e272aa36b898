/** Small image files made on the fly for the data-pipeline tests (no binary fixtures in the repo). */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { Rng } from '../../../src/core/rng';

export async function makeTempDir(label: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `finetune-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** A solid-colour 8-bit RGB image. */
export function solidImage(width: number, height: number, colour: Rgb): sharp.Sharp {
  return sharp({ create: { width, height, channels: 3, background: colour } });
}

let tinyPng: Buffer | undefined;
/** A valid 2×2 PNG, for tests that only need a file to exist and look like an image. */
export async function tinyPngBytes(): Promise<Buffer> {
  tinyPng ??= await solidImage(2, 2, { r: 1, g: 2, b: 3 }).png().toBuffer();
  return tinyPng;
}

/** Writes each relative path (creating folders); a Buffer or string is the content, else a tiny PNG. */
export async function writeFiles(root: string, files: Record<string, Buffer | string | null>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, content ?? (await tinyPngBytes()));
  }
}

/** A PNG whose header claims width × height but which holds almost no pixel data (a decompression bomb's shape). */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1))), // a decoder wants some pixel data before IEND
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body), 0);
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A 2×2 24-bit BMP (bottom-up rows padded to 4 bytes), valid for any BMP reader. */
export function bmpBytes(): Buffer {
  const rowBytes = 8; // 2 pixels × 3 bytes + 2 padding
  const pixelBytes = rowBytes * 2;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + pixelBytes, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixelBytes, 34);
  return Buffer.concat([header, Buffer.alloc(pixelBytes, 0x80)]);
}

/**
 * An Rng that returns the given values from next() in order and fails the test when more are drawn than
 * expected — so a test also pins how many random numbers the code consumes.
 */
export function scriptedRng(values: number[]): Rng & { remaining(): number } {
  const queue = values.slice();
  const next = (): number => {
    const value = queue.shift();
    if (value === undefined) throw new Error('scriptedRng: more random numbers drawn than the test scripted');
    return value;
  };
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    remaining: () => queue.length,
  };
}
