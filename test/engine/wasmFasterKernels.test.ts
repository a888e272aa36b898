/**
 * The faster wasm kernels put over the backend's own (Tile by block copies, 1×1 Conv2DBackpropInput as a
 * matrix product): installed once, the same values as the cpu backend — bit-identical for Tile, within
 * 1e-4 relative for the convolution — on random cases, the cases they do not handle passed on to the
 * backend's kernel, and the gradients of a BN + pointwise network the same on wasm as on cpu.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/engine/backend/selectBackend';
import {
  WASM_FASTER_KERNELS,
  isFasterWasmKernel,
  replaceSlowWasmKernels,
} from '../../src/engine/backend/wasmKernels/fasterWasmKernels';
import { tileInto } from '../../src/engine/backend/wasmKernels/tileByCopies';
import { transposedMatMul } from '../../src/engine/backend/wasmKernels/transposedMatMul';
import type { KernelArgs } from '../../src/engine/backend/wasmKernels/wasmKernelCalls';
import { createRng } from '../../src/core/rng';
import { randomValues, relativeError } from '../helpers/numericCompare';

async function valuesOn(backend: 'cpu' | 'wasm', compute: () => tf.Tensor): Promise<number[]> {
  await tf.setBackend(backend);
  const result = tf.tidy(compute);
  const values = Array.from(result.dataSync());
  result.dispose();
  return values;
}

async function withoutLeaks(body: () => Promise<void>): Promise<void> {
  const tensors = tf.memory().numTensors;
  const dataIds = tf.findBackend('wasm')!.numDataIds();
  await body();
  assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
  assert.equal(tf.findBackend('wasm')!.numDataIds(), dataIds, 'no wasm buffer left behind');
}

describe('faster wasm kernels', () => {
  before(async () => {
    await initBackend('wasm'); // installs them, as a real run does
  });

  it('are installed over the backend’s own when wasm initialises, once', () => {
    for (const { kernelName } of WASM_FASTER_KERNELS) assert.ok(isFasterWasmKernel(kernelName), kernelName);
    assert.deepEqual(replaceSlowWasmKernels(), []);
  });

  it('tileInto equals tf.tile on cpu for ranks 0–5, reps of 1, empty dimensions, int32 and bool', async () => {
    const rng = createRng('tile');
    const cases: [number[], number[]][] = [
      [[], []],
      [[3], [4]],
      [
        [1, 1, 1, 5],
        [2, 3, 4, 1],
      ],
      [
        [2, 3],
        [1, 1],
      ],
      [
        [2, 1, 3],
        [3, 4, 2],
      ],
      [
        [3, 2, 1, 2, 2],
        [1, 2, 3, 1, 2],
      ],
      [
        [2, 0, 3],
        [2, 2, 2],
      ],
      [
        [4, 3],
        [0, 2],
      ],
    ];
    await tf.setBackend('cpu');
    for (const [shape, reps] of cases) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const values = randomValues(shape, rng).map((v) => (dtype === 'float32' ? v : v > 0 ? 1 : 0));
        const x = tf.tensor(values, shape, dtype);
        const expected = tf.tile(x, reps);
        const src = x.dataSync() as Float32Array | Int32Array | Uint8Array;
        const dst = new (src.constructor as Float32ArrayConstructor)(expected.size);
        tileInto(src, shape, reps, dst);
        assert.deepEqual(Array.from(dst), Array.from(expected.dataSync()), `${dtype} [${shape}] × [${reps}]`);
        tf.dispose([x, expected]);
      }
    }
  });

  it('Tile on wasm gives the cpu values exactly (BN gradient shape, odd shapes, int32)', async () => {
    const rng = createRng('tile-wasm');
    const cases: [number[], number[], 'float32' | 'int32'][] = [
      [[1, 1, 1, 8], [4, 6, 5, 1], 'float32'],
      [[3, 1, 2], [2, 5, 3], 'float32'],
      [[2, 3], [3, 2], 'int32'],
    ];
    await withoutLeaks(async () => {
      for (const [shape, reps, dtype] of cases) {
        const values = randomValues(shape, rng).map((v) => (dtype === 'int32' ? Math.round(v * 100) : v));
        const run = (): tf.Tensor => tf.tile(tf.tensor(values, shape, dtype), reps);
        assert.deepEqual(await valuesOn('wasm', run), await valuesOn('cpu', run), `[${shape}] × [${reps}]`);
      }
    });
  });

  it('Conv2DBackpropInput matches cpu: 1×1 stride 1 (fast path) and every other case (backend’s own)', async () => {
    const rng = createRng('backprop-input');
    const cases: {
      x: number[];
      filter: number[];
      strides: number;
      pad: 'same' | 'valid';
      format?: 'NCHW';
    }[] = [
      { x: [4, 6, 6, 16], filter: [1, 1, 16, 12], strides: 1, pad: 'valid' },
      { x: [3, 5, 7, 8], filter: [1, 1, 8, 8], strides: 1, pad: 'same' },
      { x: [2, 9, 9, 3], filter: [1, 1, 3, 5], strides: 2, pad: 'same' },
      { x: [2, 7, 8, 4], filter: [3, 3, 4, 6], strides: 1, pad: 'same' },
      { x: [2, 9, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'valid' },
      { x: [2, 4, 5, 6], filter: [1, 1, 4, 3], strides: 1, pad: 'valid', format: 'NCHW' },
    ];
    await withoutLeaks(async () => {
      for (const c of cases) {
        const nchw = c.format === 'NCHW';
        const [n, a, b, d] = c.x;
        const nhwc = nchw ? [n, b, d, a] : c.x;
        const info = tf.backend_util.computeConv2DInfo(
          nhwc as [number, number, number, number],
          c.filter as [number, number, number, number],
          c.strides,
          1,
          c.pad,
        );
        const dyShape = nchw
          ? [n, info.outChannels, info.outHeight, info.outWidth]
          : [n, info.outHeight, info.outWidth, info.outChannels];
        const dy = randomValues(dyShape, rng);
        const filter = randomValues(c.filter, rng);
        const run = (): tf.Tensor =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, c.filter) },
              { strides: c.strides, pad: c.pad, dataFormat: c.format ?? 'NHWC', inputShape: c.x } as never,
            ) as tf.Tensor;
        const error = relativeError(await valuesOn('wasm', run), await valuesOn('cpu', run));
        assert.ok(error <= 1e-4, `${JSON.stringify(c)}: relative error ${error.toExponential(2)}`);
      }
    });
  });

  it('gradients of a pointwise + trainable BatchNormalization + ReLU6 network are the same on wasm as on cpu', async () => {
    const rng = createRng('bn-pointwise');
    const build = (): tfl.LayersModel =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({ inputShape: [6, 7, 5], filters: 8, kernelSize: 1, useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.reLU({ maxValue: 6 }),
          tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }),
          tfl.layers.batchNormalization({}),
          tfl.layers.conv2d({ filters: 6, kernelSize: 1, useBias: false }),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: 3, activation: 'softmax' }),
        ],
      });
    await tf.setBackend('cpu');
    const template = build();
    const weights = template
      .getWeights()
      .map((w) => ({ shape: w.shape, values: randomValues(w.shape, rng) }));
    template.dispose();
    const images = randomValues([4, 6, 7, 5], rng);
    const labels = [0, 2, 1, 2];
    const gradientsOn = async (backend: 'cpu' | 'wasm'): Promise<number[][]> => {
      await tf.setBackend(backend);
      const model = build();
      const initial = weights.map((w) => tf.tensor(w.values, w.shape));
      model.setWeights(initial);
      tf.dispose(initial);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.tidy(() =>
        tf.variableGrads(() => {
          const p = model.apply(tf.tensor4d(images, [4, 6, 7, 5]), { training: true }) as tf.Tensor;
          return tf.neg(
            tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 3), tf.log(tf.add(p, 1e-7))), 1)),
          ) as tf.Scalar;
        }, variables),
      );
      const values = variables.map((v) => Array.from(grads[v.name].dataSync()));
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
      return values;
    };
    await withoutLeaks(async () => {
      const onWasm = await gradientsOn('wasm');
      const onCpu = await gradientsOn('cpu');
      onWasm.forEach((g, i) => {
        const error = relativeError(g, onCpu[i]);
        assert.ok(error <= 1e-4, `weight ${i}: relative error ${error.toExponential(2)}`);
      });
    });
  });

  it('BatchMatMul with transposed operands matches cpu, through an explicit Transpose (Dense backward shapes, batches, broadcast)', async () => {
    assert.ok(isFasterWasmKernel(tf.BatchMatMul), 'installed over the backend’s BatchMatMul');
    const rng = createRng('matmul');
    const cases: { a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }[] = [
      { a: [32, 256], b: [32, 10], transposeA: true, transposeB: false }, // dW = xᵀ·dy
      { a: [32, 10], b: [256, 10], transposeA: false, transposeB: true }, // dx = dy·Wᵀ
      { a: [7, 5], b: [3, 7], transposeA: true, transposeB: true },
      { a: [3, 6, 4], b: [3, 6, 5], transposeA: true, transposeB: false },
      { a: [1, 4, 6], b: [3, 5, 6], transposeA: false, transposeB: true }, // a's batch broadcast
      { a: [9, 8], b: [8, 3], transposeA: false, transposeB: false }, // the backend's own kernel
    ];
    await withoutLeaks(async () => {
      for (const c of cases) {
        const a = randomValues(c.a, rng);
        const b = randomValues(c.b, rng);
        const run = (): tf.Tensor =>
          tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), c.transposeA, c.transposeB);
        const error = relativeError(await valuesOn('wasm', run), await valuesOn('cpu', run));
        assert.ok(error <= 1e-5, `${JSON.stringify(c)}: relative error ${error.toExponential(2)}`);
        // The replacement takes exactly the transposed products (the plain one stays with the backend).
        await tf.setBackend('wasm');
        const [ta, tb] = [tf.tensor(a, c.a), tf.tensor(b, c.b)];
        const args = {
          inputs: { a: ta, b: tb },
          backend: tf.backend(),
          attrs: { transposeA: c.transposeA, transposeB: c.transposeB },
        } as unknown as KernelArgs;
        const out = transposedMatMul(args);
        assert.equal(out !== undefined, c.transposeA || c.transposeB, JSON.stringify(c));
        if (out) tf.backend().disposeData(out.dataId);
        tf.dispose([ta, tb]);
      }
    });
  });
});
