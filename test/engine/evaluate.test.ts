/**
 * The evaluation behind summary.json: loss, accuracy and per-image predictions over the whole validation
 * split, or — with a deadline, as after Stop — over the batches evaluated before it passed (at least
 * one), with the figures computed over those images only.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { memoryRows, type DataSplit } from '../../src/engine/data/rowStore';
import { evaluate } from '../../src/engine/training/evaluate';

/** 10 rows of 2 features; the "model" predicts class 0 when the first feature is larger. */
function split(): DataSplit {
  const count = 10;
  const data = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    data[2 * i] = i % 3 === 0 ? 1 : 0;
    data[2 * i + 1] = i % 3 === 0 ? 0 : 1;
    labels[i] = i < 5 ? (i % 3 === 0 ? 0 : 1) : 0; // the first 5 all right, rows 5–9 right only when i % 3 === 0
  }
  return {
    rows: memoryRows(data, [2]),
    labels,
    files: Array.from({ length: count }, (_, i) => `img${i}.png`),
    count,
  };
}

const forward = (x: tf.Tensor): tf.Tensor => tf.softmax(tf.mul(x, 4));

describe('evaluate', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('covers every validation image without a deadline', async () => {
    const result = await evaluate(forward, split(), 2, 4);
    assert.equal(result.predictions.length, 10);
    assert.deepEqual(
      result.predictions.map((p) => p.file),
      Array.from({ length: 10 }, (_, i) => `img${i}.png`),
    );
    // Right: rows 0–4, and 6 and 9 → 7 of 10.
    assert.equal(result.accuracy, 0.7);
  });

  it('with a deadline already past evaluates one batch, and its figures are over that batch', async () => {
    const tensors = tf.memory().numTensors;
    const result = await evaluate(forward, split(), 2, 4, performance.now() - 1);
    assert.equal(result.predictions.length, 4, 'the first batch only');
    assert.equal(result.accuracy, 1, 'rows 0–3 are all right');
    const full = await evaluate(forward, split(), 2, 4);
    assert.ok(result.loss < full.loss, 'loss over the batch evaluated, not diluted by the whole split');
    assert.equal(tf.memory().numTensors, tensors, 'the batches not evaluated are disposed');
  });
});
