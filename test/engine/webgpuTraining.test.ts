/**
 * Fine-tuning on the webgpu backend (in CI: Mesa's llvmpipe through Dawn's OpenGL ES backend, a software
 * adapter — slow, so the models are tiny): the bundled sample through the real CLI against the wasm run
 * with the same seed, and every feature of a run — frozen BatchNormalization in inference mode, the graph
 * walk of nested models, the activation cache, augmentation, mixup/CutMix, gradual unfreezing, the LR
 * finder, the augmentation preview, predict, export, stop and resume — against the cpu backend.
 *
 * Tolerances. The backends compute the same functions in a different order (GPU reductions in parallel,
 * wasm's fused batch norm, shader exp/log), so results differ by float32 rounding, ~1e-7 relative per op.
 * Training feeds those differences back through every update, but for these small models they stay small:
 * the sample's 15 epochs measured ≤ 7e-7 relative on loss and val_loss, with identical accuracies. The
 * tests allow 1e-4 relative (two orders of margin for other CPUs and drivers) and at most one image
 * predicted differently (a borderline image can flip on rounding); a wrong kernel — a gradient off by a
 * sign, a missing term, BN in the wrong mode — moves the losses by ≥ 1e-2 within an epoch or two.
 * Cached and uncached runs on the same backend compute the same values (compared with that tolerance too).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { previewAugmentation } from '../../src/engine/data/augmentationPreview';
import { classifyImages } from '../../src/engine/export/classifyImages';
import { readRunModel } from '../../src/core/export/runModel';
import { findLearningRate } from '../../src/engine/lrFinder';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { readRun } from '../../src/core/runs/readRuns';
import { runExperiment, type RunOptions } from '../../src/engine/runExperiment';
import { CHECKPOINT_DIR } from '../../src/engine/training/checkpoint';
import type { BackendChoice } from '../../src/protocol/experimentConfig';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import { webgpuSkip } from '../helpers/webgpuAvailable';

const execFileAsync = promisify(execFile);
const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'dist', 'cli.js');
const RELATIVE = 1e-4;

let root: string;

interface Run {
  dir: string;
  record: RunRecord;
  metrics: EpochMetrics[];
}

function readFinished(dir: string): Run {
  const listing = readRun(dir);
  return { dir, record: listing.record as RunRecord, metrics: listing.metrics };
}

async function run(file: string, backend: BackendChoice, extra: Partial<RunOptions> = {}): Promise<Run> {
  const outcome = await runExperiment({
    experimentPath: file,
    runsDir: path.join(root, 'runs', backend),
    overrides: { backend },
    onEvent: () => {},
    ...extra,
  });
  return readFinished(outcome.runDir);
}

/** Per-epoch losses within RELATIVE, accuracies within one image, the same epochs. */
function assertCloseMetrics(
  actual: EpochMetrics[],
  expected: EpochMetrics[],
  counts: { train: number; val: number },
) {
  assert.equal(actual.length, expected.length, 'the same number of epochs (early stopping agrees)');
  actual.forEach((a, i) => {
    const e = expected[i];
    for (const key of ['loss', 'val_loss'] as const) {
      const error = Math.abs(a[key] - e[key]) / Math.max(Math.abs(e[key]), 1e-6);
      assert.ok(
        error <= RELATIVE,
        `epoch ${a.epoch} ${key}: ${a[key]} vs ${e[key]} (relative ${error.toExponential(2)})`,
      );
    }
    assert.ok(Math.abs(a.accuracy - e.accuracy) <= 1 / counts.train + 1e-9, `epoch ${a.epoch} accuracy`);
    assert.ok(
      Math.abs(a.val_accuracy - e.val_accuracy) <= 1 / counts.val + 1e-9,
      `epoch ${a.epoch} val_accuracy`,
    );
  });
}

/** Every weight of a saved model by its layer-relative name ("conv1/kernel", "bn1/moving_mean"), on cpu. */
async function weightsOf(modelJson: string): Promise<Map<string, Buffer>> {
  await tf.setBackend('cpu');
  const model = await tfl.loadLayersModel(fileLoadHandler(modelJson));
  const out = new Map<string, Buffer>();
  for (const w of model.weights) {
    const values = (await w.read().data()) as Float32Array;
    out.set(
      w.originalName.replace(/_\d+$/, '').split('/').slice(-2).join('/'),
      Buffer.from(values.buffer.slice(0)),
    );
  }
  model.dispose();
  return out;
}

describe('training on the webgpu backend', { skip: webgpuSkip, timeout: 15 * 60_000 }, () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('webgpu');
    await saveNestedCnn(path.join(root, 'base'), 16, 3);
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
    const selection = await initBackend('webgpu');
    assert.equal(selection.backend, 'webgpu');
    assert.ok(selection.adapter, 'webgpu runs on an adapter');
  });

  it('the sample fine-tune with `finetune train --backend webgpu` completes: frozen weights and BN statistics byte-identical to the base, metrics as on wasm with the same seed', async () => {
    assert.ok(fs.existsSync(cli), 'run `npm run build` first (npm test does)');
    const experiment = path.join(repo, 'samples', 'digits', 'digits-frozen-conv.finetune.json');
    const runsDir = path.join(root, 'sample');
    const train = async (backend: string): Promise<{ run: Run; seconds: number; stdout: string }> => {
      const started = Date.now();
      const { stdout } = await execFileAsync(
        process.execPath,
        [cli, 'train', experiment, '--backend', backend, '--runs-dir', path.join(runsDir, backend)],
        { cwd: root, maxBuffer: 16 << 20, timeout: 10 * 60_000 },
      );
      const [id] = fs.readdirSync(path.join(runsDir, backend));
      return {
        run: readFinished(path.join(runsDir, backend, id)),
        seconds: (Date.now() - started) / 1000,
        stdout,
      };
    };
    const wasm = await train('wasm');
    const webgpu = await train('webgpu');
    // How long the software adapter takes (the CI target is ≤ 3 min), for the test log.
    console.log(`sample fine-tune: webgpu ${webgpu.seconds.toFixed(0)} s, wasm ${wasm.seconds.toFixed(0)} s`);

    const record = webgpu.run.record;
    assert.equal(record.status, 'completed', record.error);
    assert.equal(record.backend, 'webgpu');
    assert.equal(record.requestedBackend, 'webgpu');
    assert.ok(record.adapter && record.adapter.device, 'run.json names the adapter');
    assert.match(webgpu.stdout, /GPU adapter: /, 'the CLI prints the adapter');
    if (record.adapter.software) {
      assert.ok(
        record.warnings.some((w) => /software adapter .*correct but slow, meant for testing/.test(w)),
        'a software adapter is said so in run.json',
      );
      assert.match(webgpu.stdout, /warning: webgpu runs on a software adapter/);
    }
    assertCloseMetrics(webgpu.run.metrics, wasm.run.metrics, record.counts);
    assert.equal(record.bestEpoch, wasm.run.record.bestEpoch);

    const base = await weightsOf(path.join(repo, 'samples', 'digits', 'models', 'base', 'model.json'));
    const trained = await weightsOf(path.join(webgpu.run.dir, 'model', 'model.json'));
    // freezeUpTo features/pool2: conv1, bn1, conv2, bn2 keep their weights and moving statistics.
    for (const layer of ['conv1', 'bn1', 'conv2', 'bn2']) {
      const names = [...base.keys()].filter((k) => k.startsWith(`${layer}/`));
      assert.ok(names.length >= 2, `${layer} has weights`);
      for (const name of names)
        assert.ok(trained.get(name)?.equals(base.get(name)!), `${name} byte-identical`);
    }
    assert.ok(!trained.get('conv3/kernel')?.equals(base.get('conv3/kernel')!), 'the trainable conv3 changed');
    await tf.setBackend('webgpu');
  });

  it('frozen BN in inference mode through the graph walk, with and without the activation cache', async () => {
    const file = writeExperiment(root, 'cache', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'flatten', hiddenUnits: [8] },
      // SGD, not Adam: conv2's bias feeds a trainable BN, so its gradient is zero up to rounding, and Adam
      // (which divides by the gradient's own scale) turns that rounding noise into full-size steps that
      // differ per backend; bn2's moving mean follows the bias, and val_loss with it (measured: 2e-4).
      training: { epochs: 3, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, seed: 5 },
    });
    const logs: string[] = [];
    const cached = await run(file, 'webgpu', {
      runsDir: path.join(root, 'runs', 'cached'),
      pipeline: { cacheDir: path.join(root, 'cache') },
      onEvent: (e) => void (e.type === 'log' && logs.push(e.message)),
    });
    assert.ok(
      logs.some((l) => /activation cache/i.test(l) && /computed|reused/.test(l)),
      logs.join('\n'),
    );
    const uncached = await run(file, 'webgpu', {
      runsDir: path.join(root, 'runs', 'uncached'),
      pipeline: { activationCache: false },
    });
    const onCpu = await run(file, 'cpu');
    for (const r of [cached, uncached]) assert.equal(r.record.status, 'completed', r.record.error);
    assertCloseMetrics(cached.metrics, uncached.metrics, cached.record.counts);
    assertCloseMetrics(uncached.metrics, onCpu.metrics, cached.record.counts);
    const base = await weightsOf(path.join(root, 'base', 'model.json'));
    for (const r of [cached, uncached]) {
      const after = await weightsOf(path.join(r.dir, 'model', 'model.json'));
      for (const name of ['conv1/kernel', 'bn1/moving_mean', 'bn1/moving_variance', 'bn1/gamma'])
        assert.ok(after.get(name)?.equals(base.get(name)!), `${name} byte-identical`);
      assert.ok(!after.get('bn2/moving_mean')?.equals(base.get('bn2/moving_mean')!), 'trainable BN updated');
    }
    await tf.setBackend('webgpu');
  });

  it('augmentation, mixup, CutMix, label smoothing and gradual unfreezing train as on cpu', async () => {
    const file = writeExperiment(root, 'techniques', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
      head: { cutAt: 'flatten', hiddenUnits: [8], dropout: 0.2 },
      augmentation: {
        flipHorizontal: true,
        rotation: 10,
        zoom: 0.1,
        translate: 0.1,
        brightness: 0.1,
        contrast: 0.1,
      },
      training: {
        epochs: 4,
        batchSize: 6,
        learningRate: 0.01,
        seed: 7,
        mixup: 0.4,
        cutmix: 0.4,
        labelSmoothing: 0.1,
        gradualUnfreezing: { headEpochs: 1, everyEpochs: 1, blocks: 'auto' },
        earlyStopping: false,
      },
    });
    const phases: number[] = [];
    const webgpu = await run(file, 'webgpu', {
      onEvent: (e) => void (e.type === 'phase' && phases.push(e.phase)),
    });
    const cpu = await run(file, 'cpu');
    assert.equal(webgpu.record.status, 'completed', webgpu.record.error);
    assert.ok(phases.length >= 2 && phases[0] === 0, `gradual unfreezing went through phases ${phases}`);
    assertCloseMetrics(webgpu.metrics, cpu.metrics, webgpu.record.counts);
    await tf.setBackend('webgpu');
  });

  it('the LR finder and the augmentation preview give the cpu results', async () => {
    const file = writeExperiment(root, 'finder', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
      head: { cutAt: 'flatten', hiddenUnits: [8] },
      augmentation: { rotation: 15, brightness: 0.2 },
      training: { batchSize: 6, seed: 2 },
    });
    const sweep = (backend: BackendChoice) =>
      findLearningRate({ experimentPath: file, backend, steps: 12, startLr: 1e-4, endLr: 1 });
    const onGpu = await sweep('webgpu');
    const onCpu = await sweep('cpu');
    assert.equal(onGpu.backend, 'webgpu');
    assert.equal(onGpu.points.length, onCpu.points.length);
    onGpu.points.forEach((p, i) => {
      const error = Math.abs(p.loss - onCpu.points[i].loss) / Math.abs(onCpu.points[i].loss);
      assert.ok(error <= RELATIVE, `step ${i + 1}: loss ${p.loss} vs ${onCpu.points[i].loss}`);
    });
    assert.equal(onGpu.suggestion, onCpu.suggestion);

    const previews: string[][] = [];
    for (const backend of ['webgpu', 'cpu'] as const) {
      await initBackend(backend);
      const images = await previewAugmentation({ experimentPath: file, count: 4, seed: 3 });
      assert.equal(images.length, 4);
      previews.push(images.map((i) => i.augmented));
    }
    // PNGs of 8-bit pixels: rounding of float differences may flip a pixel value by one, rarely.
    const differing = previews[0].filter((png, i) => png !== previews[1][i]).length;
    assert.ok(differing <= 1, `${differing} of 4 augmented previews differ between webgpu and cpu`);
    await initBackend('webgpu');
  });

  it('stop and resume on webgpu end exactly where an uninterrupted webgpu run does; predict and export use its model', async () => {
    const file = writeExperiment(root, 'resume', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 2 },
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'flatten', hiddenUnits: [8], dropout: 0.3 },
      augmentation: { flipHorizontal: true, rotation: 10 },
      training: { epochs: 4, batchSize: 6, learningRate: 0.01, seed: 9, mixup: 0.2, earlyStopping: false },
    });
    const reference = await run(file, 'webgpu', { runsDir: path.join(root, 'runs', 'reference') });
    const controller = new AbortController();
    const stopped = await run(file, 'webgpu', {
      runsDir: path.join(root, 'runs', 'stopped'),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'afterBatch' && e.epoch === 3 && e.batch === 2) controller.abort();
      },
    });
    assert.equal(stopped.record.status, 'stopped');
    assert.ok(fs.existsSync(path.join(stopped.dir, CHECKPOINT_DIR, 'state.json')));
    const resumed = await runExperiment({
      experimentPath: 'ignored when resuming',
      runsDir: path.join(root, 'runs', 'elsewhere'),
      resume: stopped.dir,
      onEvent: () => {},
    });
    const result = readFinished(resumed.runDir);
    assert.equal(result.record.status, 'completed', result.record.error);
    assert.equal(result.record.backend, 'webgpu', 'a resumed run stays on its backend');
    assert.deepEqual(
      result.metrics.map(({ time_s: _t, ...m }) => m),
      reference.metrics.map(({ time_s: _t, ...m }) => m),
      'the same metrics as the uninterrupted webgpu run',
    );

    // predict on webgpu gives the cpu's classes; export needs no backend and copies the model.
    const images = fs
      .readdirSync(path.join(root, 'data', 'class_a'))
      .slice(0, 3)
      .map((f) => path.join(root, 'data', 'class_a', f));
    const model = readRunModel(resumed.runDir);
    const classify = async (backend: BackendChoice) => {
      await initBackend(backend);
      return (await classifyImages(model, images)).map((p) =>
        p.predictions?.map((t) => [t.className, t.probability] as [string, number]),
      );
    };
    const onGpu = await classify('webgpu');
    const onCpu = await classify('cpu');
    onGpu.forEach((top, i) => {
      assert.deepEqual(
        top?.map((t) => t[0]),
        onCpu[i]?.map((t) => t[0]),
        `image ${i}: the same classes`,
      );
      top?.forEach((t, k) => assert.ok(Math.abs(t[1] - onCpu[i]![k][1]) < 1e-5, `image ${i}: probabilities`));
    });
    const exported = path.join(root, 'exported');
    const { stdout } = await execFileAsync(process.execPath, [cli, 'export', resumed.runDir, exported], {
      cwd: root,
    });
    assert.match(stdout, /exported/i);
    assert.ok(
      fs.existsSync(path.join(exported, 'model.json')) && fs.existsSync(path.join(exported, 'labels.json')),
    );
    await initBackend('webgpu');
  });
});
