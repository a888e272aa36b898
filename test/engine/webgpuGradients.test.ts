/**
 * The webgpu backend (Dawn; in CI Mesa's llvmpipe through Dawn's OpenGL ES backend, a software adapter)
 * against the cpu backend: the gradients of every layer a MobileNet-style fine-tune trains through, on
 * random inputs and random upstream gradients, within 1e-4 of the largest gradient's magnitude. The
 * layers (BatchNormalization, ReLU, Dense) are tfjs-layers' own, called as the engine calls them.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { crossEntropy } from '../../src/engine/training/evaluate';
import { createRng } from '../../src/core/rng';
import { randomValues, relativeError } from '../helpers/numericCompare';
import { webgpuSkip } from '../helpers/webgpuAvailable';

const TOLERANCE = 1e-4;

interface Input {
  shape: number[];
  values: Float32Array;
}

/** Values of every tensor `compute` returns on a backend; everything it makes is disposed. */
async function on(
  backend: 'cpu' | 'webgpu',
  inputs: Input[],
  compute: (xs: tf.Tensor[]) => tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  assert.equal(tf.getBackend(), backend);
  const tensors = inputs.map((i) => tf.tensor(i.values, i.shape));
  const results = compute(tensors);
  const values = await Promise.all(results.map(async (r) => Float32Array.from(await r.data())));
  tf.dispose([...tensors, ...results]);
  return values;
}

/**
 * The gradients of Σ f(xs)·u with respect to every input, u a fixed random upstream gradient, on both
 * backends: each within TOLERANCE of the cpu's, relative to its largest magnitude.
 */
async function assertSameGradients(what: string, inputs: Input[], f: (xs: tf.Tensor[]) => tf.Tensor) {
  const rng = createRng(what);
  let upstream: Float32Array | undefined;
  const gradients = (xs: tf.Tensor[]): tf.Tensor[] =>
    tf.grads((...args: tf.Tensor[]) => {
      const y = f(args);
      upstream ??= randomValues(y.shape, rng);
      return tf.sum(tf.mul(y, tf.tensor(upstream, y.shape)));
    })(xs);
  const expected = await on('cpu', inputs, gradients);
  const actual = await on('webgpu', inputs, gradients);
  expected.forEach((e, i) => {
    const error = relativeError(actual[i], e, 1e-6);
    assert.ok(
      error <= TOLERANCE,
      `${what}, gradient of input ${i}: relative error ${error.toExponential(2)} > ${TOLERANCE}`,
    );
    assert.ok(
      e.some((v) => Math.abs(v) > 1e-3),
      `${what}, gradient ${i} is not all zeros (else the test means nothing)`,
    );
  });
}

function random(shape: number[], seed: string, low = -1, high = 1): Input {
  return { shape, values: randomValues(shape, createRng(seed), low, high) };
}

describe('webgpu gradients match the cpu backend', { skip: webgpuSkip }, () => {
  before(async () => {
    await initBackend('cpu');
    await initBackend('webgpu');
  });

  for (const strides of [1, 2] as const) {
    for (const pad of ['same', 'valid'] as const) {
      it(`conv2d, strides ${strides}, ${pad}`, async () => {
        await assertSameGradients(
          `conv2d-${strides}-${pad}`,
          [random([2, 9, 9, 3], 'x'), random([3, 3, 3, 4], 'w')],
          ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad),
        );
      });
    }
  }

  it('conv2d 1×1 (pointwise)', async () => {
    await assertSameGradients(
      'conv2d-1x1',
      [random([2, 6, 6, 8], 'x'), random([1, 1, 8, 5], 'w')],
      ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    );
  });

  for (const [strides, pad] of [
    [1, 'same'],
    [2, 'same'],
    [2, 'valid'],
  ] as const) {
    it(`depthwise conv2d, strides ${strides}, ${pad}`, async () => {
      await assertSameGradients(
        `depthwise-${strides}-${pad}`,
        [random([2, 9, 9, 4], 'x'), random([3, 3, 4, 1], 'w')],
        ([x, w]) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad),
      );
    });
  }

  for (const training of [true, false]) {
    it(`BatchNormalization in ${training ? 'training' : 'inference'} mode (γ, β, the input, moving statistics)`, async () => {
      const channels = 4;
      const initial = [
        random([channels], 'gamma', 0.5, 1.5),
        random([channels], 'beta'),
        random([channels], 'mean', -0.5, 0.5),
        random([channels], 'variance', 0.5, 1.5),
      ];
      const x = random([3, 5, 5, channels], 'bn-x', -2, 2);
      const upstream = random([3, 5, 5, channels], 'bn-u');
      const results: Float32Array[][] = [];
      for (const backend of ['cpu', 'webgpu'] as const) {
        await tf.setBackend(backend);
        const layer = tfl.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-3 });
        layer.build([null, 5, 5, channels]);
        layer.setWeights(initial.map((w) => tf.tensor(w.values)));
        const input = tf.variable(tf.tensor(x.values, x.shape));
        const u = tf.tensor(upstream.values, upstream.shape);
        // γ, β and the input through one call of the layer, as the engine calls it.
        const variables = [...layer.trainableWeights.map((w) => w.read() as tf.Variable), input];
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.mul(layer.apply(input, { training }) as tf.Tensor, u)) as tf.Scalar,
          variables,
        );
        const tensors = [...variables.map((v) => grads[v.name]), ...layer.getWeights().slice(2)];
        results.push(await Promise.all(tensors.map(async (t) => Float32Array.from(await t.data()))));
        tf.dispose([value, u, input, ...Object.values(grads), ...layer.weights.map((w) => w.read())]);
      }
      const [expected, actual] = results;
      ['γ gradient', 'β gradient', 'input gradient', 'moving mean', 'moving variance'].forEach((name, i) => {
        const error = relativeError(actual[i], expected[i], 1e-6);
        assert.ok(error <= TOLERANCE, `BN ${name}: relative error ${error.toExponential(2)} > ${TOLERANCE}`);
        if (i < 3)
          assert.ok(
            expected[i].some((v) => Math.abs(v) > 1e-3),
            `BN ${name} is not all zeros`,
          );
      });
      const movedMean = relativeError(expected[3], initial[2].values, 1e-6) > 1e-3;
      assert.equal(movedMean, training, 'moving statistics move in training mode only');
    });
  }

  it('ReLU6 (tf.relu6 and the ReLU layer with maxValue 6)', async () => {
    const relu6Layer = tfl.layers.reLU({ maxValue: 6 });
    await assertSameGradients('relu6', [random([2, 5, 5, 3], 'x', -8, 8)], ([x]) =>
      tf.add(tf.relu6(x), relu6Layer.apply(x) as tf.Tensor),
    );
  });

  for (const [name, pool] of [
    ['max pooling 2×2, strides 2, valid', (x: tf.Tensor4D) => tf.maxPool(x, 2, 2, 'valid')],
    ['max pooling 3×3, strides 2, same', (x: tf.Tensor4D) => tf.maxPool(x, 3, 2, 'same')],
    ['average pooling 2×2, strides 2, valid', (x: tf.Tensor4D) => tf.avgPool(x, 2, 2, 'valid')],
    ['average pooling 3×3, strides 1, same', (x: tf.Tensor4D) => tf.avgPool(x, 3, 1, 'same')],
    ['global average pooling', (x: tf.Tensor4D) => tf.mean(x, [1, 2])],
  ] as const) {
    it(name, async () => {
      await assertSameGradients(name, [random([2, 8, 8, 3], 'x')], ([x]) => pool(x as tf.Tensor4D));
    });
  }

  it('dense (kernel, bias and the input)', async () => {
    await assertSameGradients(
      'dense',
      [random([6, 10], 'x'), random([10, 7], 'kernel'), random([7], 'bias')],
      ([x, kernel, bias]) => tf.add(tf.matMul(x, kernel), bias),
    );
  });

  it('softmax cross-entropy (the engine’s loss)', async () => {
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 3, 1, 2, 4, 3], 'int32'), 5));
    const oneHot = await labels.data();
    labels.dispose();
    await assertSameGradients('cross-entropy', [random([6, 5], 'logits', -3, 3)], ([logits]) =>
      tf.reshape(crossEntropy(tf.softmax(logits), tf.tensor(oneHot, [6, 5])), [1]),
    );
  });
});
