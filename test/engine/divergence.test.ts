/**
 * Divergence without NaN in a real run: learningRate 1e6 on a 3-class set saturates the softmax — the loss
 * sits near 10.7, far above ln 3, accuracy at chance. The run ends `failed` with "Training diverged: …;
 * lower training.learningRate", naming the learning-rate finder's suggestion when one is remembered for the
 * experiment, keeps the best epoch's model, and the advice on its curves says the same.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import { adviseFromCurves } from '../../src/core/advice/curveAdvice';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { writeLrFinderRecord } from '../../src/core/lrFinderRecord';
import { runExperiment } from '../../src/engine/runExperiment';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let root: string;

async function run(file: string, lrFinderDir?: string) {
  const outcome = await runExperiment({
    experimentPath: file,
    runsDir: path.join(root, 'runs'),
    onEvent: () => undefined,
    ...(lrFinderDir ? { lrFinderDir } : {}),
  });
  const record = JSON.parse(fs.readFileSync(path.join(outcome.runDir, 'run.json'), 'utf8')) as RunRecord;
  const metrics = fs
    .readFileSync(path.join(outcome.runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EpochMetrics);
  return { outcome, record, metrics };
}

describe('divergence that never becomes NaN, in a real run', () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('divergence');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
  });

  it('learningRate 1e6 ends failed, "Training diverged: …; lower training.learningRate", with the finder’s suggestion', async () => {
    const file = writeExperiment(root, 'huge-lr', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
      head: { cutAt: 'flatten', hiddenUnits: [8] },
      training: {
        epochs: 8,
        batchSize: 8,
        learningRate: 1000000,
        backend: 'cpu',
        seed: 5,
        earlyStopping: { monitor: 'val_loss', patience: 3, minDelta: 0, restoreBestWeights: true },
      },
    });
    const { outcome, record, metrics } = await run(file);
    assert.equal(outcome.status, 'failed', `ended ${outcome.status}: ${record.endReason}`);
    assert.equal(record.endReason, 'diverged');
    assert.ok(
      metrics.every((m) => Number.isFinite(m.loss)),
      'the loss never became NaN',
    );
    assert.ok(
      metrics.at(-1)!.loss > 3 * Math.log(3),
      `the loss sat far above ln 3: ${metrics.map((m) => m.loss)}`,
    );
    assert.match(
      record.error ?? '',
      /^Training diverged: the loss has stayed far above 1\.10, the loss of guessing among 3 classes, and is not falling .*; lower training\.learningRate \(now 1000000; Fine-Tune: Find Learning Rate suggests one\)\.$/,
    );
    assert.ok(metrics.length < 8 && metrics.length <= 3, `stopped early: ${metrics.length} epochs`);
    assert.equal(record.bestEpoch, 1, "the best epoch's model is kept");
    assert.ok(fs.existsSync(path.join(outcome.runDir, 'model', 'model.json')));

    // The advice on these curves says the same thing.
    const advice = adviseFromCurves({
      metrics,
      config: record.config,
      minImagesPerClass: 9,
      trainablePretrainedParams: 0,
      numClasses: 3,
    });
    assert.deepEqual(
      advice.map((a) => a.id),
      ['diverged'],
    );
    assert.equal(
      advice[0].evidence.toLowerCase(),
      `${record.error!.slice('Training diverged: '.length).split('; lower')[0]}.`.toLowerCase(),
    );

    // With the finder's answer remembered for this experiment (same model and data), the message names it.
    const lrFinderDir = path.join(root, 'lr-finder');
    writeLrFinderRecord(lrFinderDir, {
      experimentPath: file,
      config: record.config,
      datasetFingerprint: record.datasetFingerprint,
      suggestion: 0.0031,
      minLossLr: 0.02,
    });
    const again = await run(file, lrFinderDir);
    assert.match(
      again.record.error ?? '',
      /; lower training\.learningRate \(now 1000000; the learning-rate finder suggested 0\.0031 for this experiment\)\.$/,
    );
  });
});
