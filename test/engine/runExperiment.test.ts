/**
 * Real fine-tuning runs of a tiny nested CNN on a generated dataset (cpu backend, a few seconds each),
 * checking what each technique promises by looking at the weights and files it leaves behind.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { EpochMetrics, RunRecord, RunSummary } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { decodeImages } from '../../src/engine/data/decodeImages';
import { scanDataset } from '../../src/core/data/scanDataset';
import { splitDataset } from '../../src/core/data/splitDataset';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment, type RunOptions } from '../../src/engine/runExperiment';
import { UserError } from '../../src/core/userError';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import { initBackend } from '../../src/engine/backend/selectBackend';

let root: string;
const base = {
  baseModel: 'base/model.json',
  dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
  head: { cutAt: 'flatten', hiddenUnits: [8] },
  training: { epochs: 3, batchSize: 8, learningRate: 0.01, backend: 'cpu', seed: 5 },
};

function experiment(
  name: string,
  patch: (e: typeof base & Record<string, unknown>) => void = () => {},
): string {
  const doc = structuredClone(base) as typeof base & Record<string, unknown>;
  patch(doc);
  return writeExperiment(root, name, doc);
}

async function run(
  file: string,
  extra: Partial<RunOptions> = {},
): Promise<{ events: TrainingEvent[]; dir: string; record: RunRecord; metrics: EpochMetrics[] }> {
  const events: TrainingEvent[] = [];
  const outcome = await runExperiment({
    experimentPath: file,
    runsDir: path.join(root, 'runs'),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  const record = JSON.parse(fs.readFileSync(path.join(outcome.runDir, 'run.json'), 'utf8')) as RunRecord;
  const metrics = fs
    .readFileSync(path.join(outcome.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EpochMetrics);
  return { events, dir: outcome.runDir, record, metrics };
}

async function loadWeights(modelJson: string): Promise<Map<string, Float32Array>> {
  const model = await tfl.loadLayersModel(fileLoadHandler(modelJson));
  const out = new Map<string, Float32Array>();
  for (const w of model.weights)
    out.set(w.originalName.replace(/_\d+$/, ''), w.read().dataSync() as Float32Array);
  model.dispose();
  return out;
}

/** Pre-trained weights of the nested base, by the short names the flat saved model uses (conv1/kernel…). */
async function pretrained(): Promise<Map<string, Float32Array>> {
  const weights = await loadWeights(path.join(root, 'base', 'model.json'));
  return new Map([...weights].map(([k, v]) => [k.split('/').slice(-2).join('/'), v]));
}

function same(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  assert.ok(a && b, 'weight present');
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

describe('runExperiment on the cpu backend', () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('run');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
  });

  it('frozen weights stay byte-identical, frozen BN statistics unchanged, trainable layers change', async () => {
    const file = experiment('freeze', (e) => Object.assign(e, { freezeUpTo: 'backbone/block1' }));
    const { record, metrics, dir } = await run(file);
    assert.equal(record.status, 'completed');
    assert.equal(metrics.length, 3);
    const before = await pretrained();
    const after = await loadWeights(path.join(dir, 'model', 'model.json'));
    assert.ok(same(before.get('conv1/kernel'), after.get('conv1/kernel')), 'frozen conv1 kernel unchanged');
    assert.ok(
      same(before.get('bn1/moving_mean'), after.get('bn1/moving_mean')),
      'frozen BN moving mean unchanged',
    );
    assert.ok(
      same(before.get('bn1/moving_variance'), after.get('bn1/moving_variance')),
      'frozen BN moving variance unchanged',
    );
    assert.ok(!same(before.get('conv2/kernel'), after.get('conv2/kernel')), 'trainable conv2 changed');
    assert.ok(
      !same(before.get('bn2/moving_mean'), after.get('bn2/moving_mean')),
      'trainable BN statistics updated',
    );
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'model', 'labels.json'), 'utf8')), [
      'class_a',
      'class_b',
      'class_c',
    ]);
    for (const m of metrics) {
      for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', 'time_s', 'gap'] as const)
        assert.equal(typeof m[key], 'number', key);
      assert.equal(m.lr_base, 0.01 * 0.1, 'pre-trained layers train at lr × fineTuneLearningRateMultiplier');
    }
  });

  it('the saved model is the best epoch: its val_loss matches run.json within 1e-5', async () => {
    const file = experiment('restore', (e) =>
      Object.assign(e.training, {
        epochs: 8,
        learningRate: 0.05,
        earlyStopping: { monitor: 'val_loss', patience: 10, restoreBestWeights: true },
      }),
    );
    const { record, metrics, dir } = await run(file);
    assert.ok(
      record.bestEpoch! < metrics.length,
      `best epoch ${record.bestEpoch} must not be the last (${metrics.length}) for this test to mean something`,
    );
    const best = metrics.find((m) => m.epoch === record.bestEpoch)!;
    // Recompute the validation loss of the saved model independently of the engine's evaluation code.
    const scan = await scanDataset(path.join(root, 'data'));
    const { val } = splitDataset(scan, 0.25, 3);
    const decoded = await decodeImages(val, { imageSize: [16, 16], channels: 3, pixelRange: [0, 1] });
    const model = await tfl.loadLayersModel(fileLoadHandler(path.join(dir, 'model', 'model.json')));
    const probs = model.predict(tf.tensor4d(decoded.data, [decoded.images.length, 16, 16, 3])) as tf.Tensor2D;
    const labels = tf.oneHot(
      tf.tensor1d(
        decoded.images.map((r) => r.classIndex),
        'int32',
      ),
      3,
    );
    const loss = tf
      .mean(tf.neg(tf.sum(tf.mul(labels, tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7))), -1)))
      .dataSync()[0];
    assert.ok(
      Math.abs(loss - best.val_loss) < 1e-5,
      `saved model val_loss ${loss} vs best epoch ${best.val_loss}`,
    );
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(summary.epoch, record.bestEpoch);
    assert.ok(Math.abs(summary.val_loss - best.val_loss) < 1e-5);
    assert.equal(
      summary.confusion.flat().reduce((a, b) => a + b, 0),
      decoded.images.length,
    );
    assert.equal(summary.validationCount, decoded.images.length, 'every validation image evaluated');
    assert.equal(
      summary.misclassified.length,
      decoded.images.length - summary.confusion.reduce((n, row, i) => n + row[i], 0),
    );
  });

  it('L2-SP keeps fine-tuned weights closer to the pre-trained ones', async () => {
    const distance = async (alpha: number): Promise<number> => {
      const file = experiment(`l2sp-${alpha}`, (e) => {
        Object.assign(e, { regularization: { l2sp: alpha } });
        Object.assign(e.training, { epochs: 2, earlyStopping: false, fineTuneLearningRateMultiplier: 1 });
      });
      const { dir } = await run(file);
      const before = await pretrained();
      const after = await loadWeights(path.join(dir, 'model', 'model.json'));
      let sum = 0;
      for (const name of ['conv1/kernel', 'conv2/kernel']) {
        const a = before.get(name)!;
        const b = after.get(name)!;
        for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
      }
      return Math.sqrt(sum);
    };
    const free = await distance(0);
    const anchored = await distance(5);
    assert.ok(anchored < free * 0.8, `with L2-SP ${anchored} vs without ${free}`);
  });

  it('the same seed on the same backend gives the same metrics', async () => {
    const file = experiment('seeded', (e) =>
      Object.assign(e, {
        augmentation: { flipHorizontal: true, rotation: 10 },
        head: { cutAt: 'flatten', hiddenUnits: [8], dropout: 0.3 },
      }),
    );
    const strip = (ms: EpochMetrics[]): unknown[] => ms.map(({ time_s: _t, ...rest }) => rest);
    const a = await run(file);
    const b = await run(file);
    assert.deepEqual(strip(a.metrics), strip(b.metrics));
    assert.equal(a.record.datasetFingerprint, b.record.datasetFingerprint);
    assert.notEqual(a.record.id, b.record.id);
  });

  it('stop ends the run after the current batch, status stopped, a loadable model kept', async () => {
    const controller = new AbortController();
    const file = experiment('stop', (e) => Object.assign(e.training, { epochs: 5 }));
    let batches = 0;
    const { record, dir } = await run(file, {
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'afterBatch' && ++batches === 6) controller.abort();
      },
    });
    assert.equal(record.status, 'stopped');
    assert.ok(record.epochsCompleted >= 1 && record.epochsCompleted < 5);
    assert.equal(batches, 6, 'no batch ran after the stop');
    const model = await tfl.loadLayersModel(fileLoadHandler(path.join(dir, 'model', 'model.json')));
    assert.deepEqual(model.outputs[0].shape, [null, 3]);
    // This validation set takes well under the stop's evaluation budget: the summary covers all of it.
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary;
    assert.equal(summary.predictions.length, summary.validationCount);
    assert.ok(summary.validationCount! > 0);
  });

  it('a diverging run fails with a message that says so', async () => {
    const file = experiment('diverge', (e) =>
      Object.assign(e.training, { optimizer: 'sgd', momentum: 0, learningRate: 1e30 }),
    );
    const { record } = await run(file);
    assert.equal(record.status, 'failed');
    assert.match(record.error ?? '', /diverged/);
  });

  it('early stopping ends the run at the right epoch', async () => {
    const file = experiment('early', (e) =>
      Object.assign(e.training, {
        epochs: 12,
        learningRate: 0.05,
        earlyStopping: { monitor: 'val_loss', patience: 2, restoreBestWeights: true },
      }),
    );
    const { record, metrics } = await run(file);
    const last = metrics[metrics.length - 1].epoch;
    assert.ok(last < 12, 'stopped early');
    assert.equal(last, record.bestEpoch! + 2, 'stopped exactly `patience` epochs after the best');
    assert.match(record.endReason ?? '', /early stopping/);
  });

  it('on wasm, head-only and convolution training both stay on wasm; a genuinely missing kernel still falls back to cpu and says so', async () => {
    const headOnly = await run(
      experiment('wasm-head', (e) => {
        Object.assign(e, { freezeUpTo: 'backbone' });
        Object.assign(e.training, { backend: 'wasm', epochs: 1 });
      }),
    );
    assert.equal(headOnly.record.backend, 'wasm');
    assert.equal(headOnly.record.status, 'completed');

    // Trainable convolutions now train on wasm too: our kernels supply the gradients it lacks.
    const convs = await run(
      experiment('wasm-conv', (e) => Object.assign(e.training, { backend: 'wasm', epochs: 1 })),
    );
    assert.equal(convs.record.backend, 'wasm');
    assert.equal(convs.record.backendNote, undefined);
    assert.ok(!convs.events.some((e) => e.type === 'log' && /falling back/.test(e.message)), 'no fallback');
    assert.equal(convs.record.status, 'completed');
    const trained = await loadWeights(path.join(convs.dir, 'model', 'model.json'));
    const before = await pretrained();
    assert.ok(
      !same(trained.get('conv1/kernel'), before.get('conv1/kernel')),
      'the first convolution trained on wasm',
    );

    // A kernel the backend genuinely lacks still means the cpu fallback: take away wasm's own
    // Conv2DBackpropInput (needed because gradients flow through conv2 into the trainable conv1).
    const own = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    let fallback: Awaited<ReturnType<typeof run>>;
    try {
      fallback = await run(
        experiment('wasm-missing', (e) => Object.assign(e.training, { backend: 'wasm', epochs: 1 })),
      );
    } finally {
      tf.registerKernel(own);
    }
    assert.equal(fallback.record.backend, 'cpu');
    assert.equal(fallback.record.requestedBackend, 'wasm');
    assert.match(
      fallback.record.backendNote ?? '',
      /wasm backend lacks Conv2DBackpropInput.*falling back to the cpu backend/,
    );
    assert.ok(
      fallback.events.some((e) => e.type === 'log' && e.level === 'warn' && /falling back/.test(e.message)),
      'said in the run log',
    );
    assert.equal(fallback.record.status, 'completed');
  });

  it('bad input fails before any run folder is created, naming the problem', async () => {
    const runsDir = path.join(root, 'bad-runs');
    const attempt = (file: string): Promise<unknown> =>
      runExperiment({ experimentPath: file, runsDir, onEvent: () => {} });
    await assert.rejects(
      attempt(experiment('nodata', (e) => Object.assign(e.dataset, { path: 'missing' }))),
      (e) => e instanceof UserError && /missing/.test(e.message),
    );
    await assert.rejects(
      attempt(experiment('badlayer', (e) => Object.assign(e, { freezeUpTo: 'conv9' }))),
      (e) => e instanceof UserError && /conv9/.test(e.message),
    );
    const noWeights = path.join(root, 'noweights');
    fs.mkdirSync(noWeights, { recursive: true });
    fs.copyFileSync(path.join(root, 'base', 'model.json'), path.join(noWeights, 'model.json'));
    await assert.rejects(
      attempt(experiment('noweights', (e) => Object.assign(e, { baseModel: 'noweights/model.json' }))),
      (e) => e instanceof UserError && /weight file .* is missing/i.test(e.message),
    );
    assert.equal(fs.existsSync(runsDir), false, 'no run folder for bad input');
  });
});
