/** The gradual-unfreezing callback: which epochs announce a phase, and the phase it records. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { TrainingEvent } from '../../../src/protocol/trainingEvents';
import { GradualUnfreezingCallback } from '../../../src/engine/training/callbacks/gradualUnfreezing';
import { FitProgress } from '../../../src/engine/training/callbacks/trainingCallback';
import { phaseAtEpoch } from '../../../src/core/portable/layerGroups';

describe('training callbacks: gradual unfreezing', () => {
  const blocks = [['conv3'], ['conv2']];
  const config = { headEpochs: 1, everyEpochs: 2, blocks: 'auto' as const };
  const rates = { blocks, enterEpoch: (epoch: number) => phaseAtEpoch(blocks, config, epoch) };

  it('announces the head-only start and each unfreezing, records the phase every epoch', () => {
    const events: TrainingEvent[] = [];
    const callback = new GradualUnfreezingCallback(rates, (e) => events.push(e));
    const state = new FitProgress();
    const phases: (number | undefined)[] = [];
    for (let epoch = 1; epoch <= 6; epoch++) {
      callback.beforeEpoch(epoch, state);
      phases.push(state.unfreezePhase);
    }
    assert.deepEqual(phases, [0, 1, 1, 2, 2, 2]);
    const phaseEvents = events.filter((e) => e.type === 'phase');
    assert.deepEqual(
      phaseEvents.map((e) => e.type === 'phase' && [e.epoch, e.phase, e.phases, e.unfrozenNow]),
      [
        [1, 0, 2, []],
        [2, 1, 2, ['conv3']],
        [4, 2, 2, ['conv2']],
      ],
    );
    const logs = events.filter((e) => e.type === 'log').map((e) => e.type === 'log' && e.message);
    assert.deepEqual(logs, [
      'gradual unfreezing: epoch 1 trains the head only (2 blocks wait)',
      'gradual unfreezing: epoch 2 unfreezes conv3 (block 1 of 2)',
      'gradual unfreezing: epoch 4 unfreezes conv2 (block 2 of 2)',
    ]);
  });

  it('a resumed fit in the middle of a phase announces nothing; off, it records no phase', () => {
    const events: TrainingEvent[] = [];
    const state = new FitProgress();
    new GradualUnfreezingCallback(rates, (e) => events.push(e)).beforeEpoch(3, state);
    assert.equal(events.length, 0);
    assert.equal(state.unfreezePhase, 1);
    new GradualUnfreezingCallback({ blocks: [], enterEpoch: () => undefined }, (e) =>
      events.push(e),
    ).beforeEpoch(1, state);
    assert.equal(state.unfreezePhase, undefined);
    assert.equal(events.length, 0);
  });
});
