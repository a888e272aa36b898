/**
 * The kernel pool's convolution kernels (src/engine/backend/wasmKernels/parallelConv.ts, convKernels.wat)
 * against the cpu backend, on shapes that reach every path: register tiles and their row / column
 * remainders (channels 12, 20: a 4-column tail; 3, 5 input channels: 1-row tiles), strides 1 and 2,
 * same/valid padding, kernel sizes 1–5, weight gradients with more tiles than a task has items (grouped),
 * and tensors large enough to be shared out over several items. Then the same kernels on 1 and 3 threads:
 * identical to the bit.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-layers registers the core gradients (Sum's) the gradient test needs.
import '@tensorflow/tfjs-layers';
import { configureThreads, initBackend } from '../../src/engine/backend/selectBackend';
import { kernelPool } from '../../src/engine/backend/wasmThreads/kernelPool';
import { clippedRelu } from '../../src/engine/backend/fusedOps/clippedRelu';
import { createRng, type Rng } from '../../src/core/rng';
import { randomValues, relativeError } from '../helpers/numericCompare';

const TOLERANCE = 1e-4;

type Shape4 = [number, number, number, number];
interface Case {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: 'same' | 'valid';
}

/** The four kernels of a convolution, on a backend, from the same inputs. */
async function convKernels(
  backend: 'cpu' | 'wasm',
  c: Case,
  depthwise: boolean,
  rng: Rng,
): Promise<Float32Array[]> {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, depthwise);
  const x = randomValues(c.x, rng);
  const w = randomValues(c.filter, rng);
  const dy = randomValues(info.outShape, rng);
  await tf.setBackend(backend);
  const t = { x: tf.tensor4d(x, c.x), w: tf.tensor4d(w, c.filter), dy: tf.tensor4d(dy, info.outShape) };
  const outs = depthwise
    ? [
        tf.depthwiseConv2d(t.x, t.w, c.strides, c.pad),
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: t.dy, filter: t.w }, {
          strides: c.strides,
          dilations: 1,
          pad: c.pad,
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: t.x, dy: t.dy }, {
          strides: c.strides,
          dilations: 1,
          pad: c.pad,
          filterShape: c.filter,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ]
    : [
        tf.conv2d(t.x, t.w, c.strides, c.pad),
        tf.engine().runKernel('Conv2DBackpropInput', { dy: t.dy, filter: t.w }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: 'NHWC',
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
        tf.engine().runKernel('Conv2DBackpropFilter', { x: t.x, dy: t.dy }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape: c.filter,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ];
  const values = await Promise.all(outs.map(async (o) => (await o.data()) as Float32Array));
  tf.dispose([...Object.values(t), ...outs]);
  return values;
}

const CONV: Case[] = [
  { x: [8, 24, 24, 8], filter: [1, 1, 8, 16], strides: 1, pad: 'same' }, // pointwise, 4×8 tiles, many items
  { x: [4, 9, 7, 12], filter: [1, 1, 12, 20], strides: 1, pad: 'valid' }, // 4-column tails both ways
  { x: [3, 13, 11, 3], filter: [3, 3, 3, 8], strides: 2, pad: 'same' }, // the RGB first layer: 1-row tiles
  { x: [2, 10, 9, 5], filter: [3, 3, 5, 12], strides: 1, pad: 'valid' }, // 4 + 1 input channels
  { x: [2, 11, 12, 4], filter: [5, 5, 4, 4], strides: [2, 1], pad: 'same' },
  { x: [2, 6, 6, 64], filter: [3, 3, 64, 512], strides: 1, pad: 'same' }, // 9216 tiles: grouped items
];

const DEPTHWISE: Case[] = [
  { x: [8, 24, 24, 16], filter: [3, 3, 16, 1], strides: 1, pad: 'same' },
  { x: [4, 13, 11, 8], filter: [3, 3, 8, 1], strides: 2, pad: 'same' },
  { x: [3, 12, 12, 12], filter: [3, 3, 12, 1], strides: 2, pad: 'valid' },
  { x: [2, 9, 10, 4], filter: [5, 5, 4, 1], strides: [1, 2], pad: 'same' },
  { x: [2, 8, 8, 20], filter: [2, 2, 20, 1], strides: 2, pad: 'same' },
];

const NAMES = ['forward', 'input gradient', 'weight gradient'];

describe('kernel pool convolution kernels', () => {
  before(async () => {
    await initBackend('wasm', { threads: 2 });
    assert.equal(kernelPool()?.threads, 2, 'the threaded build runs with its pool');
  });
  after(() => configureThreads(undefined));

  for (const [label, cases, depthwise] of [
    ['Conv2D', CONV, false],
    ['DepthwiseConv2D', DEPTHWISE, true],
  ] as const) {
    it(`${label}: forward, input and weight gradients match the cpu backend`, async () => {
      for (const c of cases) {
        const ours = await convKernels('wasm', c, depthwise, createRng(JSON.stringify(c)));
        const cpu = await convKernels('cpu', c, depthwise, createRng(JSON.stringify(c)));
        ours.forEach((values, i) => {
          const error = relativeError(values, cpu[i], 1e-3);
          assert.ok(
            error <= TOLERANCE,
            `${JSON.stringify(c)} ${NAMES[i]}: relative error ${error.toExponential(2)}`,
          );
        });
      }
      await tf.setBackend('wasm');
    });
  }

  it('ReLU6 (ClipByValue) and its gradient match the definition', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomUniform([4, 40, 40, 8], -10, 10, 'float32', 3);
    const y = clippedRelu(x, 6);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(clippedRelu(t, 6)))(x);
    const [xv, yv, dv] = [await x.data(), await y.data(), await dx.data()];
    xv.forEach((v, i) => assert.equal(yv[i], Math.min(6, Math.max(0, v))));
    assert.ok(dv.every((d, i) => d === (xv[i] > 0 && xv[i] <= 6 ? 1 : 0)));
    tf.dispose([x, y, dx]);
  });

  it('give the same values, to the bit, on 1 and 3 threads', async () => {
    const run = async (threads: number): Promise<Float32Array[]> => {
      await initBackend('wasm', { threads });
      assert.equal(kernelPool()?.threads, threads);
      const out: Float32Array[] = [];
      for (const c of CONV) out.push(...(await convKernels('wasm', c, false, createRng(JSON.stringify(c)))));
      for (const c of DEPTHWISE)
        out.push(...(await convKernels('wasm', c, true, createRng(JSON.stringify(c)))));
      return out;
    };
    const one = await run(1);
    const three = await run(3);
    one.forEach((values, i) => assert.deepEqual(three[i], values, `output ${i}`));
  });
});
