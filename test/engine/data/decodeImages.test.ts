import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImageFile, decodeImages, type DecodeOptions } from '../../../src/engine/data/decodeImages';
import type { ImageRef } from '../../../src/core/data/scanDataset';
import { UserError } from '../../../src/core/userError';
import { bmpBytes, makeTempDir, pngHeaderOnly, removeDir, solidImage, type Rgb } from './imageFixtures';

let dir: string;
const file = (name: string): string => path.join(dir, name);
const ref = (name: string, classIndex = 0): ImageRef => ({
  file: name,
  abs: file(name),
  classIndex,
  size: 1,
  mtimeMs: 1,
});

const RGB01: DecodeOptions = { imageSize: [4, 5], channels: 3, pixelRange: [0, 1] };

/** Every pixel of an H*W*C array equals `expected` (one value per channel). */
function assertEveryPixel(data: Float32Array, expected: number[], tolerance = 1e-6, label = ''): void {
  const channels = expected.length;
  assert.equal(data.length % channels, 0);
  for (let i = 0; i < data.length; i++) {
    const want = expected[i % channels];
    if (Math.abs(data[i] - want) > tolerance) {
      assert.fail(
        `${label} value ${i} (channel ${i % channels}) is ${data[i]}, expected ${want} ± ${tolerance}`,
      );
    }
  }
}
const to01 = (c: Rgb): number[] => [c.r / 255, c.g / 255, c.b / 255];

describe('decodeImages', () => {
  const ORANGE = { r: 200, g: 100, b: 50 };
  const RED = { r: 255, g: 0, b: 0 };
  const GREEN = { r: 0, g: 255, b: 0 };
  const BLUE = { r: 0, g: 0, b: 255 };

  before(async () => {
    dir = await makeTempDir('decode');
    await solidImage(8, 6, ORANGE).png().toFile(file('orange.png'));
    await solidImage(8, 6, RED).png().toFile(file('red.png'));
    await solidImage(8, 6, GREEN).jpeg({ quality: 100 }).toFile(file('green.jpg'));
    await solidImage(8, 6, BLUE).webp({ lossless: true }).toFile(file('blue.webp'));
    await solidImage(7, 7, { r: 77, g: 77, b: 77 }).toColourspace('b-w').png().toFile(file('grey.png'));
    await sharp({
      create: { width: 6, height: 6, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } },
    })
      .png()
      .toFile(file('rgba.png'));
    // 16-bit samples of the 8-bit colour (255, 128, 0): v × 257.
    const deep = new Uint16Array(6 * 6 * 3).map((_, i) => [65535, 128 * 257, 0][i % 3]);
    await sharp(deep, { raw: { width: 6, height: 6, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(file('deep.png'));
    await solidImage(16, 16, { r: 200, g: 50, b: 30 })
      .toColourspace('cmyk')
      .jpeg({ quality: 100 })
      .toFile(file('cmyk.jpg'));
    await solidImage(5, 5, GREEN).gif().toFile(file('green.gif'));
    const noisy = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251));
    const noise = await sharp(noisy, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    await fs.writeFile(file('truncated.png'), noise.subarray(0, Math.floor(noise.length / 2)));
    await fs.writeFile(file('text.png'), 'this is not an image\n');
    await fs.writeFile(file('picture.bmp'), bmpBytes());
    await fs.writeFile(file('bomb.png'), pngHeaderOnly(20000, 20000));
  });
  after(async () => {
    await removeDir(dir);
  });

  it('maps a solid colour exactly onto [0, 1] and [-1, 1] at the requested size', async () => {
    const unit = await decodeImageFile(file('orange.png'), RGB01);
    assert.equal(unit.length, 4 * 5 * 3);
    assertEveryPixel(unit, to01(ORANGE));
    const signed = await decodeImageFile(file('orange.png'), { ...RGB01, pixelRange: [-1, 1] });
    assertEveryPixel(signed, [200 / 127.5 - 1, 100 / 127.5 - 1, 50 / 127.5 - 1]);
    const extremes = await decodeImageFile(file('red.png'), { ...RGB01, pixelRange: [-1, 1] });
    assertEveryPixel(extremes, [1, -1, -1]);
  });

  it('turns greyscale into 3 equal channels and RGB into BT.601 luma for 1 channel', async () => {
    assertEveryPixel(await decodeImageFile(file('grey.png'), RGB01), [77 / 255, 77 / 255, 77 / 255]);
    const grey1 = await decodeImageFile(file('grey.png'), { ...RGB01, channels: 1 });
    assert.equal(grey1.length, 4 * 5);
    assertEveryPixel(grey1, [77 / 255], 1e-6);
    const luma = await decodeImageFile(file('orange.png'), { ...RGB01, channels: 1 });
    assertEveryPixel(luma, [(0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255]);
  });

  it('drops alpha, reduces 16-bit to 8-bit, converts CMYK to sRGB, reads GIF and WebP', async () => {
    assertEveryPixel(
      await decodeImageFile(file('rgba.png'), RGB01),
      [10 / 255, 20 / 255, 30 / 255],
      1 / 255 + 1e-6,
      'rgba',
    );

    assert.equal((await sharp(file('deep.png')).metadata()).depth, 'ushort', 'the fixture is 16-bit');
    assertEveryPixel(await decodeImageFile(file('deep.png'), RGB01), [1, 128 / 255, 0], 1e-6, '16-bit');

    const cmykMeta = await sharp(file('cmyk.jpg')).metadata();
    assert.equal(cmykMeta.space, 'cmyk', 'the fixture is CMYK');
    assert.equal(cmykMeta.channels, 4);
    // A round trip through a CMYK profile is not exact; read naively the 4 inverted ink bands would be
    // nothing like orange-red.
    assertEveryPixel(
      await decodeImageFile(file('cmyk.jpg'), RGB01),
      [200 / 255, 50 / 255, 30 / 255],
      25 / 255,
      'cmyk',
    );

    assertEveryPixel(await decodeImageFile(file('green.gif'), RGB01), to01(GREEN), 1e-6, 'gif');
    assertEveryPixel(await decodeImageFile(file('blue.webp'), RGB01), to01(BLUE), 1e-6, 'webp');
  });

  it('applies the EXIF orientation before resizing', async () => {
    // Stored 20 wide × 10 tall: left half red, right half blue. Orientation 6 means "rotate 90° clockwise
    // to display", so the upright picture is 10 × 20 with red on top.
    const left = await solidImage(10, 10, RED).png().toBuffer();
    await solidImage(20, 10, BLUE)
      .composite([{ input: left, left: 0, top: 0 }])
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toFile(file('rotated.jpg'));
    const pixels = await decodeImageFile(file('rotated.jpg'), {
      imageSize: [20, 10],
      channels: 3,
      pixelRange: [0, 1],
    });
    const at = (row: number, col: number): number[] =>
      Array.from(pixels.subarray((row * 10 + col) * 3, (row * 10 + col) * 3 + 3));
    const [topR, , topB] = at(3, 5);
    const [bottomR, , bottomB] = at(16, 5);
    assert.ok(topR > 0.8 && topB < 0.2, `top should be red, got ${at(3, 5)}`);
    assert.ok(bottomB > 0.8 && bottomR < 0.2, `bottom should be blue, got ${at(16, 5)}`);
  });

  it('skips unreadable files with reasons and keeps the others in input order', async () => {
    const refs = [
      ref('red.png', 0),
      ref('truncated.png', 0),
      ref('green.jpg', 1),
      ref('text.png', 1),
      ref('picture.bmp', 1),
      ref('bomb.png', 0),
      ref('gone.png', 0),
      ref('blue.webp', 2),
    ];
    const progress: [number, number][] = [];
    const result = await decodeImages(refs, { ...RGB01, imageSize: [2, 3], concurrency: 3 }, (done, total) =>
      progress.push([done, total]),
    );
    assert.deepEqual(
      result.images.map((r) => r.file),
      ['red.png', 'green.jpg', 'blue.webp'],
    );
    const perImage = 2 * 3 * 3;
    assert.equal(result.data.length, 3 * perImage);
    assertEveryPixel(result.data.subarray(0, perImage), to01(RED), 1e-6, 'first');
    assertEveryPixel(result.data.subarray(perImage, 2 * perImage), to01(GREEN), 3 / 255, 'second (JPEG)');
    assertEveryPixel(result.data.subarray(2 * perImage), to01(BLUE), 1e-6, 'third');

    const reasons = Object.fromEntries(result.skipped.map((s) => [s.file, s.reason]));
    assert.deepEqual(Object.keys(reasons), [
      'truncated.png',
      'text.png',
      'picture.bmp',
      'bomb.png',
      'gone.png',
    ]);
    assert.match(reasons['truncated.png'], /corrupt or truncated/);
    assert.match(reasons['text.png'], /not a readable image/);
    assert.equal(reasons['picture.bmp'], 'BMP is not supported by the image decoder; convert to PNG');
    assert.match(reasons['bomb.png'], /more than 268 megapixels/);
    assert.match(reasons['gone.png'], /no longer exists/);

    assert.equal(progress.length, refs.length);
    assert.deepEqual(progress[progress.length - 1], [refs.length, refs.length]);
    assert.deepEqual(
      progress.map(([done]) => done),
      refs.map((_, i) => i + 1),
    );
  });

  it('returns the whole array when nothing is skipped, and handles an empty list', async () => {
    const result = await decodeImages([ref('red.png'), ref('orange.png')], RGB01);
    assert.equal(result.data.length, 2 * 4 * 5 * 3);
    assert.deepEqual(result.skipped, []);
    const none = await decodeImages([], RGB01);
    assert.equal(none.data.length, 0);
    assert.deepEqual(none.images, []);
  });

  it('throws a UserError naming the file for one bad image, and for bad options', async () => {
    await assert.rejects(
      decodeImageFile(file('text.png'), RGB01),
      (e: unknown) =>
        e instanceof UserError && e.message.includes(file('text.png')) && e.file === file('text.png'),
    );
    await assert.rejects(decodeImages([ref('red.png')], { ...RGB01, imageSize: [0, 5] }), UserError);
    await assert.rejects(decodeImages([ref('red.png')], { ...RGB01, pixelRange: [1, 1] }), UserError);
  });

  it('decodes a 10000 × 10000 PNG (100 megapixels, under the bomb limit)', { timeout: 20000 }, async () => {
    await solidImage(10000, 10000, { r: 10, g: 200, b: 30 })
      .png({ compressionLevel: 1 })
      .toFile(file('huge.png'));
    const pixels = await decodeImageFile(file('huge.png'), {
      imageSize: [8, 8],
      channels: 3,
      pixelRange: [0, 1],
    });
    assertEveryPixel(pixels, [10 / 255, 200 / 255, 30 / 255]);
    await fs.rm(file('huge.png'));
  });
});
