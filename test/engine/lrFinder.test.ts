/**
 * The learning-rate finder on a real (tiny) problem: the nested fixture CNN on a generated dataset, cpu
 * backend. What it promises: the suggestion lies where the loss falls steeply, the sweep stops when the
 * loss blows up, every learning-rate group follows the sweep, and nothing is written to the run store.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { LrFinderResult } from '../../src/protocol/lrFinder';
import { findLearningRate } from '../../src/engine/lrFinder';
import { prepareRun } from '../../src/engine/prepareRun';
import { LearningRateGroups } from '../../src/engine/training/learningRateGroups';
import { crossEntropy } from '../../src/engine/training/evaluate';
import { UserError } from '../../src/core/userError';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let root: string;
const base = {
  baseModel: 'base/model.json',
  dataset: { path: 'data', imageSize: [8, 8], validationSplit: 0.25, seed: 3 },
  head: { cutAt: 'flatten', hiddenUnits: [8] },
  training: { epochs: 3, batchSize: 8, learningRate: 0.01, backend: 'cpu', seed: 5 },
};

function experiment(name: string, patch: (e: Record<string, unknown>) => void = () => {}): string {
  const doc = structuredClone(base) as typeof base & Record<string, unknown>;
  patch(doc);
  return writeExperiment(root, name, doc);
}

/** Every file and folder under `dir`, relative, sorted. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

before(async () => {
  await tf.setBackend('cpu');
  root = tempDir('lrfinder');
  // 8×8 images keep the 100-step sweep of the whole CNN to a few seconds on the cpu backend.
  await saveNestedCnn(path.join(root, 'base'), 8, 4);
  // 4 classes × 16 images; 25% validation leaves 48 training images, 6 batches of 8 per pass.
  await makeDataset(path.join(root, 'data'), 4, 16, 8, 2);
});

describe('learning-rate finder', () => {
  let result: LrFinderResult;
  let progress: [number, number, number, number][];

  before(async () => {
    const file = experiment('sweep');
    const before = listing(root);
    progress = [];
    result = await findLearningRate({
      experimentPath: file,
      onProgress: (step, steps, lr, loss) => progress.push([step, steps, lr, loss]),
    });
    // The run store is untouched: no runs folder, no cache, nothing new at all.
    assert.deepEqual(listing(root), before);
  });

  it('sweeps exponentially from 1e-7 and reports each step', () => {
    assert.equal(result.backend, 'cpu');
    assert.equal(result.steps, 100);
    assert.equal(result.points[0].lr, 1e-7);
    const ratio = 10 ** (8 / 99);
    for (let i = 1; i < result.points.length; i++)
      assert.ok(Math.abs(result.points[i].lr / result.points[i - 1].lr - ratio) < 1e-9);
    assert.equal(progress.length, result.points.length);
    assert.deepEqual(
      progress.map(([step]) => step),
      result.points.map((_, i) => i + 1),
    );
    assert.ok(progress.every(([, steps]) => steps === 100));
    assert.ok(result.points.every((p) => Number.isFinite(p.loss) && Number.isFinite(p.smoothed)));
    assert.equal(result.experimentName, 'sweep');
    assert.equal(result.currentLr, 0.01);
  });

  it('follows the stop rule: it ran on while the smoothed loss stayed within 4× its minimum', () => {
    const within = (i: number): boolean =>
      result.points[i].smoothed <= 4 * Math.min(...result.points.slice(0, i + 1).map((q) => q.smoothed));
    const last = result.points.length - 1;
    for (let i = 0; i < last; i++) assert.ok(within(i), `step ${i + 1} was within the limit`);
    if (result.stoppedEarly) assert.ok(!within(last));
    else assert.equal(result.points.length, 100);
  });

  it('suggests a rate in the steep-descent region of the smoothed loss', () => {
    const points = result.points;
    // Where the loss starts from: its mean over the first tenth of the sweep (the first values are noisy).
    const start = points.slice(0, 10).reduce((sum, p) => sum + p.smoothed, 0) / 10;
    const minIndex = points.findIndex((p) => p.smoothed === Math.min(...points.map((q) => q.smoothed)));
    const fallen = points.findIndex((p) => p.smoothed < 0.9 * start);
    assert.ok(fallen > 0 && fallen < minIndex, 'the loss fell by 10% before its minimum');
    assert.equal(result.minLossLr, points[minIndex].lr);
    assert.ok(
      result.suggestion >= points[fallen].lr && result.suggestion <= points[minIndex].lr,
      `suggestion ${result.suggestion} within [${points[fallen].lr}, ${points[minIndex].lr}]`,
    );
    // It is a real descent: the loss keeps falling well past the suggestion.
    const at = points.findIndex((p) => p.lr === result.suggestion);
    assert.ok(points[minIndex].smoothed < 0.8 * points[at].smoothed);
    assert.equal(result.note, undefined);
  });

  it('runs the whole sweep when the loss does not blow up', async () => {
    const short = await findLearningRate({
      experimentPath: experiment('gentle'),
      startLr: 1e-6,
      endLr: 1e-4,
      steps: 12,
    });
    assert.equal(short.stoppedEarly, false);
    assert.equal(short.points.length, 12);
    assert.ok(Math.abs(short.points[11].lr - 1e-4) < 1e-12);
  });

  it('stops early when the smoothed loss exceeds 4× its minimum', async () => {
    const wild = await findLearningRate({
      experimentPath: experiment('wild', (e) => {
        (e.training as Record<string, unknown>).optimizer = 'sgd';
      }),
      startLr: 1,
      endLr: 1e6,
      steps: 50,
    });
    assert.equal(wild.stoppedEarly, true);
    assert.ok(wild.points.length < 20, `${wild.points.length} steps`);
    const last = wild.points[wild.points.length - 1];
    assert.ok(
      Number.isFinite(last.loss) && last.smoothed > 4 * Math.min(...wild.points.map((p) => p.smoothed)),
    );
  });

  it('stops early when the loss is no longer finite, and keeps only the finite steps', async () => {
    const reported: number[] = [];
    const nan = await findLearningRate({
      experimentPath: experiment('nan', (e) => {
        (e.training as Record<string, unknown>).optimizer = 'sgd';
      }),
      // The first step's update makes the weights infinite: the second loss is NaN.
      startLr: 1e20,
      endLr: 1e30,
      steps: 30,
      onProgress: (step) => reported.push(step),
    });
    assert.equal(nan.stoppedEarly, true);
    assert.equal(nan.points.length, 1);
    assert.deepEqual(reported, [1]);
    assert.ok(Number.isFinite(nan.points[0].loss));
    assert.match(nan.note ?? '', /Only 1 step before/);
  });

  it('says so when the loss is not finite from the first step', async () => {
    const broken = experiment('broken', (e) => {
      // Pixels near float32's limit: the first convolution overflows, and the loss is NaN.
      (e.dataset as Record<string, unknown>).pixelRange = [-3e38, 3e38];
    });
    await assert.rejects(
      findLearningRate({ experimentPath: broken, steps: 10 }),
      (error: unknown) =>
        error instanceof UserError && /from the first step of the sweep/.test(error.message),
    );
  });

  it('writes only the activation cache, where it is told, and still no runs folder', async () => {
    const file = experiment('frozen', (e) => {
      e.freezeUpTo = 'backbone';
    });
    const cacheDir = path.join(root, '.finetune', 'cache');
    const cached = await findLearningRate({ experimentPath: file, cacheDir, steps: 20 });
    assert.ok(cached.points.length > 0);
    assert.ok(fs.readdirSync(cacheDir).length > 0, 'the activation cache was saved for later runs');
    assert.deepEqual(fs.readdirSync(path.join(root, '.finetune')), ['cache']);
  });

  it('stops when aborted, and rejects', async () => {
    const abort = new AbortController();
    await assert.rejects(
      findLearningRate({
        experimentPath: experiment('aborted'),
        signal: abort.signal,
        onProgress: (step) => {
          if (step === 3) abort.abort();
        },
      }),
      (error: Error) => error.name === 'AbortError',
    );
  });

  it('refuses a backwards range before preparing anything', async () => {
    await assert.rejects(
      findLearningRate({ experimentPath: experiment('backwards'), startLr: 1, endLr: 1e-3 }),
      (error: unknown) => error instanceof UserError && /0 < start < end/.test(error.message),
    );
  });
});

describe('the sweep moves every learning-rate group', () => {
  it('head and pre-trained layers step by the head rate and by its multiplier', async () => {
    const file = experiment('groups', (e) => {
      (e.training as Record<string, unknown>).fineTuneLearningRateMultiplier = 0.1;
    });
    const prepared = await prepareRun(file, undefined, () => {});
    const { model } = prepared;
    const rates = new LearningRateGroups(model, prepared.config);
    const before = new Map(rates.variables().map((v) => [v, v.dataSync().slice()]));
    rates.setHeadLearningRate(1e-3);
    const x = tf.randomUniform([8, 8, 8, 3], 0, 1, 'float32', 1);
    const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4), 'float32');
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(model.forward(x, true), y),
      rates.variables(),
    );
    rates.apply(grads);
    // Adam's first step moves each weight by about its learning rate (m̂ / √v̂ = ±1).
    const largestStep = (v: tf.Variable): number => {
      const old = before.get(v)!;
      const now = v.dataSync();
      let most = 0;
      for (let i = 0; i < now.length; i++) most = Math.max(most, Math.abs(now[i] - old[i]));
      return most;
    };
    const head = model.headVariables.find((v) => v.name.includes('kernel'))!;
    const conv = model.baseVariables.find((v) => /conv1.*kernel/.test(v.name))!;
    assert.ok(head && conv, 'a head kernel and a pre-trained conv kernel');
    assert.ok(Math.abs(largestStep(head) - 1e-3) < 1e-5, `head step ${largestStep(head)}`);
    assert.ok(Math.abs(largestStep(conv) - 1e-4) < 1e-6, `pre-trained step ${largestStep(conv)}`);
    assert.ok(Math.abs(rates.headLearningRate - 1e-3) < 1e-15);
    tf.dispose([x, y, value, ...Object.values(grads)]);
    rates.dispose();
    model.dispose();
  });
});
