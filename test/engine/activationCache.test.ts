/**
 * The frozen-prefix activation cache: where the boundary falls (and when there is none), that the prefix
 * and the rest compose to the whole model, what invalidates a cache, and — on real runs — that training
 * on cached activations gives the metrics of training on images, with every technique on.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { EpochMetrics, RunRecord, RunSummary } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { cacheChunkImages, computeActivations, pruneCache } from '../../src/engine/cache/activationCache';
import { cacheKey, cacheKeyParts, type CacheKeyParts } from '../../src/engine/cache/cacheKey';
import { splitFrozenPrefix, type FrozenPrefix } from '../../src/engine/cache/frozenPrefix';
import type { PipelineOptions } from '../../src/engine/cache/prepareInputs';
import { buildTrainingModel, type TrainingModel } from '../../src/engine/model/buildTrainingModel';
import { loadBaseModel } from '../../src/engine/model/loadBaseModel';
import { runExperiment } from '../../src/engine/runExperiment';
import { scanDataset } from '../../src/core/data/scanDataset';
import { WorkerDecoder } from '../../src/engine/data/workerDecoder';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import { experimentConfig } from '../helpers/fixtureConfig';

let root: string;
let nestedPath: string;

type ConfigOverrides = Omit<Partial<ExperimentConfig>, 'head'> & { head?: Partial<ExperimentConfig['head']> };

function config(overrides: ConfigOverrides): ExperimentConfig {
  const base = experimentConfig({ name: 'cache', baseModel: nestedPath });
  return { ...base, ...overrides, head: { ...base.head, ...overrides.head } };
}

async function nestedModel(overrides: ConfigOverrides): Promise<TrainingModel> {
  const { model } = await loadBaseModel(nestedPath);
  return buildTrainingModel(model, config(overrides), 3, 3);
}

/** A small functional base built in memory: `body` maps the image input to the features a Dense reads. */
function customModel(
  body: (input: tfl.SymbolicTensor) => tfl.SymbolicTensor,
  overrides: ConfigOverrides,
): TrainingModel {
  const input = tfl.input({ shape: [8, 8, 3], name: 'image_in' });
  const features = tfl.layers.flatten({ name: 'flat' }).apply(body(input)) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(features);
  const base = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
  return buildTrainingModel(
    base,
    config({ ...overrides, dataset: { ...DEFAULTS.dataset, path: '/', imageSize: [8, 8] } }),
    3,
    3,
  );
}

const conv = (name: string, filters = 2): tfl.layers.Layer =>
  tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', name });

function prefixOf(model: TrainingModel): FrozenPrefix {
  const split = splitFrozenPrefix(model);
  assert.ok(split.prefix, `expected a frozen prefix, got: ${split.prefix ? '' : split.reason}`);
  return split.prefix;
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('frozen prefix: the boundary', () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('cache');
    nestedPath = await saveNestedCnn(path.join(root, 'base'));
  });

  it('ends at the last frozen layer of a chain; prefix then rest is the whole model, in both modes', async () => {
    const model = await nestedModel({
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'flatten', hiddenUnits: [5], batchNorm: true, dropout: 0 },
    });
    const prefix = prefixOf(model);
    assert.equal(prefix.boundaryPath, 'backbone/block1/pool1');
    assert.equal(prefix.lastFrozenPath, 'backbone/block1/pool1');
    assert.deepEqual(prefix.layerPaths, [
      'backbone/block1/conv1',
      'backbone/block1/bn1',
      'backbone/block1/pool1',
    ]);
    assert.deepEqual(prefix.rowShape, [8, 8, 4]);
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 3);
    const a = prefix.run(x);
    assert.deepEqual(a.shape, [4, 8, 8, 4]);
    // training = true: batch statistics in the trainable bn2 and the head's BN, inference in the frozen bn1.
    for (const training of [false, true]) {
      const whole = model.forward(x, training);
      const split = prefix.forwardRest(a, training);
      assert.ok(maxDiff(whole, split) < 1e-6, `training=${training}: ${maxDiff(whole, split)}`);
    }
    model.dispose();
  });

  it('covers the whole base when everything before the head is frozen', async () => {
    const model = await nestedModel({ freezeUpTo: 'flatten', head: { cutAt: 'flatten', hiddenUnits: [] } });
    const prefix = prefixOf(model);
    assert.equal(prefix.boundaryPath, 'flatten');
    assert.deepEqual(prefix.rowShape, [4 * 4 * 6]);
    model.dispose();
  });

  it('gives no prefix, with the reason, when the first layer trains', async () => {
    const model = await nestedModel({ head: { cutAt: 'flatten' } });
    const split = splitFrozenPrefix(model);
    assert.equal(split.prefix, undefined);
    assert.match(!split.prefix ? split.reason : '', /"backbone\/block1\/conv1" is not frozen/);
    model.dispose();
  });

  it('stops before a frozen Dropout with a non-zero rate, and goes through one at rate 0', () => {
    const withRate = (rate: number): TrainingModel =>
      customModel(
        (input) => {
          const a = conv('c1').apply(input) as tfl.SymbolicTensor;
          const d = tfl.layers.dropout({ rate, name: 'drop' }).apply(a) as tfl.SymbolicTensor;
          return conv('c2').apply(d) as tfl.SymbolicTensor;
        },
        { freezeUpTo: 'c2', head: { cutAt: 'flat', hiddenUnits: [] } },
      );
    const random = prefixOf(withRate(0.5));
    assert.equal(random.boundaryPath, 'c1');
    assert.match(random.notes.join(), /Dropout layer "drop" is random during training/);
    const identity = prefixOf(withRate(0));
    assert.equal(identity.boundaryPath, 'flat', 'through the rate-0 Dropout, c2 and the weightless Flatten');
    assert.deepEqual(identity.layerPaths, ['c1', 'drop', 'c2', 'flat']);
    assert.doesNotMatch(identity.notes.join(), /random during training/);
  });

  it("goes on through the head's global average pooling after a spatial cut: same outputs, the row a vector", async () => {
    const model = await nestedModel({
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'backbone/block1/pool1', hiddenUnits: [5], batchNorm: true, dropout: 0.3 },
    });
    const prefix = prefixOf(model);
    assert.equal(prefix.boundaryPath, 'head_pool');
    assert.equal(prefix.lastFrozenPath, 'backbone/block1/pool1', 'what messages call the frozen layers');
    assert.deepEqual(prefix.layerPaths, [
      'backbone/block1/conv1',
      'backbone/block1/bn1',
      'backbone/block1/pool1',
      'head_pool',
    ]);
    assert.deepEqual(prefix.rowShape, [4], 'one value per channel instead of [8, 8, 4]');
    assert.match(
      prefix.notes.join(),
      /past the last frozen layer "backbone\/block1\/pool1" through "head_pool" \(GlobalAveragePooling2D\)/,
    );
    const x = tf.randomUniform([4, 16, 16, 3], 0, 1, 'float32', 4);
    const a = prefix.run(x);
    assert.deepEqual(a.shape, [4, 4]);
    // Inference only: in training the head's dropout draws random numbers, compared on whole runs below.
    assert.ok(maxDiff(model.forward(x, false), prefix.forwardRest(a, false)) < 1e-6);
    model.dispose();
  });

  it('goes through a weightless layer the freeze set leaves trainable, and never starts with one', () => {
    const body = (input: tfl.SymbolicTensor): tfl.SymbolicTensor => {
      const a = conv('c1').apply(input) as tfl.SymbolicTensor;
      const p = tfl.layers.maxPooling2d({ poolSize: 2, name: 'p' }).apply(a) as tfl.SymbolicTensor;
      return conv('c2').apply(p) as tfl.SymbolicTensor;
    };
    const model = customModel(body, { freezeUpTo: 'c1', head: { cutAt: 'flat', hiddenUnits: [] } });
    assert.equal(model.states.get('p'), 'trainable');
    assert.equal(prefixOf(model).boundaryPath, 'p');

    const poolFirst = customModel(
      (input) => {
        const p = tfl.layers.averagePooling2d({ poolSize: 2, name: 'p0' }).apply(input) as tfl.SymbolicTensor;
        return conv('c1').apply(p) as tfl.SymbolicTensor;
      },
      { head: { cutAt: 'flat', hiddenUnits: [] } },
    );
    const split = splitFrozenPrefix(poolFirst);
    assert.equal(split.prefix, undefined, 'pooling of the input alone is not cached');
    assert.match(!split.prefix ? split.reason : '', /first layer with weights "c1" is not frozen/);
  });

  it('in a branching graph, ends where one tensor carries everything; none when the input skips ahead', () => {
    const residual = (input: tfl.SymbolicTensor): tfl.SymbolicTensor => {
      const a = conv('c1').apply(input) as tfl.SymbolicTensor;
      const b = conv('c2').apply(a) as tfl.SymbolicTensor;
      return tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
    };
    const mid = prefixOf(
      customModel(residual, { freezeUpTo: 'c2', head: { cutAt: 'flat', hiddenUnits: [] } }),
    );
    assert.equal(mid.boundaryPath, 'c1', 'c1 and c2 both feed "sum": the cache ends at c1');
    assert.match(mid.notes.join(), /ends at "c1", not at the last frozen layer "c2"/);
    const whole = prefixOf(
      customModel(residual, { freezeUpTo: 'sum', head: { cutAt: 'flat', hiddenUnits: [] } }),
    );
    assert.equal(whole.boundaryPath, 'flat', 'the frozen sum, then the weightless Flatten');

    const skip = customModel(
      (input) => {
        const a = conv('c1').apply(input) as tfl.SymbolicTensor;
        return tfl.layers.concatenate({ name: 'cat' }).apply([input, a]) as tfl.SymbolicTensor;
      },
      { freezeUpTo: 'c1', head: { cutAt: 'flat', hiddenUnits: [] } },
    );
    const split = splitFrozenPrefix(skip);
    assert.equal(split.prefix, undefined);
    assert.match(!split.prefix ? split.reason : '', /single tensor/);
  });
});

describe('cache key', () => {
  it('changes with the model files, the prefix, image size, pixel range, channels, dataset and backend', () => {
    const dir = tempDir('key');
    fs.mkdirSync(path.join(dir, 'm'));
    const modelJson = path.join(dir, 'm', 'model.json');
    fs.writeFileSync(
      modelJson,
      JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'] }] }),
    );
    fs.writeFileSync(path.join(dir, 'm', 'w.bin'), Buffer.from([1, 2, 3, 4]));
    const fields = {
      modelJsonPath: modelJson,
      prefixLayers: ['conv1', 'bn1'],
      imageSize: [16, 16] as [number, number],
      pixelRange: [0, 1] as [number, number],
      channels: 3,
      dataset: 'abc',
      backend: 'cpu',
    };
    const base = cacheKey(cacheKeyParts(fields));
    assert.equal(cacheKey(cacheKeyParts(fields)), base, 'stable');
    const variants: Partial<typeof fields>[] = [
      { prefixLayers: ['conv1'] },
      { imageSize: [16, 17] },
      { pixelRange: [-1, 1] },
      { channels: 1 },
      { dataset: 'abd' },
      { backend: 'wasm' },
    ];
    for (const variant of variants)
      assert.notEqual(cacheKey(cacheKeyParts({ ...fields, ...variant })), base, JSON.stringify(variant));
    fs.writeFileSync(path.join(dir, 'm', 'w.bin'), Buffer.from([1, 2, 3, 5]));
    const parts: CacheKeyParts = cacheKeyParts(fields);
    assert.notEqual(cacheKey(parts), base, 'one weight byte changed');
  });

  it('pruning keeps the newest caches under the limit, the current one always, and removes stale temporaries', () => {
    const dir = tempDir('prune');
    const make = (name: string, bytes: number, ageS: number): void => {
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'rows.f32'), Buffer.alloc(bytes));
      fs.writeFileSync(path.join(dir, name, 'meta.json'), '{}');
      const t = new Date(Date.now() - ageS * 1000);
      fs.utimesSync(path.join(dir, name, 'meta.json'), t, t);
      fs.utimesSync(path.join(dir, name), t, t);
    };
    // Cache folders are named by 32 hex digits (cacheKey), temporaries `<key>.tmp-<pid>-<time>`.
    const key = (c: string): string => c.repeat(32);
    make(key('a'), 400, 300); // old
    make(key('b'), 400, 100); // newer
    make(key('c'), 400, 10); // newest
    make(key('d'), 400, 1000); // current
    make(`${key('e')}.tmp-1-x`, 10, 7200);
    make(`${key('f')}.tmp-2-y`, 10, 1);
    // Not the cache's: a folder of somebody else's with the same files and age, and a link to a folder.
    make('k.tmp-1-x', 10, 7200);
    const outside = tempDir('prune-outside');
    make(path.relative(dir, path.join(outside, key('9'))), 4000, 9000);
    fs.symlinkSync(path.join(outside, key('9')), path.join(dir, key('8')));
    const removed = pruneCache(dir, key('d'), 1000);
    assert.deepEqual(removed.sort(), [key('a'), key('b'), `${key('e')}.tmp-1-x`].sort());
    assert.deepEqual(
      fs.readdirSync(dir).sort(),
      [key('c'), key('d'), key('8'), `${key('f')}.tmp-2-y`, 'k.tmp-1-x'].sort(),
    );
    assert.ok(fs.existsSync(path.join(outside, key('9'), 'rows.f32')), 'nothing behind a link is removed');
    // A cache folder that is itself a link (`.finetune/cache -> ~`): nothing is pruned at all.
    const linkedRoot = path.join(tempDir('prune-link'), 'cache');
    fs.symlinkSync(dir, linkedRoot);
    assert.deepEqual(pruneCache(linkedRoot, key('d'), 0), []);
    assert.ok(fs.existsSync(path.join(dir, key('c'))));
  });
});

describe('runs on cached activations', () => {
  let data: string;
  before(async () => {
    await initBackend('cpu');
    data = await makeDataset(path.join(root, 'data'), 3, 12, 16);
  });

  /** Every technique the head and the trainable layers have: two LRs, L2-SP, L2, head dropout + BN, restore-best. */
  const rich = {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
    freezeUpTo: 'backbone/block1',
    head: { cutAt: 'flatten', hiddenUnits: [8], dropout: 0.3, batchNorm: true },
    regularization: { l2: 0.0001, l2sp: 0.01 },
    training: {
      epochs: 5,
      batchSize: 8,
      learningRate: 0.02,
      fineTuneLearningRateMultiplier: 0.1,
      backend: 'cpu',
      seed: 5,
      earlyStopping: { monitor: 'val_loss', patience: 10, restoreBestWeights: true },
    },
  };

  async function run(
    name: string,
    pipeline: PipelineOptions,
    patch: (e: Record<string, unknown>) => void = () => {},
    signal?: AbortSignal,
    onEvent?: (e: TrainingEvent) => void,
  ): Promise<{
    metrics: EpochMetrics[];
    record: RunRecord;
    summary: RunSummary | undefined;
    logs: string[];
  }> {
    const doc = structuredClone(rich) as unknown as Record<string, unknown>;
    patch(doc);
    const file = writeExperiment(root, name, doc);
    const logs: string[] = [];
    const outcome = await runExperiment({
      experimentPath: file,
      runsDir: path.join(root, 'runs'),
      pipeline,
      signal,
      onEvent: (e) => {
        if (e.type === 'log') logs.push(`${e.level}: ${e.message}`);
        onEvent?.(e);
      },
    });
    const read = (f: string): string => fs.readFileSync(path.join(outcome.runDir, f), 'utf8');
    return {
      metrics: read('metrics.jsonl')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as EpochMetrics),
      record: JSON.parse(read('run.json')) as RunRecord,
      summary: fs.existsSync(path.join(outcome.runDir, 'summary.json'))
        ? (JSON.parse(read('summary.json')) as RunSummary)
        : undefined,
      logs,
    };
  }

  function assertSameMetrics(a: EpochMetrics[], b: EpochMetrics[], label: string): void {
    assert.equal(a.length, b.length, `${label}: epochs`);
    a.forEach((m, i) => {
      for (const key of [
        'loss',
        'accuracy',
        'val_loss',
        'val_accuracy',
        'reg_loss',
        'lr',
        'lr_base',
      ] as const) {
        const x = m[key] ?? 0;
        const y = b[i][key] ?? 0;
        assert.ok(
          Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(x)),
          `${label}: epoch ${i + 1} ${key} ${x} vs ${y}`,
        );
      }
    });
  }

  it('gives the metrics of the uncached run (same seed), computed once, then reused from disk', async () => {
    const cacheDir = path.join(root, 'cache-a');
    const plain = await run('plain', { activationCache: false });
    const first = await run('cached', { cacheDir });
    const again = await run('cached-again', { cacheDir });
    assert.ok(
      plain.metrics[0].lr_base !== undefined && (plain.metrics[0].reg_loss ?? 0) > 0,
      'two LRs and L2-SP on',
    );
    assert.ok(plain.record.bestEpoch! >= 1);
    assert.ok(!plain.logs.some((l) => /Activation cache: /.test(l)), 'the plain run does not cache');
    assert.ok(
      first.logs.some((l) =>
        /Activation cache: activations of "backbone\/block1\/pool1" \[8, 8, 4\] for 36 images computed/.test(
          l,
        ),
      ),
      first.logs.join('\n'),
    );
    assert.ok(
      again.logs.some((l) => /Activation cache: reusing/.test(l)),
      again.logs.join('\n'),
    );
    assertSameMetrics(plain.metrics, first.metrics, 'computed cache');
    assertSameMetrics(plain.metrics, again.metrics, 'reused cache');
    assert.equal(first.record.bestEpoch, plain.record.bestEpoch);
    assert.deepEqual(first.summary?.confusion, plain.summary?.confusion);
    assert.ok(
      Math.abs(first.summary!.val_loss - plain.summary!.val_loss) < 1e-5,
      'restored best model, same summary',
    );
    assert.deepEqual(first.record.counts, plain.record.counts);
    assert.equal(fs.readdirSync(cacheDir).length, 1, 'one cache folder');
  });

  it('over the memory budget reads activations from disk per batch, same metrics; stop still works', async () => {
    const cacheDir = path.join(root, 'cache-b');
    const plain = await run('plain-b', { activationCache: false }, (e) =>
      Object.assign(e.training as object, { epochs: 2 }),
    );
    const disk = await run('disk', { cacheDir, memoryBudgetBytes: 1024 }, (e) =>
      Object.assign(e.training as object, { epochs: 2 }),
    );
    assert.ok(
      disk.logs.some((l) => /read from .* per batch \(over the memory budget\)/.test(l)),
      disk.logs.join('\n'),
    );
    assertSameMetrics(plain.metrics, disk.metrics, 'disk cache');

    const controller = new AbortController();
    let batches = 0;
    const stopped = await run(
      'stopped',
      { cacheDir },
      () => {},
      controller.signal,
      (e) => {
        if (e.type === 'afterBatch' && ++batches === 3) controller.abort();
      },
    );
    assert.equal(stopped.record.status, 'stopped');
    assert.equal(batches, 3, 'no batch after the stop');
  });

  it('with a spatial cut caches after the head pooling: the metrics of the uncached run', async () => {
    const cacheDir = path.join(root, 'cache-pool');
    const spatial = (e: Record<string, unknown>): void => {
      Object.assign(e.head as object, { cutAt: 'backbone/block1/pool1' });
      Object.assign(e.training as object, { epochs: 3 });
    };
    const plain = await run('pool-plain', { activationCache: false }, spatial);
    const cached = await run('pool-cached', { cacheDir }, spatial);
    assert.ok(
      cached.logs.some((l) =>
        /Activation cache: activations of "head_pool" \[4\] for 36 images computed/.test(l),
      ),
      cached.logs.join('\n'),
    );
    assertSameMetrics(plain.metrics, cached.metrics, 'cached after head_pool');
    assert.deepEqual(cached.summary?.confusion, plain.summary?.confusion);
  });

  it('is recomputed when an image changes (dataset fingerprint) and when the freeze set changes', async () => {
    const cacheDir = path.join(root, 'cache-c');
    const short = (e: Record<string, unknown>): void =>
      void Object.assign(e.training as object, { epochs: 1 });
    await run('c1', { cacheDir }, short);
    const image = path.join(data, 'class_a', 'class_a_0.png');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(image, later, later);
    const touched = await run('c2', { cacheDir }, short);
    assert.ok(
      touched.logs.some((l) => /Computing the frozen layers' output/.test(l)),
      'recomputed after a change',
    );
    const refrozen = await run('c3', { cacheDir }, (e) => {
      short(e);
      e.freezeUpTo = 'backbone/conv2';
    });
    assert.ok(
      refrozen.logs.some((l) => /activations of "backbone\/conv2"/.test(l)),
      refrozen.logs.join('\n'),
    );
    assert.equal(fs.readdirSync(cacheDir).length, 3);
  });

  it('with augmentation on the run trains on images and says why the cache is off (log and run.json)', async () => {
    const cacheDir = path.join(root, 'cache-d');
    const augmented = await run('augmented', { cacheDir }, (e) => {
      Object.assign(e.training as object, { epochs: 1 });
      e.augmentation = { flipHorizontal: true };
    });
    assert.equal(augmented.record.status, 'completed');
    const warning = augmented.record.warnings?.find((w) => /Activation cache off/.test(w));
    assert.match(warning ?? '', /augmentation changes the images every epoch.*"backbone\/block1\/pool1"/);
    assert.ok(augmented.logs.some((l) => /^warn: Activation cache off: augmentation/.test(l)));
    assert.equal(fs.existsSync(cacheDir), false, 'nothing cached');
  });
});

describe('computing the cache in chunks', () => {
  it('sizes chunks by the input bytes: 128 small images, 37 of 96×96, 32 of 224×224, never fewer', () => {
    assert.equal(cacheChunkImages([32, 32], 3), 128);
    assert.equal(cacheChunkImages([96, 96], 3), 37);
    assert.equal(cacheChunkImages([16, 16], 1), 128);
    assert.equal(cacheChunkImages([224, 224], 3), 32);
    assert.equal(cacheChunkImages([1024, 1024], 3), 32);
  });

  /** Cached rows against each image's own prefix pass (batch 1), at chunk boundaries, on the kernel pool. */
  async function checkChunkBits(cutAt: string, boundary: string): Promise<void> {
    await initBackend('wasm', { threads: 2 });
    const size = 16;
    const data = path.join(root, 'chunked-data');
    if (!fs.existsSync(data)) await makeDataset(data, 3, 50, size, 4);
    const relu6 = (name: string): tfl.layers.Layer => tfl.layers.reLU({ maxValue: 6, name });
    const bn = (name: string): tfl.layers.Layer => tfl.layers.batchNormalization({ name });
    const input = tfl.input({ shape: [size, size, 3], name: 'image_in' });
    let x = tfl.layers
      .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'c1' })
      .apply(input) as tfl.SymbolicTensor;
    x = relu6('r1').apply(bn('b1').apply(x)) as tfl.SymbolicTensor;
    x = tfl.layers
      .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw' })
      .apply(x) as tfl.SymbolicTensor;
    x = relu6('r2').apply(bn('b2').apply(x)) as tfl.SymbolicTensor;
    x = tfl.layers
      .conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'pw' })
      .apply(x) as tfl.SymbolicTensor;
    x = relu6('r3').apply(bn('b3').apply(x)) as tfl.SymbolicTensor;
    const features = tfl.layers.flatten({ name: 'flat' }).apply(x) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(features);
    const base = tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
    const model = buildTrainingModel(
      base,
      config({
        freezeUpTo: 'r3',
        head: { cutAt, hiddenUnits: [] },
        dataset: { ...DEFAULTS.dataset, path: data, imageSize: [size, size] },
      }),
      3,
      3,
    );
    const prefix = prefixOf(model);
    assert.equal(prefix.boundaryPath, boundary);
    const refs = (await scanDataset(data)).images;
    assert.ok(refs.length > cacheChunkImages([size, size], 3), 'more images than one chunk');
    const decode = {
      imageSize: [size, size] as [number, number],
      channels: 3 as const,
      pixelRange: [-1, 1] as [number, number],
    };
    const decoder = new WorkerDecoder();
    try {
      const cached = await computeActivations({
        root: path.join(root, 'chunked-cache'),
        key: `chunked-${boundary}`,
        parts: {} as CacheKeyParts,
        refs,
        decode,
        decoder,
        prefix,
        limits: { memoryBudgetBytes: 2 ** 30, maxDiskBytes: 0 },
      });
      assert.deepEqual(
        cached.files,
        refs.map((r) => r.file),
      );
      const rows = new Float32Array(refs.length * prefix.rowShape.reduce((a, b) => a * b, 1));
      await cached.rows.read(Int32Array.from(refs.keys()), rows);
      const single = await decoder.decode(refs, decode);
      const per = size * size * 3;
      const rowFloats = rows.length / refs.length;
      for (const i of [0, 1, 127, 128, 129, refs.length - 1]) {
        const alone = tf.tidy(() =>
          prefix.run(tf.tensor4d(single.data.subarray(i * per, (i + 1) * per), [1, size, size, 3])),
        );
        const expected = (await alone.data()) as Float32Array;
        alone.dispose();
        assert.deepEqual(rows.subarray(i * rowFloats, (i + 1) * rowFloats), expected, `image ${i}`);
      }
    } finally {
      await decoder.close();
      model.dispose();
      await initBackend('cpu');
    }
  }

  it('gives every image the bits of its own prefix pass on the wasm kernel pool, across chunk boundaries', async () => {
    await checkChunkBits('flat', 'flat');
  });

  it('does so through the head pooling after a spatial cut (the mean of each image on its own)', async () => {
    await checkChunkBits('r3', 'head_pool');
  });
});
