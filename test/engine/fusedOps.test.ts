/**
 * The fused kernels (batch norm in training and inference mode, ReLU with a ceiling) against the composed
 * tfjs ops they replace, on cpu and wasm: outputs, batch statistics and every gradient within 1e-4
 * relative on random cases (SIMD channel counts and odd ones, a large mean, values exactly at the clip
 * edges), the moving statistics a layer call leaves, no leaked tensors, and the wasm Identity that shares
 * data instead of copying it.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { batchNormInference } from '../../src/engine/backend/fusedOps/batchNormInference';
import { batchNormTraining } from '../../src/engine/backend/fusedOps/batchNormTraining';
import { clippedRelu } from '../../src/engine/backend/fusedOps/clippedRelu';
import { fusedLayerCall, fusedLeafCall } from '../../src/engine/backend/fusedOps/fusedLayerCall';
import { updateMovingAverages } from '../../src/engine/backend/fusedOps/movingAverages';
import { setSimdChunkValues } from '../../src/engine/backend/fusedOps/simdKernels';
import { walkContainer } from '../../src/engine/model/graphWalk';
import { createRng } from '../../src/core/rng';
import { randomValues as random, relativeError } from '../helpers/numericCompare';

type Backend = 'cpu' | 'wasm';
const BACKENDS: Backend[] = ['cpu', 'wasm'];

function assertClose(actual: number[][], expected: number[][], what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, i) => {
    const error = relativeError(values, expected[i], 1e-6);
    assert.ok(error <= tolerance, `${what}, output ${i}: relative error ${error.toExponential(2)}`);
  });
}

/** Runs `compute` (tensors in, tensors out) on a backend and returns plain values, leaking nothing. */
async function on(backend: Backend, compute: () => tf.Tensor[]): Promise<number[][]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const outputs = tf.tidy(compute);
  const values = outputs.map((t) => Array.from(t.dataSync()));
  tf.dispose(outputs);
  assert.equal(tf.memory().numTensors, before, `no tensor left behind on ${backend}`);
  return values;
}

/** Output, batch mean/variance and the gradients of Σ y·w with respect to x, γ and β. */
function batchNormCase(
  x: Float32Array,
  shape: number[],
  gamma: Float32Array,
  beta: Float32Array,
  weights: Float32Array,
  fused: boolean,
): () => tf.Tensor[] {
  return () => {
    const c = shape[shape.length - 1];
    const [xt, gt, bt] = [tf.tensor(x, shape), tf.tensor(gamma, [c]), tf.tensor(beta, [c])];
    const w = tf.tensor(weights, shape);
    const forward = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
      if (fused) return batchNormTraining(xv, g, b, 1e-3);
      // What tfjs-layers' BatchNormalization computes in training mode.
      const axes = shape.slice(0, -1).map((_, i) => i);
      const { mean, variance } = tf.moments(xv, axes);
      return [tf.batchNorm(xv, mean, variance, b, g, 1e-3), mean, variance];
    };
    const outputs = forward(xt, gt, bt);
    const grads = tf.grads((xv, g, b) => tf.sum(tf.mul(forward(xv, g, b)[0], w)))([xt, gt, bt]);
    return [...outputs, ...grads];
  };
}

describe('fused training kernels', () => {
  before(async () => {
    await initBackend('wasm'); // registers them (and the faster wasm kernels), as a real run does
    await initBackend('cpu');
  });

  it('batch norm in training mode: output, statistics and gradients equal the composed ops', async () => {
    const rng = createRng('fused-bn');
    const cases: { shape: number[]; low?: number; high?: number }[] = [
      { shape: [4, 6, 5, 8] }, // SIMD channels
      { shape: [3, 7, 7, 16] },
      { shape: [2, 3, 3, 5] }, // odd channel count: plain loops
      { shape: [37, 12] }, // rank 2 (a dense layer's batch norm), more than one 32-row block
      { shape: [2, 5, 5, 4], low: 99.9, high: 100.1 }, // large mean, small spread
    ];
    for (const { shape, low, high } of cases) {
      const c = shape[shape.length - 1];
      const x = random(shape, rng, low, high);
      const gamma = random([c], rng, 0.5, 1.5);
      const beta = random([c], rng);
      const weights = random(shape, rng);
      const expected = await on('cpu', batchNormCase(x, shape, gamma, beta, weights, false));
      for (const backend of BACKENDS) {
        const actual = await on(backend, batchNormCase(x, shape, gamma, beta, weights, true));
        assertClose(actual, expected, `[${shape}] on ${backend}`);
      }
    }
  });

  it('batch norm in inference mode: output and the gradients of x, μ, σ², γ, β equal tf.batchNorm', async () => {
    const rng = createRng('fused-bn-inference');
    for (const shape of [
      [4, 6, 5, 8],
      [2, 3, 3, 5],
      [9, 12],
    ]) {
      const c = shape[shape.length - 1];
      const x = random(shape, rng, -2, 3);
      const stats = [
        random([c], rng),
        random([c], rng, 0.2, 2),
        random([c], rng, 0.5, 1.5),
        random([c], rng),
      ];
      const weights = random(shape, rng);
      const run = (fused: boolean) => (): tf.Tensor[] => {
        const w = tf.tensor(weights, shape);
        const f = (xv: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
          fused
            ? batchNormInference(xv, { mean, variance, gamma, beta }, 1e-3)
            : tf.batchNorm(xv, mean, variance, beta, gamma, 1e-3);
        const inputs = [tf.tensor(x, shape), ...stats.map((v) => tf.tensor(v, [c]))];
        const [xv, mean, variance, gamma, beta] = inputs;
        const grads = tf.grads((a, b, d, e, g) => tf.sum(tf.mul(f(a, b, d, e, g), w)))(inputs);
        return [f(xv, mean, variance, gamma, beta), ...grads];
      };
      const expected = await on('cpu', run(false));
      for (const backend of BACKENDS)
        assertClose(await on(backend, run(true)), expected, `[${shape}] on ${backend}`);
    }
  });

  it('ReLU with a ceiling: values and gradient equal relu + clipByValue, edges included', async () => {
    const rng = createRng('fused-relu6');
    for (const shape of [[4, 9, 9, 8], [3, 5], [7]]) {
      const x = random(shape, rng, -3, 9);
      // Exactly 0, exactly the ceiling, and both sides of each.
      [0, 6, -1e-7, 6 + 1e-6, 1e-7].forEach((v, i) => (x[i % x.length] = v));
      const weights = random(shape, rng);
      const run = (fused: boolean) => (): tf.Tensor[] => {
        const xt = tf.tensor(x, shape);
        const w = tf.tensor(weights, shape);
        const f = (v: tf.Tensor): tf.Tensor => (fused ? clippedRelu(v, 6) : tf.clipByValue(tf.relu(v), 0, 6));
        return [f(xt), ...tf.grads((v) => tf.sum(tf.mul(f(v), w)))([xt])];
      };
      const expected = await on('cpu', run(false));
      for (const backend of BACKENDS) {
        const actual = await on(backend, run(true));
        // +0 for −0: the composed gradient multiplies a negative dy by 0, the fused one writes 0.
        const plain = (v: number[][]): number[][] => v.map((a) => a.map((n) => n + 0));
        assert.deepEqual(plain(actual), plain(expected), `[${shape}] on ${backend}: identical values`);
      }
    }
  });

  it('a BatchNormalization layer call leaves the same moving statistics as the layer’s own call', async () => {
    const rng = createRng('fused-bn-layer');
    const shape = [6, 4, 4, 8];
    const x = random(shape, rng, -2, 3);
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      const statistics = (fused: boolean): number[][] => {
        const layer = tfl.layers.batchNormalization({ momentum: 0.9 });
        layer.build(shape);
        const input = tf.tensor(x, shape);
        for (let step = 0; step < 3; step++) {
          const y = fused
            ? fusedLayerCall(layer, input, true)
            : (layer.apply(input, { training: true }) as tf.Tensor);
          assert.ok(y, 'the fused path takes a training-mode batch norm');
          y.dispose();
        }
        input.dispose();
        return layer.getWeights().map((w) => Array.from(w.dataSync()));
      };
      assertClose(statistics(true), statistics(false), `moving statistics on ${backend}`);
      const layer = tfl.layers.batchNormalization({ momentum: 0.9 });
      layer.build(shape);
      const input = tf.tensor(x, shape);
      const profile = await tf.profile(() => fusedLayerCall(layer, input, true)!);
      assert.ok(
        profile.kernels.some((k) => k.name === 'FineTuneMovingAverages'),
        `one kernel updates the moving statistics on ${backend}`,
      );
      input.dispose();
    }
  });

  it('updates the moving statistics with the same bits as tfjs-layers’ composed update', async () => {
    const rng = createRng('moving-averages');
    const values = (): Float32Array =>
      random([64], rng, -1e3, 1e3).map((v, i) => (i % 3 === 0 ? v * 1e-6 : v));
    const [moving, movingVar, mean, variance] = [values(), values(), values(), values()];
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      for (const momentum of [0.99, 0.9, 0.1, 1 / 3]) {
        const bn = {
          momentum,
          movingMean: new tfl.LayerVariable(tf.tensor(moving)),
          movingVariance: new tfl.LayerVariable(tf.tensor(movingVar)),
        };
        const [m, v] = [tf.tensor(mean), tf.tensor(variance)];
        updateMovingAverages(bn, m, v);
        const composed = (current: Float32Array, value: tf.Tensor): Float32Array =>
          tf.tidy(() => {
            const t = tf.tensor(current);
            return tf.sub(t, tf.mul(tf.sub(t, value), 1 - momentum)).dataSync() as Float32Array;
          });
        assert.deepEqual(
          bn.movingMean.read().dataSync(),
          composed(moving, m),
          `mean, ${momentum}, ${backend}`,
        );
        assert.deepEqual(
          bn.movingVariance.read().dataSync(),
          composed(movingVar, v),
          `variance, ${momentum}, ${backend}`,
        );
        tf.dispose([m, v]);
        bn.movingMean.dispose();
        bn.movingVariance.dispose();
      }
    }
  });

  it('takes batch norm in both modes and ReLU6, and leaves the other layers to their own call', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomUniform([2, 3, 3, 4], -1, 1);
    const inference = tfl.layers.batchNormalization({});
    inference.build(x.shape);
    const own = inference.apply(x, { training: false }) as tf.Tensor;
    const fused = fusedLayerCall(inference, x, false);
    assert.ok(fused, 'inference mode is fused');
    assert.ok(
      relativeError(fused.dataSync(), own.dataSync(), 1e-6) < 1e-6,
      'same output as the layer’s own call',
    );
    const channelsFirst = tfl.layers.batchNormalization({ axis: 1 });
    channelsFirst.build(x.shape);
    const noScale = tfl.layers.batchNormalization({ scale: false });
    noScale.build(x.shape);
    assert.equal(fusedLayerCall(channelsFirst, x, true), undefined, 'axis other than the last');
    assert.equal(fusedLayerCall(noScale, x, false), undefined, 'no γ');
    assert.equal(fusedLayerCall(tfl.layers.reLU({}), x, true), undefined, 'relu without a ceiling');
    assert.ok(fusedLayerCall(tfl.layers.reLU({ maxValue: 6 }), x, false), 'ReLU6');
    await tf.setBackend('cpu');
    const onCpu = tf.tensor(x.dataSync(), x.shape);
    assert.ok(fusedLayerCall(inference, onCpu, false), 'cpu runs them too');
    tf.dispose([x, own, fused, onCpu]);
  });

  it('a MobileNet-style block trains the same through the fused kernels as through the layers’ own calls', async () => {
    const rng = createRng('fused-block');
    const build = (): tfl.LayersModel =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [9, 9, 3], filters: 8, kernelSize: 3, strides: 2, useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU({ maxValue: 6 }),
          tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU({ maxValue: 6 }),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    await tf.setBackend('wasm');
    const template = build();
    const weights = template.getWeights().map((w) => ({ shape: w.shape, values: random(w.shape, rng) }));
    weights.forEach((w, i) => {
      // Positive moving variances, as a trained model has.
      if (template.weights[i].name.includes('moving_variance'))
        w.values = w.values.map((v) => 0.5 + Math.abs(v));
    });
    template.dispose();
    const images = random([6, 9, 9, 3], rng, -1, 1);
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0, 2], 'int32'), 3);
    const trainOneStep = (fused: boolean): number[][] => {
      const model = build();
      model.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
      const x = tf.tensor(images, [6, 9, 9, 3]);
      const forward = (training: boolean): tf.Tensor =>
        walkContainer(model, [x], {
          kwargsFor: () => ({ training }),
          applyLayer: (layer, input, kwargs) => (fused ? fusedLeafCall(layer, input, kwargs) : undefined),
        })[0] as tf.Tensor;
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, forward(true)) as tf.Scalar,
        variables,
      );
      const values = [
        ...variables.map((v) => Array.from(grads[v.name].dataSync())),
        // Moving statistics after the step, and the evaluation-mode output they give.
        ...model.getWeights().map((w) => Array.from(w.dataSync())),
        Array.from(tf.tidy(() => forward(false)).dataSync()),
      ];
      tf.dispose([x, ...Object.values(grads)]);
      return values;
    };
    assertClose(trainOneStep(true), trainOneStep(false), 'gradients, moving statistics, evaluation output');
    labels.dispose();
  });

  it('gives the same results when large arrays go through the SIMD module in many chunks', async () => {
    const rng = createRng('fused-chunks');
    const shape = [5, 7, 6, 8];
    const x = random(shape, rng, -2, 7);
    const gamma = random([8], rng, 0.5, 1.5);
    const beta = random([8], rng);
    const weights = random(shape, rng);
    const filter = random([3, 3, 8, 1], rng);
    const block = (): tf.Tensor[] => [
      ...batchNormCase(x, shape, gamma, beta, weights, true)(),
      ...tf.grads((v) => tf.sum(tf.mul(clippedRelu(v, 6), tf.tensor(weights, shape))))([tf.tensor(x, shape)]),
      ...tf.grads((w) =>
        tf.sum(tf.depthwiseConv2d(tf.tensor4d(x, [5, 7, 6, 8]), w as tf.Tensor4D, 2, 'same')),
      )([tf.tensor(filter, [3, 3, 8, 1])]),
    ];
    const whole = await on('wasm', block);
    // 40 values per chunk: 5 rows of 8 channels, less than one image, a seam inside every array.
    const previous = setSimdChunkValues(40);
    try {
      assertClose(await on('wasm', block), whole, 'chunked');
    } finally {
      setSimdChunkValues(previous);
    }
  });

  it('wasm Identity shares the data: a clone outlives its source, and nothing leaks', async () => {
    await tf.setBackend('wasm');
    const backend = tf.findBackend('wasm')!;
    const buffers = backend.numDataIds();
    const source = tf.tensor([1, 2, 3, 4], [2, 2]);
    const copy = tf.clone(source);
    assert.equal(backend.numDataIds(), buffers + 1, 'one buffer for both');
    source.dispose();
    assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3, 4]);
    copy.dispose();
    assert.equal(backend.numDataIds(), buffers, 'freed with the last tensor');
  });
});
