/**
 * The run settings (fineTune.memoryBudgetMiB, fineTune.activationCache, fineTune.trainerThreads, the CLI's
 * flags) on
 * their way to the engine: read from VS Code's settings, checked at the trainer's door, turned into the
 * engine's options.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { pipelineOptions } from '../../src/engine/cache/prepareInputs';
import { pipelineSettings } from '../../src/protocol/trainerMessages';
import { isHostToTrainer, isPipelineSettings } from '../../src/protocol/messageGuards';

const settings = (values: Record<string, unknown>) => ({
  get: <T>(key: string): T | undefined => values[key] as T | undefined,
});

describe('pipeline settings', () => {
  it('reads the two settings, ignoring values VS Code would not have validated', () => {
    assert.deepEqual(pipelineSettings(settings({ memoryBudgetMiB: 512, activationCache: false })), {
      memoryBudgetMiB: 512,
      activationCache: false,
    });
    assert.deepEqual(pipelineSettings(settings({})), {});
    assert.deepEqual(pipelineSettings(settings({ memoryBudgetMiB: -3, activationCache: 'no' })), {});
  });

  it('reads fineTune.trainerThreads: a whole number of threads, 0 (every core) left out', () => {
    assert.deepEqual(pipelineSettings(settings({ trainerThreads: 3 })), { trainerThreads: 3 });
    for (const value of [0, -1, 2.5, 65, '2', Number.NaN]) {
      assert.deepEqual(pipelineSettings(settings({ trainerThreads: value })), {}, String(value));
    }
  });

  it('start messages carry them only when well-formed', () => {
    const start = { type: 'start', experimentPath: '/x.finetune.json', runsDir: '/runs' };
    assert.ok(isHostToTrainer({ ...start, pipeline: { memoryBudgetMiB: 64, activationCache: true } }));
    assert.ok(isHostToTrainer({ ...start, pipeline: {} }));
    assert.ok(!isHostToTrainer({ ...start, pipeline: { memoryBudgetMiB: 0 } }));
    assert.ok(!isHostToTrainer({ ...start, pipeline: { memoryBudgetMiB: Number.NaN } }));
    assert.ok(!isHostToTrainer({ ...start, pipeline: { activationCache: 1 } }));
    assert.ok(isHostToTrainer({ ...start, pipeline: { trainerThreads: 2 } }));
    assert.ok(!isHostToTrainer({ ...start, pipeline: { trainerThreads: 0 } }));
    assert.ok(!isHostToTrainer({ ...start, pipeline: { trainerThreads: 1.5 } }));
    assert.ok(!isHostToTrainer({ ...start, pipeline: { trainerThreads: 65 } }));
    assert.ok(!isPipelineSettings(null));
  });

  it('become the engine’s options in bytes; absent ones leave the engine’s defaults', () => {
    assert.deepEqual(pipelineOptions({ memoryBudgetMiB: 1.5, activationCache: false }), {
      memoryBudgetBytes: 1572864,
      activationCache: false,
    });
    assert.deepEqual(pipelineOptions(undefined), {});
  });
});
