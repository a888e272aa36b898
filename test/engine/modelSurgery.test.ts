import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import { buildTrainingModel } from '../../src/engine/model/buildTrainingModel';
import { describeModel, allPaths } from '../../src/engine/model/layerTree';
import { loadBaseModel } from '../../src/engine/model/loadBaseModel';
import { UserError } from '../../src/core/userError';
import { experimentConfig } from '../helpers/fixtureConfig';
import { saveFlatSequential, saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let modelPath: string;

function config(overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  return experimentConfig({ name: 'surgery', baseModel: modelPath, ...overrides });
}

describe('base model loading and surgery', () => {
  before(async () => {
    await tf.setBackend('cpu');
    modelPath = await saveNestedCnn(tempDir('surgery'));
  });

  it('loads a Sequential inside a Sequential inside a functional Model with path names', async () => {
    const { model, inputShape } = await loadBaseModel(modelPath);
    assert.deepEqual(inputShape, [16, 16, 3]);
    const tree = describeModel(model);
    assert.deepEqual(allPaths(tree), [
      'backbone',
      'backbone/block1',
      'backbone/block1/conv1',
      'backbone/block1/bn1',
      'backbone/block1/pool1',
      'backbone/conv2',
      'backbone/bn2',
      'backbone/pool2',
      'flatten',
      'dense_1',
      'dense_2',
    ]);
    const conv1 = tree[0].children![0].children![0];
    assert.equal(conv1.className, 'Conv2D');
    assert.deepEqual(conv1.outputShape, [null, 16, 16, 4]);
    assert.equal(conv1.trainableParams, 3 * 3 * 3 * 4 + 4);
    const bn1 = tree[0].children![0].children![1];
    assert.equal(bn1.trainableParams, 8);
    assert.equal(bn1.nonTrainableParams, 8);
    assert.equal(
      tree[0].trainableParams,
      tree[0].children!.reduce((n, c) => n + c.trainableParams, 0),
    );
    model.dispose();
  });

  it('freezes up to a nested block, cuts at the default (before the last Dense) and adds the head', async () => {
    const { model } = await loadBaseModel(modelPath);
    const tm = buildTrainingModel(
      model,
      config({ freezeUpTo: 'backbone/block1', head: { ...DEFAULTS.head, hiddenUnits: [5], dropout: 0.5 } }),
      3,
      3,
    );
    assert.equal(tm.cutAt, 'dense_1');
    assert.equal(tm.states.get('backbone/block1/conv1'), 'frozen');
    assert.equal(tm.states.get('backbone/block1/pool1'), 'frozen');
    assert.equal(tm.states.get('backbone/conv2'), 'trainable');
    assert.equal(tm.states.has('dense_2'), false, 'the old classifier is cut off');
    assert.deepEqual(tm.model.outputs[0].shape, [null, 3]);
    assert.ok(tm.model.layers.some((l) => l.name === 'head_dropout_1'));
    assert.deepEqual(tm.backwardKernels, ['Conv2DBackpropFilter']);
    // Same function as the flat model's own predict in inference mode.
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 3);
    const ours = tm.forward(x, false).arraySync();
    const theirs = (tm.model.predict(x) as tf.Tensor).arraySync();
    assert.deepEqual(ours, theirs);
    tm.dispose();
  });

  it('layers entries for a nested block apply to its leaves and a leaf entry wins', async () => {
    const { model } = await loadBaseModel(modelPath);
    const tm = buildTrainingModel(
      model,
      config({
        layers: { backbone: 'frozen', 'backbone/conv2': 'reinit' },
        head: { ...DEFAULTS.head, cutAt: 'flatten' },
      }),
      3,
      2,
    );
    assert.equal(tm.states.get('backbone/block1/conv1'), 'frozen');
    assert.equal(tm.states.get('backbone/bn2'), 'frozen');
    assert.equal(tm.states.get('backbone/conv2'), 'reinit');
    assert.equal(tm.frozenBatchNorm.size, 2);
    assert.deepEqual(tm.baseVariables, [], 'reinit layers learn at the head rate');
    tm.dispose();
  });

  it('reinit draws fresh weights before the first step', async () => {
    const { model: original } = await loadBaseModel(modelPath);
    const before = original
      .getLayer('backbone')
      .getWeights()
      .map((w) => w.arraySync());
    const { model } = await loadBaseModel(modelPath);
    const tm = buildTrainingModel(model, config({ layers: { 'backbone/conv2': 'reinit' } }), 3, 2);
    const conv2 = tm.model.getLayer('conv2');
    const kernelBefore = original.getLayer('backbone') as unknown as {
      getLayer(n: string): { getWeights(): tf.Tensor[] };
    };
    const pretrainedKernel = kernelBefore.getLayer('conv2').getWeights()[0].dataSync();
    const freshKernel = conv2.getWeights()[0].dataSync();
    assert.notDeepEqual(Array.from(freshKernel), Array.from(pretrainedKernel));
    assert.equal(before.length > 0, true);
    tm.dispose();
    original.dispose();
  });

  it('a flat Sequential (loaded lazily built) is cut at the default and at a named layer', async () => {
    const flatPath = await saveFlatSequential(tempDir('flat'));
    for (const cutAt of [undefined, 'pool']) {
      const { model } = await loadBaseModel(flatPath);
      const tm = buildTrainingModel(
        model,
        config({
          baseModel: flatPath,
          dataset: { path: '/x', imageSize: [8, 8], ...DEFAULTS.dataset },
          head: { ...DEFAULTS.head, cutAt },
        }),
        3,
        2,
      );
      assert.equal(tm.cutAt, cutAt ?? 'flat');
      assert.deepEqual(tm.model.outputs[0].shape, [null, 2]);
      assert.ok(tm.forward(tf.zeros([1, 8, 8, 3]), true).shape[1] === 2);
      tm.dispose();
    }
  });

  it('unknown layer names are errors that suggest the right path', async () => {
    const { model } = await loadBaseModel(modelPath);
    assert.throws(
      () => buildTrainingModel(model, config({ freezeUpTo: 'conv2' }), 3, 2),
      (e: unknown) =>
        e instanceof UserError &&
        /Unknown layer "conv2" in "freezeUpTo"/.test(e.message) &&
        /backbone\/conv2/.test(e.message),
    );
    assert.throws(
      () => buildTrainingModel(model, config({ head: { ...DEFAULTS.head, cutAt: 'nope' } }), 3, 2),
      (e: unknown) => e instanceof UserError && /head\.cutAt/.test(e.message),
    );
  });

  it('an image size the kept frozen layers cannot take is a clear error', async () => {
    const { model } = await loadBaseModel(modelPath);
    assert.throws(
      () =>
        buildTrainingModel(
          model,
          config({ dataset: { path: '/x', imageSize: [24, 24], ...DEFAULTS.dataset } }),
          3,
          2,
        ),
      (e: unknown) =>
        e instanceof UserError && /imageSize \[24, 24\]/.test(e.message) && /dense_1/.test(e.message),
    );
    // Cutting before the Dense layers makes any size work (convolutions do not care).
    const tm = buildTrainingModel(
      model,
      config({
        dataset: { path: '/x', imageSize: [24, 24], ...DEFAULTS.dataset },
        head: { ...DEFAULTS.head, cutAt: 'flatten' },
      }),
      3,
      2,
    );
    assert.deepEqual(tm.model.inputs[0].shape, [null, 24, 24, 3]);
    tm.dispose();
  });

  it('a model whose input is not an image is refused', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const { atomicDirSaveHandler } = await import('../../src/engine/model/fileModelIO');
    const dir = tempDir('vector');
    const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [10], units: 2 })] });
    await m.save(atomicDirSaveHandler(dir));
    await assert.rejects(loadBaseModel(path.join(dir, 'model.json')), /not an image/);
  });
});
