/**
 * Issue 7's techniques inside real runs: the schedule the metrics report, gradual unfreezing that changes
 * exactly the layers it should when it should, decoupled weight decay, and mixup / label smoothing running.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import type { EpochMetrics } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { DEFAULT_SCHEDULE } from '../../src/protocol/experimentConfig';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment } from '../../src/engine/runExperiment';
import { scheduledLearningRate } from '../../src/core/portable/lrSchedule';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let root: string;

async function run(name: string, training: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const file = writeExperiment(root, name, {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
    head: { cutAt: 'flatten', hiddenUnits: [8] },
    ...extra,
    training: {
      epochs: 3,
      batchSize: 8,
      learningRate: 0.01,
      backend: 'cpu',
      seed: 5,
      earlyStopping: false,
      ...training,
    },
  });
  const events: TrainingEvent[] = [];
  const outcome = await runExperiment({
    experimentPath: file,
    runsDir: path.join(root, 'runs'),
    onEvent: (e) => events.push(e),
  });
  const metrics = fs
    .readFileSync(path.join(outcome.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochMetrics);
  return { outcome, events, metrics };
}

async function kernel(modelJson: string, layer: string): Promise<Float32Array> {
  const model = await tfl.loadLayersModel(fileLoadHandler(modelJson));
  const w = model.weights.find((v) => v.originalName.split('/').slice(-2).join('/') === `${layer}/kernel`)!;
  const data = w.read().dataSync() as Float32Array;
  model.dispose();
  return data;
}

describe('fine-tuning techniques in real runs', () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('techniques');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
  });

  it('a cosine schedule with warm-up: the batch and epoch learning rates follow the formula', async () => {
    const schedule = {
      ...DEFAULT_SCHEDULE,
      type: 'cosine' as const,
      warmupEpochs: 1,
      minLearningRate: 0.001,
    };
    const { events, metrics } = await run('cosine', { schedule, epochs: 3 });
    const batches = events.filter(
      (e): e is Extract<TrainingEvent, { type: 'afterBatch' }> => e.type === 'afterBatch',
    );
    for (const e of batches) {
      const expected = scheduledLearningRate(schedule, 0.01, e.epoch - 1 + (e.batch - 1) / e.batches, 3);
      assert.ok(
        Math.abs(e.lr! - expected) < 1e-12,
        `epoch ${e.epoch} batch ${e.batch}: ${e.lr} vs ${expected}`,
      );
    }
    assert.ok(batches[0].lr! < batches[batches.length - 1].lr! || batches[0].lr === 0, 'warm-up starts low');
    assert.equal(metrics.length, 3);
    assert.ok(metrics[2].lr < 0.01 && metrics[2].lr >= 0.001, 'annealing towards the floor');
  });

  it('gradual unfreezing changes exactly the layers it should at the epochs it should', async () => {
    const gradualUnfreezing = { headEpochs: 1, everyEpochs: 1, blocks: ['backbone/conv2'] };
    const one = await run('gu-1', { epochs: 1, gradualUnfreezing }, { freezeUpTo: 'backbone/block1' });
    const pre = await kernel(path.join(root, 'base', 'model.json'), 'conv2');
    const afterHeadOnly = await kernel(path.join(one.outcome.runDir, 'model', 'model.json'), 'conv2');
    assert.deepEqual(
      Array.from(afterHeadOnly),
      Array.from(pre),
      'epoch 1 trains the head only: conv2 unchanged',
    );
    const phases = one.events.filter((e) => e.type === 'phase');
    assert.deepEqual(
      phases.map((e) => e.type === 'phase' && [e.epoch, e.phase, e.unfrozenNow]),
      [[1, 0, []]],
    );
    const two = await run('gu-2', { epochs: 3, gradualUnfreezing }, { freezeUpTo: 'backbone/block1' });
    const phases2 = two.events.filter((e) => e.type === 'phase');
    assert.deepEqual(
      phases2.map((e) => e.type === 'phase' && [e.epoch, e.phase, e.unfrozenNow]),
      [
        [1, 0, []],
        [2, 1, ['backbone/conv2']],
      ],
    );
    assert.deepEqual(
      two.metrics.map((m) => m.phase),
      [0, 1, 1],
    );
    assert.equal(two.metrics[0].lr_base, undefined, 'no pre-trained layer trains in phase 0');
    assert.ok(two.metrics[1].lr_base! > 0);
    const later = await kernel(path.join(two.outcome.runDir, 'model', 'model.json'), 'conv2');
    assert.notDeepEqual(Array.from(later), Array.from(pre), 'conv2 trains once unfrozen');
    const bn2 = await kernel(path.join(two.outcome.runDir, 'model', 'model.json'), 'conv1');
    assert.deepEqual(
      Array.from(bn2),
      Array.from(await kernel(path.join(root, 'base', 'model.json'), 'conv1')),
      'frozen by the file: never unfrozen',
    );
  });

  it('decoupled weight decay shrinks the kernels', async () => {
    const norm = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
    const plain = await run('wd-0', { epochs: 2, weightDecay: 0 });
    const decayed = await run('wd-1', { epochs: 2, weightDecay: 5 });
    const a = norm(await kernel(path.join(plain.outcome.runDir, 'model', 'model.json'), 'head_dense_1'));
    const b = norm(await kernel(path.join(decayed.outcome.runDir, 'model', 'model.json'), 'head_dense_1'));
    assert.ok(b < a * 0.9, `with decay ${b} vs without ${a}`);
  });

  it('mixup and label smoothing run, turn the activation cache off and say why', async () => {
    const { outcome, events, metrics } = await run(
      'mixup',
      { epochs: 2, mixup: 0.4, labelSmoothing: 0.1 },
      { freezeUpTo: 'backbone' },
    );
    assert.equal(outcome.status, 'completed');
    assert.ok(metrics.every((m) => Number.isFinite(m.loss)));
    assert.ok(events.some((e) => e.type === 'log' && /Activation cache off: mixup/.test(e.message)));
  });
});
