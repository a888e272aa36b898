/**
 * The learning-rate finder as the extension runs it: the bundled trainer (dist/trainer.js, built by
 * `npm run build`) in `--find-lr` mode, through the host's runLrFinder. Progress, the result, the shared
 * activation cache beside an untouched run store, cancelling, and errors.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { LrFinderCancelled, runLrFinder } from '../../src/host/lrFinderProcess';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

const trainerScript = path.resolve(__dirname, '../../../dist/trainer.js');
let root: string;

function experiment(name: string, settings: Record<string, unknown> = {}): string {
  return writeExperiment(root, name, {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [8, 8], validationSplit: 0.25, seed: 3 },
    freezeUpTo: 'backbone',
    head: { cutAt: 'flatten', hiddenUnits: [8] },
    training: { batchSize: 8, learningRate: 0.001, backend: 'cpu', seed: 5 },
    ...settings,
  });
}

before(async () => {
  assert.ok(fs.existsSync(trainerScript), 'run `npm run build` first (npm test does)');
  await tf.setBackend('cpu');
  root = tempDir('lrfinder-process');
  await saveNestedCnn(path.join(root, 'base'), 8, 4);
  await makeDataset(path.join(root, 'data'), 4, 16, 8, 2);
});

describe('learning-rate finder in the trainer process', { timeout: 120_000 }, () => {
  it('reports every step, answers with the sweep, and fills only the activation cache', async () => {
    const cacheDir = path.join(root, '.finetune', 'cache');
    const steps: number[] = [];
    const logs: string[] = [];
    const run = runLrFinder({
      trainerScript,
      experimentPath: experiment('sweep'),
      cacheDir,
      onProgress: (p) => steps.push(p.step),
      onLog: (_level, message) => logs.push(message),
    });
    const result = await run.result;
    assert.equal(result.backend, 'cpu');
    assert.equal(result.experimentName, 'sweep');
    assert.equal(result.currentLr, 0.001);
    assert.ok(result.points.length > 10);
    assert.deepEqual(
      steps,
      result.points.map((_, i) => i + 1),
    );
    assert.ok(result.suggestion > 0 && result.minLossLr > 0);
    assert.ok(
      // The frozen backbone, then the weightless Flatten after it (the same in training and inference).
      logs.some((l) => /Activation cache: activations of "flatten" \[24\]/.test(l)),
      `the frozen backbone was cached: ${logs.join('\n')}`,
    );
    // The run store beside the cache is untouched: no runs folder at all.
    assert.deepEqual(fs.readdirSync(path.join(root, '.finetune')), ['cache']);
    assert.ok(fs.readdirSync(cacheDir).length > 0);
  });

  it('cancels: the process stops after its current step, long before it would be killed', async () => {
    let cancelledAt = 0;
    const run = runLrFinder({
      trainerScript,
      experimentPath: experiment('cancelled'),
      onProgress: (p) => {
        if (p.step !== 2) return;
        cancelledAt = Date.now();
        run.cancel(60_000);
      },
    });
    await assert.rejects(run.result, (error: unknown) => error instanceof LrFinderCancelled);
    const took = Date.now() - cancelledAt;
    assert.ok(cancelledAt > 0 && took < 15_000, `exited ${took} ms after the cancel (the kill waits 60 s)`);
  });

  it("rejects with the trainer's explanation when the experiment is wrong", async () => {
    const run = runLrFinder({ trainerScript, experimentPath: path.join(root, 'missing.finetune.json') });
    await assert.rejects(run.result, /Experiment file not found/);
  });
});
