/**
 * A head-only run's checkpoints (checkpointFiles.ts): the frozen backbone is written once, each later
 * epoch writes only what changed, and a run stopped and resumed from such a checkpoint ends exactly like
 * one that was never interrupted.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { atomicDirSaveHandler, fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { readRun } from '../../src/core/runs/readRuns';
import { seedMathRandom } from '../../src/core/rng';
import { runExperiment } from '../../src/engine/runExperiment';
import { CHECKPOINT_DIR } from '../../src/engine/training/checkpoint';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { tempDir } from '../helpers/fixtureModels';

const EPOCHS = 5;

/** A backbone much larger than its head: two 3×3 convolutions (~5k weights), pooling, a 3-class Dense. */
async function saveWideBackbone(dir: string): Promise<void> {
  const restore = seedMathRandom('fixture:wide');
  try {
    const input = tfl.input({ shape: [12, 12, 3], name: 'pixels' });
    let x = tfl.layers
      .conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_a' })
      .apply(input) as tfl.SymbolicTensor;
    x = tfl.layers
      .conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_b' })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ units: 3, activation: 'softmax', name: 'out' })
      .apply(x) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: out });
    await model.save(atomicDirSaveHandler(dir));
    model.dispose();
  } finally {
    restore();
  }
}

async function bestWeights(runDir: string): Promise<number[][]> {
  const model = await tfl.loadLayersModel(fileLoadHandler(path.join(runDir, 'model', 'model.json')));
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  model.dispose();
  return weights;
}

const metricsOf = (runDir: string): unknown[] =>
  readRun(runDir).metrics.map(({ time_s: _t, ...rest }) => rest);

describe('head-only checkpoints', () => {
  let root: string;
  let experimentFile: string;

  before(async () => {
    await initBackend('cpu');
    root = tempDir('head-ckpt');
    await saveWideBackbone(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 3, 10, 12);
    experimentFile = writeExperiment(root, 'head-ckpt', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [12, 12], validationSplit: 0.25, seed: 3 },
      freezeUpTo: 'pool',
      head: { cutAt: 'pool', hiddenUnits: [], dropout: 0.2 },
      training: { epochs: EPOCHS, batchSize: 4, learningRate: 0.01, backend: 'cpu', seed: 4 },
    });
  });

  it('write the backbone once, and a stopped run resumed from them ends like an uninterrupted one', async () => {
    const reference = await runExperiment({
      experimentPath: experimentFile,
      runsDir: path.join(root, 'reference'),
      onEvent: () => {},
    });
    assert.equal(reference.status, 'completed');

    const controller = new AbortController();
    let runDir = '';
    const files: string[][] = [];
    const sizes: number[][] = [];
    // The checkpoint of the epoch before, as the next epoch begins.
    const look = (): void => {
      const dir = path.join(runDir, CHECKPOINT_DIR);
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as {
        tensorsFiles: string[];
      };
      files.push(state.tensorsFiles);
      sizes.push(state.tensorsFiles.map((f) => fs.statSync(path.join(dir, f)).size));
    };
    const stopped = await runExperiment({
      experimentPath: experimentFile,
      runsDir: path.join(root, 'stopped'),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'beforeFit') runDir = e.runDir;
        if (e.type === 'beforeEpoch' && e.epoch > 1) look();
        if (e.type === 'afterEpoch' && e.metrics.epoch === 3) controller.abort();
      },
    });
    assert.equal(stopped.status, 'stopped', stopped.error);
    if (files.length < 3) look(); // the stop came before epoch 4 began
    assert.equal(files.length, 3, 'checkpoints of epochs 1–3');
    assert.equal(files[0].length, 1, 'the first checkpoint is one file');
    for (const i of [1, 2]) {
      assert.equal(files[i].length, 2, `epoch ${i + 1}: the backbone named, the rest written`);
      assert.equal(files[i][0], files[0][0], `epoch ${i + 1}: the backbone stays where it is`);
      assert.ok(sizes[i][1] * 5 < sizes[0][0], `epoch ${i + 1}: ${sizes[i][1]} B against ${sizes[0][0]} B`);
    }

    const resumed = await runExperiment({
      experimentPath: '',
      runsDir: root,
      resume: stopped.runDir,
      onEvent: () => {},
    });
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(metricsOf(resumed.runDir), metricsOf(reference.runDir), 'every epoch’s metrics');
    assert.deepEqual(await bestWeights(resumed.runDir), await bestWeights(reference.runDir));
  });
});
