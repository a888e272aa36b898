/**
 * The fused convolution → inference-mode batch norm → ReLU6 kernel (fusedOps/convBatchNorm.ts) and the
 * chains that use it (fusedChains.ts): on the kernel pool (1×1 and depthwise convolutions, with 4-column
 * tails, strides 1 and 2, same and valid padding, with and without the clip) it equals the three kernels
 * run one after the other to the bit, on 1, 2 and 3 threads alike; where the pool does not take the call
 * (another geometry, the cpu backend) it runs those three kernels; every path agrees with the cpu
 * backend's composed ops. A model's forward pass uses it only in inference mode with no gradient tape,
 * and never fuses away a tensor something else reads.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { configureThreads, initBackend } from '../../src/engine/backend/selectBackend';
import { kernelPool } from '../../src/engine/backend/wasmThreads/kernelPool';
import { batchNormInference } from '../../src/engine/backend/fusedOps/batchNormInference';
import { clippedRelu } from '../../src/engine/backend/fusedOps/clippedRelu';
import { CONV_BATCH_NORM, convBatchNorm } from '../../src/engine/backend/fusedOps/convBatchNorm';
import { BATCH_NORM_CLIP } from '../../src/engine/backend/fusedOps/batchNormClip';
import { findFusedChains, fusedChainCall } from '../../src/engine/backend/fusedOps/fusedChains';
import { fusedLeafCall } from '../../src/engine/backend/fusedOps/fusedLayerCall';
import { walkContainer } from '../../src/engine/model/graphWalk';
import { createRng } from '../../src/core/rng';
import { randomValues, relativeError } from '../helpers/numericCompare';

type Shape4 = [number, number, number, number];
interface Case {
  x: Shape4;
  filter: Shape4;
  depthwise: boolean;
  strides: number;
  pad: 'same' | 'valid';
  clipMax: number | null;
  /** Whether the kernel pool takes it (else the three kernels run in a row). */
  pooled: boolean;
}

const CASES: Case[] = [
  {
    x: [8, 12, 12, 16],
    filter: [1, 1, 16, 32],
    depthwise: false,
    strides: 1,
    pad: 'same',
    clipMax: 6,
    pooled: true,
  },
  {
    x: [3, 7, 9, 12],
    filter: [1, 1, 12, 20],
    depthwise: false,
    strides: 1,
    pad: 'valid',
    clipMax: null,
    pooled: true,
  },
  {
    x: [8, 24, 24, 16],
    filter: [3, 3, 16, 1],
    depthwise: true,
    strides: 1,
    pad: 'same',
    clipMax: 6,
    pooled: true,
  },
  {
    x: [4, 13, 11, 8],
    filter: [3, 3, 8, 1],
    depthwise: true,
    strides: 2,
    pad: 'same',
    clipMax: 6,
    pooled: true,
  },
  {
    x: [3, 12, 12, 12],
    filter: [3, 3, 12, 1],
    depthwise: true,
    strides: 2,
    pad: 'valid',
    clipMax: 1.5,
    pooled: true,
  },
  // Not the pool's: a 3×3 Conv2D, a strided 1×1 one, channels not in fours.
  {
    x: [3, 13, 11, 3],
    filter: [3, 3, 3, 8],
    depthwise: false,
    strides: 2,
    pad: 'same',
    clipMax: 6,
    pooled: false,
  },
  {
    x: [2, 8, 8, 8],
    filter: [1, 1, 8, 8],
    depthwise: false,
    strides: 2,
    pad: 'same',
    clipMax: 6,
    pooled: false,
  },
  {
    x: [2, 9, 9, 6],
    filter: [3, 3, 6, 1],
    depthwise: true,
    strides: 1,
    pad: 'same',
    clipMax: 6,
    pooled: false,
  },
];

/** x, filter and batch-norm statistics of a case, as plain values (variance and γ positive). */
function inputsOf(c: Case): Record<string, { values: Float32Array; shape: number[] }> {
  const rng = createRng(JSON.stringify(c));
  const channels = c.depthwise ? c.x[3] : c.filter[3];
  const v = (shape: number[], low = -1, high = 1) => ({ values: randomValues(shape, rng, low, high), shape });
  return {
    x: v(c.x, -3, 3),
    filter: v(c.filter),
    mean: v([channels]),
    variance: v([channels], 0.2, 2),
    gamma: v([channels], 0.5, 2),
    beta: v([channels], -2, 2),
  };
}

/** The case on the current backend, fused or as the three ops in a row; its values. */
function run(c: Case, fused: boolean): Float32Array {
  const i = inputsOf(c);
  return tf
    .tidy(() => {
      const t = Object.fromEntries(
        Object.entries(i).map(([k, { values, shape }]) => [k, tf.tensor(values, shape)]),
      );
      const stats = { mean: t.mean, variance: t.variance, gamma: t.gamma, beta: t.beta };
      const x = t.x as tf.Tensor4D;
      const filter = t.filter as tf.Tensor4D;
      if (fused) {
        return convBatchNorm(x, filter, stats, {
          depthwise: c.depthwise,
          strides: [c.strides, c.strides],
          pad: c.pad,
          dilations: [1, 1],
          epsilon: 1e-3,
          clipMax: c.clipMax,
        });
      }
      const conv = c.depthwise
        ? tf.depthwiseConv2d(x, filter, c.strides, c.pad)
        : tf.conv2d(x, filter, c.strides, c.pad);
      const normalised = batchNormInference(conv, stats, 1e-3);
      return c.clipMax === null ? normalised : clippedRelu(normalised, c.clipMax);
    })
    .dataSync() as Float32Array;
}

/** The cpu backend's own ops (tf.batchNorm, relu + clipByValue): the reference. */
async function reference(c: Case): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const i = inputsOf(c);
  const values = tf
    .tidy(() => {
      const t = Object.fromEntries(
        Object.entries(i).map(([k, { values: v, shape }]) => [k, tf.tensor(v, shape)]),
      );
      const x = t.x as tf.Tensor4D;
      const filter = t.filter as tf.Tensor4D;
      const conv = c.depthwise
        ? tf.depthwiseConv2d(x, filter, c.strides, c.pad)
        : tf.conv2d(x, filter, c.strides, c.pad);
      const y = tf.batchNorm(conv, t.mean, t.variance, t.beta, t.gamma, 1e-3);
      return c.clipMax === null ? y : tf.clipByValue(tf.relu(y), 0, c.clipMax);
    })
    .dataSync() as Float32Array;
  await tf.setBackend('wasm');
  return values;
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let k = 0; k < a.length; k++) {
    if (!Object.is(a[k], b[k])) assert.fail(`${what}: value ${k} is ${a[k]}, not ${b[k]}`);
  }
}

/** How many times each kernel ran while `body` did. */
async function kernelCounts(body: () => tf.Tensor): Promise<Map<string, number>> {
  const info = await tf.profile(() => body());
  const counts = new Map<string, number>();
  for (const k of info.kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
  return counts;
}

describe('fused convolution → batch norm → ReLU6', () => {
  before(async () => {
    await initBackend('cpu');
    await initBackend('wasm', { threads: 2 });
    assert.equal(kernelPool()?.threads, 2, 'the threaded build runs with its pool');
  });
  after(() => configureThreads(undefined));

  it('equals the three kernels to the bit on wasm, and the cpu backend’s ops within 1e-5', async () => {
    for (const c of CASES) {
      await tf.setBackend('wasm');
      const what = JSON.stringify(c);
      const fused = run(c, true);
      sameBits(fused, run(c, false), `${what}: fused vs unfused on wasm`);
      const error = relativeError(fused, await reference(c), 1e-3);
      assert.ok(error <= 1e-5, `${what}: relative error ${error.toExponential(2)} against cpu`);
    }
  });

  it('takes the pool’s path where it can (one kernel, no convolution kernel), the three kernels elsewhere', async () => {
    await tf.setBackend('wasm');
    for (const c of CASES) {
      const counts = await kernelCounts(() => tf.tensor(run(c, true)));
      assert.equal(counts.get(CONV_BATCH_NORM), 1, JSON.stringify(c));
    }
    // The pool path is timed apart from the convolution: a call of a pooled case must not run Conv2D.
    const calls: string[] = [];
    const own = tf.getKernel(tf.Conv2D, 'wasm')!;
    tf.unregisterKernel(tf.Conv2D, 'wasm');
    tf.registerKernel({ ...own, kernelFunc: (args) => (calls.push('conv'), own.kernelFunc(args)) });
    try {
      run(CASES[0], true);
      assert.deepEqual(calls, [], 'the pooled 1×1 case runs no Conv2D kernel');
      run(CASES[5], true);
      assert.deepEqual(calls, ['conv'], 'the 3×3 case runs the backend’s Conv2D');
    } finally {
      tf.unregisterKernel(tf.Conv2D, 'wasm');
      tf.registerKernel(own);
    }
  });

  it('on cpu: the same bits as the three kernels there', async () => {
    await tf.setBackend('cpu');
    for (const c of CASES) sameBits(run(c, true), run(c, false), `${JSON.stringify(c)} on cpu`);
    await tf.setBackend('wasm');
  });

  it('gives the same bits on 1 and 3 threads', async () => {
    const all = async (threads: number): Promise<Float32Array[]> => {
      await initBackend('wasm', { threads });
      assert.equal(kernelPool()?.threads, threads);
      return CASES.map((c) => run(c, true));
    };
    const one = await all(1);
    const three = await all(3);
    one.forEach((values, k) => sameBits(three[k], values, `case ${k}: 3 threads vs 1`));
    await initBackend('wasm', { threads: 2 });
  });

  it('a model: fused in inference mode without a tape; the layers’ own calls when training or taping', async () => {
    await tf.setBackend('wasm');
    const input = tfl.input({ shape: [10, 10, 8] });
    const conv = tfl.layers
      .conv2d({ filters: 8, kernelSize: 1, useBias: false })
      .apply(input) as tfl.SymbolicTensor;
    const bn = tfl.layers.batchNormalization({}).apply(conv) as tfl.SymbolicTensor;
    const relu = tfl.layers.reLU({ maxValue: 6 }).apply(bn) as tfl.SymbolicTensor;
    const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }).apply(relu);
    const bn2 = tfl.layers.batchNormalization({}).apply(dw) as tfl.SymbolicTensor;
    // The second batch norm's output is read twice (a residual add): its chain stops short of it.
    const sum = tfl.layers
      .add()
      .apply([bn2, tfl.layers.reLU({ maxValue: 6 }).apply(bn2) as tfl.SymbolicTensor]);
    const model = tfl.model({ inputs: input, outputs: sum as tfl.SymbolicTensor });
    const rng = createRng('fused-model');
    model.setWeights(
      model.weights.map((w) => {
        const shape = w.shape as number[];
        return tf.tensor(randomValues(shape, rng, w.name.includes('variance') ? 0.5 : -1, 2), shape);
      }),
    );
    const nodes = Object.values(
      (model as unknown as { nodesByDepth: Record<string, Parameters<typeof findFusedChains>[0]> })
        .nodesByDepth,
    ).flat();
    const chains = [...findFusedChains(nodes, model.outputs).values()].map((chain) =>
      chain.map((n) => n.outboundLayer.getClassName()),
    );
    assert.deepEqual(
      chains.sort(),
      [
        ['BatchNormalization', 'ReLU'],
        ['Conv2D', 'BatchNormalization', 'ReLU'],
        ['DepthwiseConv2D', 'BatchNormalization'],
      ],
      'conv → BN → ReLU6 (and its BN → ReLU6 for training mode), and the depthwise → BN whose output is read twice without its ReLU',
    );
    const x = tf.tensor(randomValues([4, 10, 10, 8], rng, -2, 2), [4, 10, 10, 8]);
    const forward = (training: boolean, fused: boolean): tf.Tensor =>
      walkContainer(model, [x], {
        kwargsFor: () => ({ training }),
        applyLayer: fusedLeafCall,
        ...(fused ? { applyChain: fusedChainCall } : {}),
      })[0] as tf.Tensor;
    const inference = await kernelCounts(() => forward(false, true));
    assert.equal(inference.get(CONV_BATCH_NORM), 2, 'both chains fused');
    sameBits(
      tf.tidy(() => forward(false, true)).dataSync() as Float32Array,
      tf.tidy(() => forward(false, false)).dataSync() as Float32Array,
      'fused vs layer by layer',
    );
    const training = await kernelCounts(() => forward(true, true));
    assert.equal(training.get(CONV_BATCH_NORM), undefined, 'batch norm in training mode is not fused');
    assert.equal(training.get(BATCH_NORM_CLIP), 1, 'in training mode, BN → ReLU6 alone is fused');
    const grad = tf.grad((t: tf.Tensor) => {
      const y = walkContainer(model, [t], {
        kwargsFor: () => ({ training: false }),
        applyChain: fusedChainCall,
      });
      return tf.sum(y[0] as tf.Tensor);
    });
    const taped = await kernelCounts(() => grad(x));
    assert.equal(taped.get(CONV_BATCH_NORM), undefined, 'under a gradient tape the layers run one by one');
    tf.dispose(x);
    model.dispose();
  });
});
