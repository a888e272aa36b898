/**
 * pixelTensor: decoded 8-bit RGB as the model's float input, written straight into the backend — the
 * same bits as the floats decodeImages gives for the same files, on wasm (into its heap) and on cpu, for
 * several pixel ranges.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { decodeImageBytes, decodeImages } from '../../src/engine/data/decodeImages';
import { pixelTensor } from '../../src/engine/data/pixelTensor';
import { scanDataset, type ImageRef } from '../../src/core/data/scanDataset';
import { makeDataset } from '../helpers/fixtureDataset';
import { tempDir } from '../helpers/fixtureModels';

describe('pixelTensor', () => {
  let refs: ImageRef[];

  before(async () => {
    const dir = await makeDataset(path.join(tempDir('pixel-tensor'), 'data'), 2, 3, 9);
    refs = (await scanDataset(dir)).images;
  });
  after(async () => {
    await initBackend('cpu');
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend}: the floats decodeImages gives, bit for bit, for every pixel range`, async () => {
      await initBackend(backend);
      for (const pixelRange of [
        [-1, 1],
        [0, 1],
        [0, 255],
        [2, -3],
      ] as [number, number][]) {
        const options = { imageSize: [9, 7] as [number, number], channels: 3 as const, pixelRange };
        const floats = await decodeImages(refs, options);
        const bytes = await decodeImageBytes(refs, options);
        const shape: [number, number, number, number] = [refs.length, 9, 7, 3];
        const before = tf.memory().numTensors;
        const dataIds = tf.backend().numDataIds();
        const tensor = pixelTensor(bytes.data, shape, pixelRange);
        assert.equal(tf.memory().numTensors, before + 1, 'one tensor, tracked by the engine');
        assert.deepEqual(tensor.shape, shape);
        assert.equal(tensor.dtype, 'float32');
        assert.deepEqual(tensor.dataSync(), floats.data, `[${pixelRange}]`);
        // A sum through a kernel: the backend reads the data where pixelTensor wrote it.
        const sum = tf.sum(tensor);
        const expected = tf.tidy(() => tf.sum(tf.tensor(floats.data)).dataSync()[0]);
        assert.equal(sum.dataSync()[0], expected);
        tf.dispose([tensor, sum]);
        assert.equal(tf.backend().numDataIds(), dataIds, 'its memory in the backend is freed with it');
      }
    });
  }

  it('refuses fewer bytes than the shape needs', () => {
    assert.throws(() => pixelTensor(new Uint8Array(10), [1, 2, 2, 3], [0, 1]), /10 bytes for a \[1,2,2,3\]/);
  });
});
