/**
 * The unfreezing plan the UI draws (from the layer tree, without the model) is the plan the training loop
 * follows (from the model's weights): same leaves, states, kernels, blocks and epochs, on a real nested
 * model. Plus the per-batch learning rates recomputed for a run read back from disk.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import { buildTrainingModel } from '../../src/engine/model/buildTrainingModel';
import { describeModel } from '../../src/engine/model/layerTree';
import { loadBaseModel } from '../../src/engine/model/loadBaseModel';
import { LearningRateGroups } from '../../src/engine/training/learningRateGroups';
import { scheduledLearningRate } from '../../src/core/portable/lrSchedule';
import { LR_STEPS_PER_EPOCH, scheduledLrSteps } from '../../src/core/portable/lrSteps';
import { planLeavesFromTree, unfreezeTimeline } from '../../src/core/portable/unfreezePlan';
import { experimentConfig } from '../helpers/fixtureConfig';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let modelPath: string;

function config(overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const base = experimentConfig({ name: 'plan', baseModel: modelPath });
  return {
    ...base,
    training: {
      ...base.training,
      epochs: 12,
      gradualUnfreezing: { headEpochs: 1, everyEpochs: 2, blocks: 'auto' },
    },
    ...overrides,
  };
}

describe('unfreezing plan from the layer tree', () => {
  before(async () => {
    await tf.setBackend('cpu');
    modelPath = await saveNestedCnn(tempDir('plan'));
  });

  for (const [name, overrides] of [
    ['default cut, nothing frozen', {}],
    [
      'frozen first block, cut at flatten',
      { freezeUpTo: 'backbone/block1', head: { ...DEFAULTS.head, cutAt: 'flatten' } },
    ],
    ['a re-initialised conv', { layers: { 'backbone/conv2': 'reinit' as const } }],
  ] as const) {
    it(`matches the training loop's plan: ${name}`, async () => {
      const c = config(overrides as Partial<ExperimentConfig>);
      const { model } = await loadBaseModel(modelPath);
      const tree = describeModel(model);
      const tm = buildTrainingModel(model, c, 3, 3);
      const groups = new LearningRateGroups(tm, c);
      try {
        const states = Object.fromEntries(tm.states);
        const leaves = planLeavesFromTree(tree, states, tm.cutAt);
        assert.deepEqual(leaves, groups.plan);
        const gu = c.training.gradualUnfreezing;
        assert.ok(gu);
        const timeline = unfreezeTimeline(leaves, gu, c.training.epochs);
        assert.deepEqual(timeline.blocks, groups.blocks);
        assert.ok(timeline.blocks.length > 0);
        // The epoch each block starts training is the epoch the loop's phase first includes it.
        for (let epoch = 1; epoch <= c.training.epochs; epoch++) {
          const phase = groups.enterEpoch(epoch)!;
          for (const path of phase.unfrozenNow) assert.equal(timeline.startEpoch[path], epoch, path);
          for (const path of phase.trainable) assert.ok(timeline.startEpoch[path] <= epoch, path);
        }
      } finally {
        groups.dispose();
        tm.dispose();
      }
    });
  }

  it('per-batch learning rates of a run read back from disk follow the schedule, a few per epoch', () => {
    const training = {
      ...DEFAULTS.training,
      epochs: 4,
      learningRate: 0.01,
      schedule: { ...DEFAULTS.training.schedule, type: 'onecycle' as const },
    };
    const steps = scheduledLrSteps(training, 2, 100);
    assert.equal(steps.length, 2 * (Math.ceil(100 / Math.ceil(100 / LR_STEPS_PER_EPOCH)) + 1));
    assert.ok(steps.every((s, i) => i === 0 || s.x > steps[i - 1].x));
    assert.equal(steps[steps.length - 1].x, 2);
    // Batch 100 of epoch 2 ran at the rate set when it started (progress 1.99).
    assert.equal(steps[steps.length - 1].y, scheduledLearningRate(training.schedule, 0.01, 1.99, 4));
    const perEpoch = { ...training, schedule: { ...training.schedule, type: 'step' as const } };
    assert.deepEqual(scheduledLrSteps(perEpoch, 2, 100), [], 'per-epoch schedules need no batch points');
  });
});
