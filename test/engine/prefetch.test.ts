/**
 * The data pipeline: batches read ahead in the right order, decoding on a worker thread with the same
 * pixels as the main thread, and a dataset over the memory budget that streams and trains exactly like
 * the in-memory path.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import { initBackend } from '../../src/engine/backend/selectBackend';
import type { PipelineOptions } from '../../src/engine/cache/prepareInputs';
import { bytesToPixels, decodeImages, type DecodeOptions } from '../../src/engine/data/decodeImages';
import { prefetchBatches } from '../../src/engine/data/prefetch';
import { memoryRows, type DataSplit, type RowStore } from '../../src/engine/data/rowStore';
import { scanDataset, type ImageRef } from '../../src/core/data/scanDataset';
import { WorkerDecoder, checkDecodable, streamingImageRows } from '../../src/engine/data/workerDecoder';
import { runExperiment } from '../../src/engine/runExperiment';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

/** Row k of this store is filled with the value k (rows of shape [2]). */
function splitOf(store: RowStore, count: number): DataSplit {
  return {
    rows: store,
    labels: Int32Array.from({ length: count }, (_, k) => k % 3),
    files: Array.from({ length: count }, (_, k) => `f${k}`),
    count,
  };
}

function valueRows(count: number): Float32Array {
  return Float32Array.from({ length: count * 2 }, (_, i) => Math.floor(i / 2));
}

describe('prefetchBatches', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('yields the rows and one-hot labels of `order`, batch by batch, the last one partial', async () => {
    const split = splitOf(memoryRows(valueRows(7), [2]), 7);
    const order = Int32Array.from([6, 0, 5, 1, 4, 2, 3]);
    const seen: number[][] = [];
    for await (const batch of prefetchBatches(split, order, 3, 3)) {
      assert.deepEqual(batch.x.shape.slice(1), [2]);
      const rows = batch.x.arraySync() as number[][];
      seen.push(rows.map((r) => r[0]));
      assert.deepEqual(
        Array.from(batch.labels),
        rows.map((r) => r[0] % 3),
      );
      assert.deepEqual(
        (batch.y.arraySync() as number[][]).map((r) => r.indexOf(1)),
        Array.from(batch.labels),
      );
      assert.equal(batch.start, seen.flat().length - rows.length);
      tf.dispose([batch.x, batch.y]);
    }
    assert.deepEqual(seen, [[6, 0, 5], [1, 4, 2], [3]]);
  });

  it('reads `depth` batches ahead of the consumer, and leaving early abandons reads quietly', async () => {
    const started: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const memory = memoryRows(valueRows(40), [2]);
    const slow: RowStore = {
      rowShape: [2],
      async read(indices, out) {
        started.push(indices[0] / 4);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        if (indices[0] >= 24) throw new Error('read failed after the consumer left');
        memory.read(indices, out);
      },
    };
    const split = splitOf(slow, 40);
    const order = Int32Array.from({ length: 40 }, (_, i) => i);
    let consumed = 0;
    for await (const batch of prefetchBatches(split, order, 4, 3, 2)) {
      tf.dispose([batch.x, batch.y]);
      if (consumed === 0)
        assert.deepEqual(started, [0, 1, 2], 'batches 1 and 2 requested before batch 0 is used');
      if (++consumed === 5) break; // batches 5 and 6 are in flight; 6 fails after we left
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(maxInFlight, 3);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('decoding on a worker thread', () => {
  let decoder: WorkerDecoder;
  let refs: ImageRef[];
  const options: DecodeOptions = { imageSize: [12, 10], channels: 3, pixelRange: [-1, 1] };

  before(async () => {
    const dir = await makeDataset(path.join(tempDir('worker'), 'data'), 2, 4, 16);
    fs.writeFileSync(path.join(dir, 'class_b', 'broken.png'), 'not an image');
    refs = (await scanDataset(dir)).images;
    decoder = new WorkerDecoder();
  });
  after(async () => {
    await decoder.close();
  });

  it('gives the pixels and skipped files decodeImages gives on this thread', async () => {
    const here = await decodeImages(refs, options);
    const there = await decoder.decode(refs, options);
    assert.equal(here.skipped.length, 1);
    assert.deepEqual(there.skipped, here.skipped);
    assert.deepEqual(
      there.images.map((r) => r.file),
      here.images.map((r) => r.file),
    );
    assert.deepEqual(Array.from(there.data), Array.from(here.data));

    const checked = await checkDecodable(refs, options, decoder);
    assert.deepEqual(
      checked.images.map((r) => r.file),
      here.images.map((r) => r.file),
    );
    const rows = streamingImageRows(checked.images, options, decoder);
    const size = 12 * 10 * 3;
    const out = new Float32Array(2 * size);
    await rows.read([3, 0], out);
    assert.deepEqual(Array.from(out.subarray(0, size)), Array.from(here.data.subarray(3 * size, 4 * size)));
    assert.deepEqual(Array.from(out.subarray(size)), Array.from(here.data.subarray(0, size)));
  });

  it('a recycled buffer goes back to the worker and is written again: the same pixels as a fresh one', async () => {
    // Its own worker: the other tests leave spare buffers in theirs.
    const decoder = new WorkerDecoder();
    try {
      const here = await decodeImages(refs, options);
      const size = 12 * 10 * 3;
      const first = await decoder.decode(refs, options);
      // Scribbled over, as a reader may leave it: any float the worker did not write again would show.
      first.data.fill(Number.NaN);
      const buffer = first.data.buffer;
      decoder.recycle(first.data);
      decoder.recycle(first.data); // twice is once
      // A smaller request (with its broken file) takes the larger buffer: the reply views just its images.
      const some = refs.slice(2, 7);
      const expected = await decodeImages(some, options);
      assert.equal(expected.skipped.length, 1, 'broken.png is among them');
      const again = await decoder.decode(some, options);
      assert.equal(buffer.byteLength, 0, 'the recycled buffer was sent to the worker (detached here)');
      assert.deepEqual(
        again.images.map((r) => r.file),
        expected.images.map((r) => r.file),
      );
      assert.equal(again.data.length, expected.images.length * size);
      assert.deepEqual(Array.from(again.data), Array.from(expected.data));
      // The next request finds no spare buffer (the only one is in use) and gets a new one, as before.
      const fresh = await decoder.decode(refs, options);
      assert.deepEqual(Array.from(fresh.data), Array.from(here.data));
    } finally {
      await decoder.close();
    }
  });

  it('decodeBytes gives the 8-bit values whose mapping is decodeImages’ floats, bit for bit; its buffers recycle too', async () => {
    const here = await decodeImages(refs, options);
    const first = await decoder.decodeBytes(refs, options);
    assert.ok(first.data instanceof Uint8Array);
    assert.deepEqual(first.skipped, here.skipped, 'the broken file is skipped, the gap closed');
    assert.deepEqual(
      first.images.map((r) => r.file),
      here.images.map((r) => r.file),
    );
    const floats = new Float32Array(first.data.length);
    bytesToPixels(first.data, options.pixelRange, floats);
    assert.deepEqual(floats, here.data);
    // A recycled byte buffer, scribbled over, is written again in full (decodable files only: with a
    // skipped file the reply is a shorter copy, as for floats).
    const good = refs.filter((r) => !r.file.endsWith('broken.png'));
    const whole = await decoder.decodeBytes(good, options);
    const buffer = whole.data.buffer;
    whole.data.fill(7);
    decoder.recycle(whole.data);
    const again = await decoder.decodeBytes(good, options);
    assert.equal(buffer.byteLength, 0, 'sent back to the worker');
    const mapped = new Float32Array(again.data.length);
    bytesToPixels(again.data, options.pixelRange, mapped);
    assert.deepEqual(mapped, here.data);
    await assert.rejects(decoder.decodeBytes(refs, { ...options, channels: 1 }), /3 channels only/);
  });

  it('a streamed image that stops decoding fails the read, naming the file', async () => {
    const broken = refs.find((r) => r.file.endsWith('broken.png'))!;
    const rows = streamingImageRows([broken], options, decoder);
    await assert.rejects(
      Promise.resolve(rows.read([0], new Float32Array(12 * 10 * 3))),
      /broken\.png could be decoded when the run started but not any more/,
    );
  });
});

describe('a dataset over the memory budget', () => {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = tempDir('stream');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
  });

  async function run(
    name: string,
    pipeline: PipelineOptions,
  ): Promise<{ metrics: EpochMetrics[]; logs: string[]; record: RunRecord }> {
    const file = writeExperiment(root, name, {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'flatten', hiddenUnits: [8], dropout: 0.3 },
      // Augmentation on: it must see the streamed batches exactly as the in-memory ones.
      augmentation: { flipHorizontal: true, brightness: 0.1 },
      training: { epochs: 3, batchSize: 8, learningRate: 0.01, backend: 'cpu', seed: 5 },
    });
    const logs: string[] = [];
    const outcome = await runExperiment({
      experimentPath: file,
      runsDir: path.join(root, 'runs'),
      pipeline,
      onEvent: (e) => {
        if (e.type === 'log') logs.push(e.message);
      },
    });
    const metrics = fs
      .readFileSync(path.join(outcome.runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochMetrics);
    const record = JSON.parse(fs.readFileSync(path.join(outcome.runDir, 'run.json'), 'utf8')) as RunRecord;
    return { metrics, logs, record };
  }

  it('streams batches from the decoding worker and gives the metrics of the in-memory path', async () => {
    const inMemory = await run('memory', {});
    // 48 images of 16×16×3 floats are 147 KiB: a 64 KiB budget forces streaming.
    const streamed = await run('streamed', { memoryBudgetBytes: 64 * 1024 });
    assert.ok(!inMemory.logs.some((l) => /worker thread/.test(l)), 'small datasets stay in memory');
    assert.ok(
      streamed.logs.some((l) =>
        /over the memory budget of 64 KiB: they are decoded per batch on a worker thread/.test(l),
      ),
      streamed.logs.join('\n'),
    );
    const strip = (ms: EpochMetrics[]): unknown[] => ms.map(({ time_s: _t, ...rest }) => rest);
    assert.deepEqual(strip(streamed.metrics), strip(inMemory.metrics));
    assert.deepEqual(streamed.record.counts, inMemory.record.counts);
    assert.equal(streamed.record.status, 'completed');
  });
});
