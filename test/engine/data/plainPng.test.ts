import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImageFile } from '../../../src/engine/data/decodeImages';
import { decodePlainPng, readPlainPng } from '../../../src/engine/data/plainPng';
import { createRng } from '../../../src/core/rng';
import { makeTempDir, removeDir } from './imageFixtures';

const W = 13;
const H = 11;
let dir: string;

/** Noisy pixels, so that every filter predicts something different from every other. */
function noise(channels: number, seed: number, width = W, height = H): Buffer {
  const rng = createRng(`plain-png-${seed}`);
  const pixels = Buffer.alloc(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(rng.uniform(0, 256));
  return pixels;
}

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
  return out;
}

/**
 * A PNG written here, not by sharp, so that every row filter (None, Sub, Up, Average, Paeth: row y uses
 * filter y mod 5) is exercised, with the IDAT split in two and a text chunk after it.
 */
function handMadePng(
  pixels: Buffer,
  colourType: 0 | 2 | 6,
  extra: Buffer[] = [],
  betweenIdats: Buffer[] = [],
): Buffer {
  const bpp = { 0: 1, 2: 3, 6: 4 }[colourType];
  const stride = W * bpp;
  const filtered = Buffer.alloc(H * (stride + 1));
  for (let y = 0; y < H; y++) {
    const filter = y % 5;
    filtered[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) {
      const at = (x: number, row: number): number => (x < 0 || row < 0 ? 0 : pixels[row * stride + x]);
      const [a, b, c] = [at(i - bpp, y), at(i, y - 1), at(i - bpp, y - 1)];
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter];
      filtered[y * (stride + 1) + 1 + i] = (pixels[y * stride + i] - predicted) & 0xff;
    }
  }
  const deflated = zlib.deflateSync(filtered);
  const half = Math.floor(deflated.length / 2);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(W, 0);
  header.writeUInt32BE(H, 4);
  header.set([8, colourType, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    ...extra,
    chunk('IDAT', deflated.subarray(0, half)),
    ...betweenIdats,
    chunk('IDAT', deflated.subarray(half)),
    chunk('tEXt', Buffer.from('Comment\0after the IDATs', 'latin1')),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** What decodeImages' sharp pipeline gives for the file: the reference the fast path must equal. */
async function viaSharp(file: Buffer): Promise<Buffer> {
  return sharp(file, { failOn: 'error' })
    .rotate()
    .resize({ width: W, height: H, fit: 'fill' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
}

describe('plain PNG fast path', () => {
  before(async () => {
    dir = await makeTempDir('plain-png');
  });
  after(async () => removeDir(dir));

  it('gives sharp’s pixels, byte for byte, for RGB, RGBA and grey files with every row filter', async () => {
    for (const [colourType, channels] of [
      [2, 3],
      [6, 4],
      [0, 1],
    ] as const) {
      const file = handMadePng(noise(channels, colourType), colourType, [chunk('pHYs', Buffer.alloc(9))]);
      const ours = decodePlainPng(file, W, H);
      assert.ok(ours, `colour type ${colourType} takes the fast path`);
      assert.deepEqual(Buffer.from(ours), await viaSharp(file), `colour type ${colourType}`);
    }
  });

  it('gives sharp’s pixels for files sharp itself wrote (its own filter choices and compression)', async () => {
    for (const [channels, options] of [
      [3, { compressionLevel: 9, adaptiveFiltering: true }],
      [4, { compressionLevel: 1 }],
      [3, { compressionLevel: 6, adaptiveFiltering: false }],
    ] as const) {
      const file = await sharp(noise(channels, 10 + channels), { raw: { width: W, height: H, channels } })
        .png(options)
        .toBuffer();
      const ours = decodePlainPng(file, W, H);
      assert.ok(ours, `${channels} channels, ${JSON.stringify(options)} takes the fast path`);
      assert.deepEqual(Buffer.from(ours), await viaSharp(file));
    }
  });

  it('leaves to sharp every file whose pixels its pipeline changes, or that is not sound', async () => {
    const rgb = noise(3, 20);
    const raw = { raw: { width: W, height: H, channels: 3 as const } };
    const good = handMadePng(rgb, 2);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 20] ^= 0xff; // inside the last IDAT: its CRC no longer matches
    const cases: [string, Buffer][] = [
      [
        'another size (resized)',
        await sharp(noise(3, 21, W + 1, H), { raw: { width: W + 1, height: H, channels: 3 } })
          .png()
          .toBuffer(),
      ],
      ['interlaced', await sharp(rgb, raw).png({ progressive: true }).toBuffer()],
      ['a palette', await sharp(rgb, raw).png({ palette: true }).toBuffer()],
      ['16-bit', await sharp(rgb, raw).toColourspace('rgb16').png().toBuffer()],
      ['an ICC profile', await sharp(rgb, raw).withIccProfile('p3').png().toBuffer()],
      ['an EXIF orientation', await sharp(rgb, raw).withMetadata({ orientation: 6 }).png().toBuffer()],
      ['a gamma chunk', handMadePng(rgb, 2, [chunk('gAMA', Buffer.from([0, 0, 0xb1, 0x8f]))])],
      ['a damaged IDAT (CRC)', badCrc],
      ['a chunk between the IDATs', handMadePng(rgb, 2, [], [chunk('tEXt', Buffer.from('a\0b', 'latin1'))])],
      ['truncated', good.subarray(0, good.length - 30)],
      ['bytes after IEND', Buffer.concat([good, Buffer.from('junk')])],
      ['a JPEG', await sharp(rgb, raw).jpeg().toBuffer()],
    ];
    for (const [label, file] of cases) {
      assert.equal(decodePlainPng(file, W, H), undefined, `${label}: sharp decodes it`);
    }
  });

  it('is what decodeImageFile uses, with the same floats, and sharp still reports a damaged file', async () => {
    const rgb = noise(3, 30);
    const good = path.join(dir, 'plain.png');
    await fs.writeFile(good, handMadePng(rgb, 2));
    assert.ok(await readPlainPng(good, W, H), 'the file takes the fast path');
    const floats = await decodeImageFile(good, { imageSize: [H, W], channels: 3, pixelRange: [-1, 1] });
    const reference = await viaSharp(await fs.readFile(good));
    assert.deepEqual(
      floats,
      Float32Array.from(reference, (v) => -1 + v * (2 / 255)),
    );

    const damaged = path.join(dir, 'damaged.png');
    const bytes = handMadePng(rgb, 2);
    await fs.writeFile(damaged, bytes.subarray(0, bytes.length - 90)); // cut inside the second IDAT
    assert.equal(await readPlainPng(damaged, W, H), undefined);
    await assert.rejects(
      decodeImageFile(damaged, { imageSize: [H, W], channels: 3, pixelRange: [0, 1] }),
      /damaged\.png: the image data is corrupt or truncated/,
    );
  });
});
