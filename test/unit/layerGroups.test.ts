import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  layerMultipliers,
  phaseAtEpoch,
  unfreezeBlocks,
  type PlanLeaf,
} from '../../src/core/portable/layerGroups';

const leaf = (path: string, className: string, state: PlanLeaf['state'] = 'trainable'): PlanLeaf => ({
  path,
  className,
  state,
  hasKernel: /Conv|Dense/.test(className),
});
const LEAVES: PlanLeaf[] = [
  leaf('f/conv1', 'Conv2D', 'frozen'),
  leaf('f/bn1', 'BatchNormalization', 'frozen'),
  leaf('f/conv2', 'Conv2D'),
  leaf('f/bn2', 'BatchNormalization'),
  leaf('f/pool2', 'MaxPooling2D'),
  leaf('f/conv3', 'Conv2D'),
  leaf('f/pool3', 'MaxPooling2D'),
  leaf('dense_1', 'Dense', 'reinit'),
];

describe('gradual unfreezing', () => {
  const config = { headEpochs: 2, everyEpochs: 3, blocks: 'auto' as const };
  const blocks = unfreezeBlocks(LEAVES, config);

  it('auto blocks start at each kernel layer, top first, and only hold layers the file leaves trainable', () => {
    assert.deepEqual(blocks, [
      ['f/conv3', 'f/pool3'],
      ['f/conv2', 'f/bn2', 'f/pool2'],
    ]);
  });

  it('changes exactly the layers it should at the epochs it should', () => {
    const phases = Array.from({ length: 10 }, (_, i) => phaseAtEpoch(blocks, config, i + 1));
    assert.deepEqual(
      phases.map((p) => p.phase),
      [0, 0, 1, 1, 1, 2, 2, 2, 2, 2],
    );
    assert.deepEqual(phases[2].unfrozenNow, ['f/conv3', 'f/pool3']);
    assert.deepEqual(phases[5].unfrozenNow, ['f/conv2', 'f/bn2', 'f/pool2']);
    assert.deepEqual(phases.filter((p) => p.unfrozenNow.length > 0).length, 2, 'nothing else changes');
    assert.deepEqual(phases[9].trainable, ['f/conv3', 'f/pool3', 'f/conv2', 'f/bn2', 'f/pool2']);
    assert.deepEqual(phases[0].trainable, []);
  });

  it('explicit blocks by nested path', () => {
    assert.deepEqual(unfreezeBlocks(LEAVES, { ...config, blocks: ['f/conv3', 'f'] }), [
      ['f/conv3'],
      ['f/conv2', 'f/bn2', 'f/pool2', 'f/conv3', 'f/pool3'],
    ]);
  });
});

describe('discriminative learning rates', () => {
  it('geometric spread from the lowest block to the top block', () => {
    const m = layerMultipliers(LEAVES, { mode: 'geometric', lowestMultiplier: 0.01 }, 0.1);
    assert.ok(Math.abs(m.get('f/conv2')! - 0.01) < 1e-12);
    assert.ok(Math.abs(m.get('f/bn2')! - 0.01) < 1e-12);
    assert.ok(Math.abs(m.get('f/conv3')! - 0.1) < 1e-12);
    assert.equal(m.has('f/conv1'), false, 'frozen layers have no rate');
  });

  it('groups override the single multiplier for their layers', () => {
    const m = layerMultipliers(
      LEAVES,
      { mode: 'groups', groups: [{ layers: ['f/conv2'], multiplier: 0.001 }] },
      0.1,
    );
    assert.equal(m.get('f/conv2'), 0.001);
    assert.equal(m.get('f/conv3'), 0.1);
  });
});

describe('layers at a learning rate of 0', () => {
  it('are frozen: fineTuneLearningRateMultiplier 0, a group at 0 — and only trainable layers change state', async () => {
    const { freezeZeroRateLayers } = await import('../../src/core/portable/layerGroups');
    const leaves = [
      { path: 'b/conv1', className: 'Conv2D', state: 'trainable' as const, hasKernel: true },
      { path: 'b/bn1', className: 'BatchNormalization', state: 'trainable' as const, hasKernel: false },
      { path: 'b/conv2', className: 'Conv2D', state: 'reinit' as const, hasKernel: true },
      { path: 'conv3', className: 'Conv2D', state: 'trainable' as const, hasKernel: true },
    ];
    const single = freezeZeroRateLayers(leaves, { mode: 'single' }, 0);
    assert.deepEqual(single.frozen, ['b/conv1', 'b/bn1', 'conv3']);
    assert.deepEqual(
      single.leaves.map((l) => l.state),
      ['frozen', 'frozen', 'reinit', 'frozen'],
    );
    const group = freezeZeroRateLayers(
      leaves,
      { mode: 'groups', groups: [{ layers: ['b'], multiplier: 0 }] },
      0.1,
    );
    assert.deepEqual(group.frozen, ['b/conv1', 'b/bn1']);
    assert.deepEqual(freezeZeroRateLayers(leaves, { mode: 'single' }, 0.1).frozen, []);
  });
});
