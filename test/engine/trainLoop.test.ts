/**
 * The training loop with callbacks, on a tiny model in memory: the events in order, a callback's
 * stopAfterEpoch (the epoch is recorded and checkpointed, no other starts) and CancelFit (the epoch in
 * progress is discarded), the place where extra callbacks (a sweep's stop request) run.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { EpochMetrics } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { memoryRows, type DataSplit } from '../../src/engine/data/rowStore';
import { buildTrainingModel } from '../../src/engine/model/buildTrainingModel';
import { createRng } from '../../src/core/rng';
import { CancelFit, type TrainingCallback } from '../../src/engine/training/callbacks/trainingCallback';
import type { FitCheckpoint } from '../../src/engine/training/checkpoint';
import { fit, type FitOptions } from '../../src/engine/training/trainLoop';
import { experimentConfig } from '../helpers/fixtureConfig';

function split(count: number, seed: string): DataSplit {
  const rng = createRng(seed);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
  const x = new Float32Array(count * 4 * 4 * 3);
  // Each class brightens its own channel, so the model can learn something.
  for (let i = 0; i < count; i++)
    for (let p = 0; p < 16; p++)
      for (let c = 0; c < 3; c++) x[(i * 16 + p) * 3 + c] = rng.next() * 0.5 + (c === labels[i] ? 0.5 : 0);
  return { rows: memoryRows(x, [4, 4, 3]), labels, files: Array.from(labels, (_, i) => `f${i}.png`), count };
}

function options(extra: Partial<FitOptions> & { events: TrainingEvent[] }): FitOptions {
  const input = tfl.input({ shape: [4, 4, 3], name: 'img' });
  const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'conv' }).apply(input);
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(conv);
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(flat);
  const base = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
  const config = experimentConfig({
    name: 'loop',
    dataset: { ...experimentConfig().dataset, imageSize: [4, 4] },
  });
  config.training = {
    ...config.training,
    epochs: 4,
    batchSize: 8,
    earlyStopping: false,
    gradualUnfreezing: { headEpochs: 1, everyEpochs: 1, blocks: 'auto' },
  };
  const model = buildTrainingModel(base, config, 3, 3);
  return {
    model,
    train: split(24, 'train'),
    val: split(9, 'val'),
    numClasses: 3,
    config,
    emit: (e) => extra.events.push(e),
    onBest: async () => undefined,
    onEpoch: () => undefined,
    ...extra,
  };
}

describe('training loop: events and callbacks', () => {
  before(async () => {
    await initBackend('cpu');
  });

  it('fires beforeEpoch, phase, afterBatch… afterEpoch in order, every epoch', async () => {
    const events: TrainingEvent[] = [];
    const o = options({ events });
    const result = await fit(o);
    o.model.dispose();
    tf.dispose(result.bestWeights ?? []);
    assert.equal(result.status, 'completed');
    assert.equal(result.history.length, 4);
    const kinds = events
      .filter((e) => e.type !== 'log')
      .map((e) => (e.type === 'afterBatch' ? `b${e.batch}` : e.type));
    assert.deepEqual(kinds.slice(0, 6), ['beforeEpoch', 'phase', 'b1', 'b2', 'b3', 'afterEpoch']);
    assert.deepEqual(kinds.slice(6, 12), ['beforeEpoch', 'phase', 'b1', 'b2', 'b3', 'afterEpoch']);
  });

  it("an extra callback's stopAfterEpoch ends the fit after that epoch, recorded, checkpointed and announced", async () => {
    const events: TrainingEvent[] = [];
    const recorded: EpochMetrics[] = [];
    const checkpoints: FitCheckpoint[] = [];
    let fitEnded: string | undefined;
    // What a sweep's "stop requested" check looks like: it runs after the epoch is on disk.
    const stopFile: TrainingCallback = {
      afterEpoch: (logs, state) => {
        assert.equal(
          checkpoints.at(-1)?.epoch,
          logs.metrics.epoch,
          'the checkpoint of this epoch is written',
        );
        if (logs.metrics.epoch === 2)
          state.stopAfterEpoch({ status: 'stopped', endReason: 'stop requested' });
      },
      afterFit: (outcome) => {
        fitEnded = outcome.endReason;
      },
    };
    const o = options({
      events,
      callbacks: [stopFile],
      onEpoch: (m) => void recorded.push(m),
      onCheckpoint: (c) => void checkpoints.push(c),
    });
    const result = await fit(o);
    o.model.dispose();
    tf.dispose(result.bestWeights ?? []);
    assert.equal(result.status, 'stopped');
    assert.equal(result.endReason, 'stop requested');
    assert.equal(fitEnded, 'stop requested');
    assert.deepEqual(
      recorded.map((m) => m.epoch),
      [1, 2],
    );
    assert.deepEqual(
      result.history.map((m) => m.epoch),
      [1, 2],
    );
    assert.equal(events.filter((e) => e.type === 'afterEpoch').length, 2);
    assert.ok(!events.some((e) => e.type === 'beforeEpoch' && e.epoch === 3));
  });

  it('CancelFit in the middle of an epoch discards that epoch: no afterEpoch, no record, no checkpoint', async () => {
    const events: TrainingEvent[] = [];
    const recorded: number[] = [];
    const checkpoints: number[] = [];
    const cancel: TrainingCallback = {
      afterBatch: (logs) => {
        if (logs.epoch === 3 && logs.batch === 2)
          throw new CancelFit({ status: 'failed', endReason: 'test', error: 'boom' });
      },
    };
    const o = options({
      events,
      callbacks: [cancel],
      onEpoch: (m) => void recorded.push(m.epoch),
      onCheckpoint: (c) => void checkpoints.push(c.epoch),
    });
    const result = await fit(o);
    o.model.dispose();
    tf.dispose(result.bestWeights ?? []);
    assert.deepEqual([result.status, result.error], ['failed', 'boom']);
    assert.deepEqual(recorded, [1, 2]);
    assert.deepEqual(checkpoints, [1, 2]);
    assert.deepEqual(
      result.history.map((m) => m.epoch),
      [1, 2],
    );
    assert.equal(result.bestEpoch !== undefined && result.bestEpoch <= 2, true);
    const epoch3Batches = events.filter((e) => e.type === 'afterBatch' && e.epoch === 3).length;
    assert.equal(epoch3Batches, 2, 'extra callbacks run after the progress events: batch 2 was announced');
  });
});
