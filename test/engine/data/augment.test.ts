import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import {
  augmentBatch,
  inverseTransformMatrix,
  isAugmentationActive,
  type ImageAugmentation,
} from '../../../src/engine/data/augment';
import { DEFAULT_AUGMENTATION, type AugmentationConfig } from '../../../src/protocol/experimentConfig';
import { createRng } from '../../../src/core/rng';
import { scriptedRng } from './imageFixtures';

// The wasm binaries sit next to the package's main file; under Node a plain directory path works.
setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}${path.sep}`);

const config = (overrides: Partial<AugmentationConfig>): AugmentationConfig => ({
  ...DEFAULT_AUGMENTATION,
  ...overrides,
});

/** [H][W] numbers as a 1×H×W×1 tensor. */
function gridImage(rows: number[][]): tf.Tensor4D {
  return tf.tensor4d(rows.flat(), [1, rows.length, rows[0].length, 1]);
}
/** A batch of [H][W] grids. */
function gridBatch(grids: number[][][]): tf.Tensor4D {
  return tf.tensor4d(grids.flat(2), [grids.length, grids[0].length, grids[0][0].length, 1]);
}
function grids(t: tf.Tensor4D): number[][][] {
  return (t.arraySync() as number[][][][]).map((image) => image.map((row) => row.map((px) => px[0])));
}
function assertClose(actual: number[][][], expected: number[][][], tolerance = 1e-4): void {
  const a = actual.flat(2);
  const e = expected.flat(2).map(Math.fround); // tensors hold float32
  assert.equal(a.length, e.length);
  a.forEach((v, i) =>
    assert.ok(Math.abs(v - e[i]) <= tolerance, `value ${i}: ${v} vs ${e[i]}\n${JSON.stringify(actual)}`),
  );
}
/** n×n grid with distinct values in [0, 1). */
const distinct = (h: number, w: number): number[][] =>
  Array.from({ length: h }, (_, r) => Array.from({ length: w }, (_, c) => (r * w + c) / (h * w)));

describe('augmentation geometry (no backend)', () => {
  it('inverseTransformMatrix undoes the forward rotation + zoom + shift about the centre', () => {
    const plan: ImageAugmentation = {
      flip: false,
      angle: 0.3,
      scale: 1.2,
      shiftX: 1.5,
      shiftY: -2,
      brightnessDelta: 0,
      contrastFactor: 1,
    };
    const [h, w] = [9, 13];
    const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
    const m = inverseTransformMatrix(plan, h, w);
    for (const [x, y] of [
      [0, 0],
      [12, 8],
      [3, 5],
      [cx, cy],
    ]) {
      // forward: c + s·R·(p − c) + t, with R counter-clockwise on a y-down screen
      const [dx, dy] = [x - cx, y - cy];
      const ox = cx + plan.scale * (Math.cos(plan.angle) * dx + Math.sin(plan.angle) * dy) + plan.shiftX;
      const oy = cy + plan.scale * (-Math.sin(plan.angle) * dx + Math.cos(plan.angle) * dy) + plan.shiftY;
      assert.ok(Math.abs(m[0] * ox + m[1] * oy + m[2] - x) < 1e-9);
      assert.ok(Math.abs(m[3] * ox + m[4] * oy + m[5] - y) < 1e-9);
    }
    assert.deepEqual(m.slice(6), [0, 0]);
  });

  it('reports which settings are active', () => {
    assert.equal(isAugmentationActive(DEFAULT_AUGMENTATION), false);
    for (const key of ['rotation', 'zoom', 'translate', 'brightness', 'contrast'] as const) {
      assert.equal(isAugmentationActive(config({ [key]: 0.1 })), true, key);
    }
    assert.equal(isAugmentationActive(config({ flipHorizontal: true })), true);
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`augmentBatch on the ${backend} backend`, () => {
    before(async () => {
      assert.ok(await tf.setBackend(backend), `backend ${backend} should initialise`);
      await tf.ready();
      assert.equal(tf.getBackend(), backend);
    });

    it('returns the input itself, unchanged and without drawing, when nothing is active', () => {
      const images = gridImage(distinct(3, 4));
      const rng = scriptedRng([]);
      const result = augmentBatch(images, DEFAULT_AUGMENTATION, [0, 1], rng);
      assert.equal(result, images);
      assertClose(grids(result), [distinct(3, 4)], 0);
      images.dispose();
    });

    it('flips exactly the images whose draw is below 0.5: columns reversed', () => {
      const a = distinct(3, 4);
      const b = distinct(3, 4).map((row) => row.map((v) => v + 0.01));
      const images = gridBatch([a, b]);
      const rng = scriptedRng([0.2, 0.7]);
      const out = augmentBatch(images, config({ flipHorizontal: true }), [0, 1], rng);
      assertClose(grids(out), [a.map((row) => row.slice().reverse()), b], 0);
      assert.equal(rng.remaining(), 0);
      tf.dispose([images, out]);
    });

    it('rotates +90° counter-clockwise about the centre', () => {
      const n = 5;
      const image = distinct(n, n);
      const input = gridImage(image);
      const rng = scriptedRng([1]); // uniform(−90, 90) at the top end = +90°
      const out = augmentBatch(input, config({ rotation: 90 }), [0, 1], rng);
      // Counter-clockwise: output(r, c) = input(c, n−1−r); the top-right corner ends top-left.
      const expected = Array.from({ length: n }, (_, r) =>
        Array.from({ length: n }, (_, c) => image[c][n - 1 - r]),
      );
      assertClose(grids(out), [expected], 1e-5);
      assert.ok(Math.abs(grids(out)[0][0][0] - image[0][n - 1]) < 1e-5);
      tf.dispose([input, out]);
    });

    it('shifts by the drawn number of pixels, per image, repeating the edge pixels', () => {
      const [h, w] = [8, 8];
      const a = distinct(h, w);
      const b = distinct(h, w).map((row) => row.map((v) => 1 - v));
      const input = gridBatch([a, b]);
      // translate 0.25 → shift uniform in ±2 px. Image a: x = −2 + 4·1 = +2, y = −2 + 4·0.5 = 0.
      // Image b: x = 0, y = −2 + 4·0.25 = −1 (content moves up).
      const rng = scriptedRng([1, 0.5, 0.5, 0.25]);
      const out = augmentBatch(input, config({ translate: 0.25 }), [0, 1], rng);
      // The two uncovered columns repeat column 0 (a reflection would put column 1 first).
      const shiftedRight = a.map((row) => row.map((_, c) => row[Math.max(0, c - 2)]));
      const shiftedUp = b.map((_, r) => b[Math.min(h - 1, r + 1)]); // the last row repeats
      assertClose(grids(out), [shiftedRight, shiftedUp], 1e-6);
      tf.dispose([input, out]);
    });

    it('zooms about the centre: scale 2 keeps the centre pixel and doubles distances', () => {
      const n = 9;
      const image = distinct(n, n);
      const input = gridImage(image);
      const rng = scriptedRng([1]); // zoom 0.99 → scale uniform(0.01, 1.99) at the top end = 1.99
      const out = grids(augmentBatch(input, config({ zoom: 0.99 }), [0, 1], rng));
      assert.ok(Math.abs(out[0][4][4] - image[4][4]) < 1e-6, 'centre stays');
      // Output (4, 6) samples input column 4 + 2/1.99 ≈ 5.005: almost exactly input (4, 5).
      assert.ok(Math.abs(out[0][4][6] - image[4][5]) < 0.01, `${out[0][4][6]} vs ${image[4][5]}`);
      input.dispose();
    });

    it('adds brightness as a fraction of the pixel range', () => {
      const input = tf.fill([1, 2, 2, 3], 0.5) as tf.Tensor4D;
      const out01 = augmentBatch(input, config({ brightness: 0.2 }), [0, 1], scriptedRng([0.75])); // +0.1
      assertClose([[Array.from(out01.dataSync())]], [[Array(12).fill(0.6)]], 1e-6);
      const outSigned = augmentBatch(input, config({ brightness: 0.2 }), [-1, 1], scriptedRng([0.25])); // −0.1·2
      assertClose([[Array.from(outSigned.dataSync())]], [[Array(12).fill(0.3)]], 1e-6);
      tf.dispose([input, out01, outSigned]);
    });

    it('scales contrast around each image channel mean', () => {
      // Two channels with different means: 0.4 and 0.6.
      const values = [0.3, 0.5, 0.5, 0.7, 0.4, 0.6, 0.4, 0.6]; // 2×2 pixels × 2 channels
      const input = tf.tensor4d(values, [1, 2, 2, 2]);
      const rng = scriptedRng([0.9]); // contrast 0.5 → factor uniform(0.5, 1.5) = 1.4
      const out = Array.from(augmentBatch(input, config({ contrast: 0.5 }), [0, 1], rng).dataSync());
      const means = [0.4, 0.6];
      values.forEach((v, i) => {
        const mean = means[i % 2];
        const want = (v - mean) * 1.4 + mean;
        assert.ok(Math.abs(out[i] - want) < 1e-6, `value ${i}: ${out[i]} vs ${want}`);
      });
      input.dispose();
    });

    it('keeps every value in the pixel range and leaks no tensors', () => {
      const input = tf.randomUniform([4, 16, 16, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
      const all = config({
        flipHorizontal: true,
        rotation: 30,
        zoom: 0.3,
        translate: 0.2,
        brightness: 0.5,
        contrast: 0.9,
      });
      const before = tf.memory().numTensors;
      const out = augmentBatch(input, all, [-1, 1], createRng(3));
      assert.equal(tf.memory().numTensors, before + 1, 'only the result remains');
      assert.deepEqual(out.shape, input.shape);
      const data = out.dataSync();
      assert.ok(data.every((v) => v >= -1 && v <= 1));
      assert.ok(tf.max(tf.abs(tf.sub(out, input))).dataSync()[0] > 0.1, 'the images did change');
      const again = augmentBatch(input, all, [-1, 1], createRng(3));
      assert.deepEqual(Array.from(again.dataSync()), Array.from(data), 'same seed, same augmentation');
      tf.dispose([input, out, again]);
    });

    it('rejects settings that would invert or collapse the image', () => {
      const input = gridImage(distinct(2, 2));
      assert.throws(
        () => augmentBatch(input, config({ zoom: 1 }), [0, 1], createRng(1)),
        /augmentation\.zoom/,
      );
      assert.throws(
        () => augmentBatch(input, config({ contrast: 1.5 }), [0, 1], createRng(1)),
        /augmentation\.contrast/,
      );
      input.dispose();
    });
  });
}
