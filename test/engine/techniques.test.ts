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
import { PlateauScheduler, scheduledLearningRate } from '../../src/core/portable/lrSchedule';
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
      const progress = e.epoch - 1 + (e.batch - 1) / e.batches;
      const expected = scheduledLearningRate(schedule, 0.01, progress, 3, 1 / e.batches);
      assert.ok(
        Math.abs(e.lr! - expected) < 1e-12,
        `epoch ${e.epoch} batch ${e.batch}: ${e.lr} vs ${expected}`,
      );
    }
    // Warm-up starts low but above 0 (each step gets the rate of its end), and reaches the peak.
    const perEpoch = batches[0].batches;
    assert.ok(batches[0].lr! > 0, `the first batch trains: lr ${batches[0].lr}`);
    assert.ok(Math.abs(batches[0].lr! - 0.01 / perEpoch) < 1e-12, 'one step of the warm-up ramp');
    assert.ok(Math.abs(batches[perEpoch - 1].lr! - 0.01) < 1e-12, 'the last warm-up batch at the peak');
    assert.ok(
      batches.slice(0, perEpoch).every((b, i, a) => i === 0 || b.lr! > a[i - 1].lr!),
      'rising',
    );
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

  it('reg_loss counts only layers that train: nothing for those waiting in gradual unfreezing', async () => {
    const regularization = { l1: 0, l2: 0.01, l2sp: 0.01 };
    const gradualUnfreezing = { headEpochs: 1, everyEpochs: 1, blocks: ['backbone/conv2'] };
    const waiting = await run(
      'reg-waiting',
      { epochs: 2, gradualUnfreezing },
      { freezeUpTo: 'backbone/block1', regularization },
    );
    const frozen = await run('reg-frozen', { epochs: 1 }, { freezeUpTo: 'backbone', regularization });
    // Epoch 1 trains the head only in both runs: the same penalty. conv2's kernel, waiting, adds nothing —
    // counted, its L2 term (conv2 is still pre-trained then) would add far more than the tolerance.
    const [a, b] = [waiting.metrics[0].reg_loss!, frozen.metrics[0].reg_loss!];
    const conv2 = await kernel(path.join(root, 'base', 'model.json'), 'conv2');
    const conv2Penalty = regularization.l2 * conv2.reduce((sum, v) => sum + v * v, 0);
    assert.ok(conv2Penalty > 1e-2 * b, `conv2's L2 term ${conv2Penalty} is visible next to ${b}`);
    assert.ok(a > 0 && Math.abs(a - b) <= 1e-4 * b, `waiting ${a} vs frozen ${b}`);
  });

  it('reduce-on-plateau watches earlyStopping.monitor, not always val_loss', async () => {
    const schedule = { ...DEFAULT_SCHEDULE, type: 'plateau' as const, patience: 1, factor: 0.5 };
    const earlyStopping = { monitor: 'val_accuracy', patience: 100, minDelta: 0, restoreBestWeights: false };
    const { metrics } = await run('plateau-monitor', { epochs: 6, schedule, earlyStopping });
    // The rate of each epoch as a scheduler fed the given metric would set it (an epoch's value acts on the next).
    const replay = (key: 'val_accuracy' | 'val_loss', higherIsBetter: boolean): number[] => {
      const p = new PlateauScheduler(schedule, 0.01, higherIsBetter);
      return metrics.map((m) => {
        const lr = p.learningRate;
        p.update(m[key]);
        return lr;
      });
    };
    const lrs = metrics.map((m) => m.lr);
    assert.deepEqual(lrs, replay('val_accuracy', true));
    assert.notDeepEqual(lrs, replay('val_loss', false), 'this run tells the two apart');
  });

  it('decoupled weight decay shrinks the kernels', async () => {
    const norm = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
    const plain = await run('wd-0', { epochs: 2, weightDecay: 0 });
    const decayed = await run('wd-1', { epochs: 2, weightDecay: 5 });
    const a = norm(await kernel(path.join(plain.outcome.runDir, 'model', 'model.json'), 'head_dense_1'));
    const b = norm(await kernel(path.join(decayed.outcome.runDir, 'model', 'model.json'), 'head_dense_1'));
    assert.ok(b < a * 0.9, `with decay ${b} vs without ${a}`);
  });

  it('label smoothing and mixup change the targets the loss is measured against; the gap compares like with like', async () => {
    const firstBatch = (events: TrainingEvent[]): number =>
      events.find(
        (e): e is Extract<TrainingEvent, { type: 'afterBatch' }> =>
          e.type === 'afterBatch' && e.epoch === 1 && e.batch === 1,
      )!.loss;
    const extra = { freezeUpTo: 'backbone' };
    const plain = await run('targets-hard', { epochs: 2 }, extra);
    const smoothed = await run('targets-smoothed', { epochs: 2, labelSmoothing: 0.2 }, extra);
    const mixed = await run('targets-mixed', { epochs: 2, mixup: 0.4, labelSmoothing: 0.1 }, extra);
    // Batch 1 of each run sees the same weights and (without mixing) the same images: only the targets differ.
    // CE(p, 0.8·y + 0.2/K) = 0.8·CE(p, y) + 0.2·mean(−Σₖ log pₖ)/K, strictly above 0.8·CE(p, y).
    const [hard, soft, mix] = [plain, smoothed, mixed].map((r) => firstBatch(r.events));
    assert.ok(soft > 0.8 * hard + 1e-6 && Math.abs(soft - hard) > 1e-6, `smoothed ${soft} vs hard ${hard}`);
    assert.ok(Math.abs(mix - hard) > 1e-6, `mixed ${mix} vs hard ${hard}`);
    assert.ok(mixed.events.some((e) => e.type === 'log' && /Activation cache off: mixup/.test(e.message)));
    // metrics.jsonl says which loss each curve is, and the gap pairs like with like.
    for (const m of plain.metrics) {
      assert.deepEqual([m.loss_targets, m.val_loss_targets, m.gap_of], ['hard', 'hard', 'val_loss']);
      assert.equal(m.val_loss_same_targets, undefined);
      assert.equal(m.gap, m.val_loss - m.loss);
    }
    for (const [r, targets] of [
      [smoothed, 'smoothed'],
      [mixed, 'mixed-smoothed'],
    ] as const) {
      assert.equal(r.outcome.status, 'completed');
      for (const m of r.metrics) {
        assert.deepEqual(
          [m.loss_targets, m.val_loss_targets, m.gap_of],
          [targets, 'hard', 'val_loss_same_targets'],
        );
        assert.ok(Number.isFinite(m.val_loss_same_targets), 'measured');
        assert.notEqual(m.val_loss_same_targets, m.val_loss);
        assert.equal(m.gap, m.val_loss_same_targets! - m.loss);
      }
    }
  });
});
