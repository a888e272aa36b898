/**
 * A learning rate of 0 for pre-trained layers (fineTuneLearningRateMultiplier 0, or a discriminative group
 * at 0) means frozen: no update, BatchNormalization in inference mode with its statistics byte for byte
 * unchanged, the activation cache over them, the parameter counts and the penalties as for frozen layers.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment } from '../../src/engine/runExperiment';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let root: string;

/** Weights by `<layer>/<weight>` (the saved flat model and the nested base name them alike at that depth). */
async function weights(modelJson: string): Promise<Map<string, Float32Array>> {
  const model = await tfl.loadLayersModel(fileLoadHandler(modelJson));
  const out = new Map<string, Float32Array>();
  for (const w of model.weights)
    out.set(
      w.originalName.replace(/_\d+$/, '').split('/').slice(-2).join('/'),
      w.read().dataSync() as Float32Array,
    );
  model.dispose();
  return out;
}

const bytes = (a: Float32Array | undefined): string =>
  Buffer.from(a!.buffer, a!.byteOffset, a!.byteLength).toString('hex');

const run = (name: string, training: Record<string, unknown>) => runFile(name, {}, training);

async function runFile(name: string, extra: Record<string, unknown>, training: Record<string, unknown>) {
  const file = writeExperiment(root, name, {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
    head: { cutAt: 'flatten', hiddenUnits: [8] },
    regularization: { l1: 0, l2: 0.01, l2sp: 0 },
    ...extra,
    training: {
      epochs: 2,
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
  const dir = outcome.runDir;
  const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunRecord;
  const metrics = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochMetrics);
  return { record, events, metrics, after: await weights(path.join(dir, 'model', 'model.json')) };
}

describe('a learning rate of 0 is frozen', () => {
  let pretrained: Map<string, Float32Array>;
  before(async () => {
    await initBackend('cpu');
    root = tempDir('zero-lr');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
    pretrained = await weights(path.join(root, 'base', 'model.json'));
  });

  it('fineTuneLearningRateMultiplier 0: base weights and BN statistics byte-identical, cached, counted and penalised as frozen', async () => {
    const { record, events, after, metrics } = await run('multiplier-0', {
      fineTuneLearningRateMultiplier: 0,
    });
    assert.equal(record.status, 'completed');
    // The same run as one whose file freezes the whole base: every metric (the penalty included) equal,
    // and not those of a run whose base trains.
    const withoutTime = (ms: EpochMetrics[]) => ms.map(({ time_s: _t, ...m }) => m);
    const explicit = await runFile('explicit-frozen', { freezeUpTo: 'flatten' }, {});
    assert.deepEqual(withoutTime(metrics), withoutTime(explicit.metrics));
    const training = await run('trainable', { fineTuneLearningRateMultiplier: 0.1 });
    assert.notDeepEqual(withoutTime(training.metrics), withoutTime(metrics));
    for (const w of [
      'conv1/kernel',
      'bn1/gamma',
      'bn1/moving_mean',
      'bn1/moving_variance',
      'conv2/kernel',
      'bn2/moving_mean',
      'bn2/moving_variance',
    ])
      assert.equal(bytes(after.get(w)), bytes(pretrained.get(w)), `${w} unchanged`);
    assert.notEqual(bytes(after.get('head_dense_1/kernel')), undefined);
    const fit = events.find(
      (e): e is Extract<TrainingEvent, { type: 'beforeFit' }> => e.type === 'beforeFit',
    )!;
    // Head only: flatten (96) → 8 → 3.
    assert.equal(fit.trainableParams, 96 * 8 + 8 + 8 * 3 + 3);
    const logs = events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.message : ''));
    assert.ok(
      logs.some((m) =>
        /have a learning rate of 0 \(fineTuneLearningRateMultiplier 0\): they are treated as frozen/.test(m),
      ),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((m) => /^Activation cache: activations of "flatten"/.test(m)),
      'the cache covers the whole base',
    );
  });

  it('a discriminative group at 0: that block frozen (its BN statistics unchanged), the rest trains', async () => {
    const { record, after, metrics } = await run('group-0', {
      fineTuneLearningRateMultiplier: 0.5,
      discriminativeLr: { mode: 'groups', groups: [{ layers: ['backbone/block1'], multiplier: 0 }] },
    });
    assert.equal(record.status, 'completed');
    for (const w of ['conv1/kernel', 'bn1/moving_mean', 'bn1/moving_variance'])
      assert.equal(bytes(after.get(w)), bytes(pretrained.get(w)), `${w} unchanged`);
    assert.notEqual(bytes(after.get('conv2/kernel')), bytes(pretrained.get('conv2/kernel')), 'conv2 trains');
    assert.notEqual(
      bytes(after.get('bn2/moving_mean')),
      bytes(pretrained.get('bn2/moving_mean')),
      'bn2 in training mode',
    );
    assert.ok(metrics.every((m) => m.reg_loss! > 0));
  });
});
