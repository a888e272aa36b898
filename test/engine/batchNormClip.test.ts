/**
 * Batch norm in training mode fused with ReLU6 (fusedOps/batchNormClip.ts): output, batch statistics and
 * the gradients of x, γ and β equal FineTuneBatchNormTraining followed by the clipped ReLU to the bit on
 * the kernel pool (1, 2 and 3 threads alike), and tfjs' composed ops within 1e-4 on wasm and cpu (the
 * copy path). A training step of a conv → BN → ReLU6 model through the chains gives the same gradients,
 * moving statistics and evaluation output, to the bit, as through the layers one by one.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { configureThreads, initBackend } from '../../src/engine/backend/selectBackend';
import { kernelPool } from '../../src/engine/backend/wasmThreads/kernelPool';
import { BATCH_NORM_CLIP, batchNormTrainingClip } from '../../src/engine/backend/fusedOps/batchNormClip';
import { batchNormTraining } from '../../src/engine/backend/fusedOps/batchNormTraining';
import { clippedRelu } from '../../src/engine/backend/fusedOps/clippedRelu';
import { fusedChainCall } from '../../src/engine/backend/fusedOps/fusedChains';
import { fusedLeafCall } from '../../src/engine/backend/fusedOps/fusedLayerCall';
import { walkContainer } from '../../src/engine/model/graphWalk';
import { createRng } from '../../src/core/rng';
import { randomValues, relativeError } from '../helpers/numericCompare';

/** Shapes: SIMD channel counts, several pool items, one odd channel count (the scalar loops). */
const SHAPES = [
  [8, 24, 24, 16],
  [3, 7, 5, 12],
  [64, 3, 3, 128],
  [2, 5, 5, 6],
];
const MAX = 0.75; // a low ceiling: many values on both sides of it

type Mode = 'fused' | 'kernels' | 'composed';

/** Output, mean, variance and the gradients of Σ y·w with respect to x, γ, β. */
function compute(shape: number[], mode: Mode): Float32Array[] {
  const rng = createRng(JSON.stringify(shape));
  const c = shape[3];
  const x = tf.tensor(randomValues(shape, rng, -2, 2), shape);
  const gamma = tf.tensor(randomValues([c], rng, 0.5, 1.5), [c]);
  const beta = tf.tensor(randomValues([c], rng, -0.5, 0.5), [c]);
  const w = tf.tensor(randomValues(shape, rng), shape);
  const forward = (xv: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
    if (mode === 'fused') return batchNormTrainingClip(xv, g, b, 1e-3, MAX);
    if (mode === 'kernels') {
      const [y, mean, variance] = batchNormTraining(xv, g, b, 1e-3);
      return [clippedRelu(y, MAX), mean, variance];
    }
    const { mean, variance } = tf.moments(xv, [0, 1, 2]);
    return [tf.clipByValue(tf.relu(tf.batchNorm(xv, mean, variance, b, g, 1e-3)), 0, MAX), mean, variance];
  };
  const values = tf.tidy(() => {
    const outputs = forward(x, gamma, beta);
    const grads = tf.grads((xv, g, b) => tf.sum(tf.mul(forward(xv, g, b)[0], w)))([x, gamma, beta]);
    return [...outputs, ...grads].map((t) => t.dataSync() as Float32Array);
  });
  tf.dispose([x, gamma, beta, w]);
  return values;
}

function sameBits(a: Float32Array[], b: Float32Array[], what: string): void {
  a.forEach((values, i) => {
    for (let k = 0; k < values.length; k++) {
      if (!Object.is(values[k], b[i][k]))
        assert.fail(`${what}, output ${i}: value ${k} ${values[k]} ≠ ${b[i][k]}`);
    }
  });
}

describe('batch norm (training) fused with ReLU6', () => {
  before(async () => {
    await initBackend('cpu');
    await initBackend('wasm', { threads: 2 });
    assert.equal(kernelPool()?.threads, 2);
  });
  after(() => configureThreads(undefined));

  it('equals the batch-norm and clip kernels to the bit on wasm, and the composed ops within 1e-4 (wasm, cpu)', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      for (const shape of SHAPES) {
        const fused = compute(shape, 'fused');
        if (backend === 'wasm') sameBits(fused, compute(shape, 'kernels'), `${shape} on wasm`);
        const composed = compute(shape, 'composed');
        fused.forEach((values, i) => {
          const error = relativeError(values, composed[i], 1e-3);
          assert.ok(
            error <= 1e-4,
            `${shape} on ${backend}, output ${i}: relative error ${error.toExponential(2)}`,
          );
        });
      }
    }
    await tf.setBackend('wasm');
  });

  it('gives the same bits on 1 and 3 threads', async () => {
    const all = async (threads: number): Promise<Float32Array[][]> => {
      await initBackend('wasm', { threads });
      assert.equal(kernelPool()?.threads, threads);
      return SHAPES.map((shape) => compute(shape, 'fused'));
    };
    const one = await all(1);
    const three = await all(3);
    one.forEach((values, i) => sameBits(three[i], values, `shape ${SHAPES[i]}: 3 threads vs 1`));
    await initBackend('wasm', { threads: 2 });
  });

  it('a training step through the chains: the same bits as layer by layer, and the fused kernel runs', async () => {
    await tf.setBackend('wasm');
    const rng = createRng('bn-clip-model');
    const build = (): tfl.LayersModel =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({
            inputShape: [12, 12, 3],
            filters: 8,
            kernelSize: 3,
            strides: 2,
            useBias: false,
          }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU({ maxValue: 6 }),
          tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU({ maxValue: 6 }),
          tfl.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU({ maxValue: 6 }),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    const template = build();
    const weights = template.weights.map((w) => {
      const shape = w.shape as number[];
      return { shape, values: randomValues(shape, rng, w.name.includes('variance') ? 0.5 : -1, 1.5) };
    });
    template.dispose();
    const images = randomValues([6, 12, 12, 3], rng, -1, 1);
    const labels = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0, 2], 'int32'), 3);
    const step = async (chains: boolean): Promise<{ values: Float32Array[]; kernels: string[] }> => {
      const model = build();
      model.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
      const inner = (model as unknown as { model: tfl.LayersModel }).model ?? model;
      const x = tf.tensor(images, [6, 12, 12, 3]);
      const forward = (training: boolean): tf.Tensor =>
        walkContainer(inner, [x], {
          kwargsFor: () => ({ training }),
          applyLayer: fusedLeafCall,
          ...(chains ? { applyChain: fusedChainCall } : {}),
        })[0] as tf.Tensor;
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const kernels: string[] = [];
      const profile = await tf.profile(() => {
        const { grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(labels, forward(true)) as tf.Scalar,
          variables,
        );
        const out = variables.map((v) => grads[v.name].dataSync() as Float32Array);
        tf.dispose(Object.values(grads));
        return out as unknown as tf.Tensor[];
      });
      kernels.push(...profile.kernels.map((k) => k.name));
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, forward(true)) as tf.Scalar,
        variables,
      );
      const values = [
        ...variables.map((v) => grads[v.name].dataSync() as Float32Array),
        ...model.getWeights().map((w) => w.dataSync() as Float32Array),
        tf.tidy(() => forward(false)).dataSync() as Float32Array,
      ];
      tf.dispose([x, ...Object.values(grads)]);
      model.dispose();
      return { values, kernels };
    };
    const fused = await step(true);
    const layers = await step(false);
    assert.equal(fused.kernels.filter((k) => k === BATCH_NORM_CLIP).length, 3, 'each BN → ReLU6 fused');
    assert.ok(!layers.kernels.includes(BATCH_NORM_CLIP));
    sameBits(fused.values, layers.values, 'gradients, moving statistics, evaluation output');
    labels.dispose();
  });
});
