/**
 * Our wasm training kernels (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/-Input) against
 * the cpu backend's on random cases — raw kernels and through the public gradient API — and against the
 * definitions themselves where the cpu kernels are no reference (they ignore dilation).
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/engine/backend/selectBackend';
import {
  WASM_TRAINING_KERNELS,
  registerWasmTrainingKernels,
} from '../../src/engine/backend/wasmKernels/registerWasmKernels';
import { createRng } from '../../src/core/rng';
import { randomValues, relativeError } from '../helpers/numericCompare';

const TOLERANCE = 1e-4;

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const error = relativeError(actual, expected);
  assert.ok(error <= TOLERANCE, `${what}: relative error ${error.toExponential(2)} > ${TOLERANCE}`);
}

/** Runs `compute` on a backend and returns its values; every tensor it makes is disposed. */
async function valuesOn(backend: 'cpu' | 'wasm', compute: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const result = tf.tidy(compute);
  const values = result.dataSync() as Float32Array;
  result.dispose();
  return values;
}

function wasmDataIds(): number {
  return tf.findBackend('wasm')!.numDataIds();
}

/** Fails when `body` leaves tensors behind, in the engine or in the wasm backend's own storage. */
async function withoutLeaks(body: () => Promise<void>): Promise<void> {
  const tensors = tf.memory().numTensors;
  const dataIds = wasmDataIds();
  await body();
  assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
  assert.equal(wasmDataIds(), dataIds, 'no wasm buffer left behind');
}

type Pad = 'same' | 'valid' | number[][];
interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
  dataFormat?: 'NHWC' | 'NCHW';
}

function convInfo(c: ConvCase, depthwise: boolean): tf.backend_util.Conv2DInfo {
  const nhwc: [number, number, number, number] =
    c.dataFormat === 'NCHW' ? [c.x[0], c.x[2], c.x[3], c.x[1]] : c.x;
  return tf.backend_util.computeConv2DInfo(
    nhwc,
    c.filter,
    c.strides,
    c.dilations ?? 1,
    c.pad as 'same',
    undefined,
    depthwise,
  );
}

function dyShape(c: ConvCase, info: tf.backend_util.Conv2DInfo): number[] {
  return c.dataFormat === 'NCHW'
    ? [c.x[0], info.outChannels, info.outHeight, info.outWidth]
    : [c.x[0], info.outHeight, info.outWidth, info.outChannels];
}

const describeCase = (c: ConvCase): string => JSON.stringify(c);

// The definitions, element by element in float64: the reference where the cpu kernels ignore dilation.
function depthwiseFilterGradReference(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo) {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const m = outChannels / inChannels;
  const out = new Float64Array(info.filterHeight * info.filterWidth * outChannels);
  for (let r = 0; r < info.filterHeight; r++)
    for (let s = 0; s < info.filterWidth; s++)
      for (let k = 0; k < outChannels; k++)
        for (let b = 0; b < batchSize; b++)
          for (let i = 0; i < outHeight; i++)
            for (let j = 0; j < outWidth; j++) {
              const y = i * info.strideHeight + r * info.dilationHeight - info.padInfo.top;
              const xc = j * info.strideWidth + s * info.dilationWidth - info.padInfo.left;
              if (y < 0 || y >= inHeight || xc < 0 || xc >= inWidth) continue;
              out[(r * info.filterWidth + s) * outChannels + k] +=
                x[((b * inHeight + y) * inWidth + xc) * inChannels + Math.floor(k / m)] *
                dy[((b * outHeight + i) * outWidth + j) * outChannels + k];
            }
  return out;
}

function depthwiseInputGradReference(dy: Float32Array, w: Float32Array, info: tf.backend_util.Conv2DInfo) {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const m = outChannels / inChannels;
  const out = new Float64Array(batchSize * inHeight * inWidth * inChannels);
  for (let b = 0; b < batchSize; b++)
    for (let i = 0; i < outHeight; i++)
      for (let j = 0; j < outWidth; j++)
        for (let r = 0; r < info.filterHeight; r++)
          for (let s = 0; s < info.filterWidth; s++)
            for (let k = 0; k < outChannels; k++) {
              const y = i * info.strideHeight + r * info.dilationHeight - info.padInfo.top;
              const xc = j * info.strideWidth + s * info.dilationWidth - info.padInfo.left;
              if (y < 0 || y >= inHeight || xc < 0 || xc >= inWidth) continue;
              out[((b * inHeight + y) * inWidth + xc) * inChannels + Math.floor(k / m)] +=
                dy[((b * outHeight + i) * outWidth + j) * outChannels + k] *
                w[(r * info.filterWidth + s) * outChannels + k];
            }
  return out;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
};

const CONV_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [3, 7, 9, 2], filter: [3, 2, 2, 5], strides: 2, pad: 'valid' },
  { x: [2, 8, 8, 4], filter: [5, 5, 4, 3], strides: [2, 1], pad: 'same' },
  { x: [2, 9, 7, 3], filter: [1, 1, 3, 6], strides: 1, pad: 'valid' }, // pointwise: the matmul path
  { x: [2, 9, 7, 3], filter: [1, 1, 3, 6], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  { x: [3, 7, 9, 16], filter: [3, 3, 16, 8], strides: 1, pad: 'same' },
  {
    x: [1, 6, 5, 2],
    filter: [2, 2, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ],
  },
  { x: [2, 3, 7, 9], filter: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NCHW' },
];

const DEPTHWISE_CASES: ConvCase[] = [
  { x: [2, 7, 9, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { x: [3, 7, 9, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'valid' },
  { x: [2, 9, 7, 5], filter: [3, 3, 5, 2], strides: 2, pad: 'same' },
  { x: [1, 8, 8, 2], filter: [2, 2, 2, 1], strides: 2, pad: 'same' },
  { x: [2, 6, 7, 8], filter: [5, 5, 8, 1], strides: [1, 2], pad: 'same' },
  { x: [4, 12, 12, 16], filter: [3, 3, 16, 1], strides: 1, pad: 'same' },
  { x: [2, 9, 11, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same', dilations: 2 },
  { x: [2, 10, 9, 4], filter: [3, 2, 4, 1], strides: 1, pad: 'valid', dilations: 2 },
  { x: [3, 11, 10, 8], filter: [3, 3, 8, 1], strides: 2, pad: 'same' }, // MobileNet's strided layer: SIMD path
];

describe('wasm training kernels', () => {
  before(async () => {
    await initBackend('wasm'); // registers our kernels, as a real run does
  });

  it('are registered once the wasm backend is initialised, and registering again changes nothing', () => {
    for (const { kernelName } of WASM_TRAINING_KERNELS) {
      assert.ok(tf.getKernel(kernelName, 'wasm'), `${kernelName} registered for wasm`);
    }
    assert.deepEqual(registerWasmTrainingKernels(), []);
  });

  it('a kernel the backend already has is left alone; a missing one is registered again', () => {
    const ours = tf.getKernel('Conv2DBackpropFilter', 'wasm')!;
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    const theirs: tf.KernelConfig = { ...ours, kernelFunc: ours.kernelFunc };
    tf.registerKernel(theirs);
    try {
      assert.deepEqual(registerWasmTrainingKernels(), []);
      assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), theirs);
    } finally {
      tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    }
    assert.deepEqual(registerWasmTrainingKernels(), ['Conv2DBackpropFilter']);
  });

  it('Conv2DBackpropFilter matches the cpu kernel (strides 1/2, same/valid/explicit, odd sizes, NCHW)', async () => {
    const rng = createRng('conv-filter');
    await withoutLeaks(async () => {
      for (const c of CONV_CASES) {
        const info = convInfo(c, false);
        const x = randomValues(c.x, rng);
        const dy = randomValues(dyShape(c, info), rng);
        const attrs = {
          strides: c.strides,
          pad: c.pad,
          dataFormat: c.dataFormat ?? 'NHWC',
          filterShape: c.filter,
        };
        const run = () =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropFilter',
              { x: tf.tensor(x, c.x), dy: tf.tensor(dy, dyShape(c, info)) },
              attrs as never,
            ) as tf.Tensor;
        assertClose(await valuesOn('wasm', run), await valuesOn('cpu', run), describeCase(c));
      }
    });
  });

  it('depthwise filter and input gradients match the cpu kernels and the definition (multiplier 1/2, dilation 2)', async () => {
    const rng = createRng('depthwise');
    await withoutLeaks(async () => {
      for (const c of DEPTHWISE_CASES) {
        const info = convInfo(c, true);
        const x = randomValues(c.x, rng);
        const w = randomValues(c.filter, rng);
        const dy = randomValues(dyShape(c, info), rng);
        const common = { strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1 };
        const filterGrad = () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x: tf.tensor(x, c.x), dy: tf.tensor(dy, dyShape(c, info)) },
              { ...common, filterShape: c.filter } as never,
            ) as tf.Tensor;
        const inputGrad = () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy: tf.tensor(dy, dyShape(c, info)), filter: tf.tensor(w, c.filter) },
              { ...common, inputShape: c.x } as never,
            ) as tf.Tensor;
        const wasmFilter = await valuesOn('wasm', filterGrad);
        const wasmInput = await valuesOn('wasm', inputGrad);
        const refFilter = depthwiseFilterGradReference(x, dy, info);
        const refInput = depthwiseInputGradReference(dy, w, info);
        assertClose(wasmFilter, refFilter, `filter gradient vs definition ${describeCase(c)}`);
        assertClose(wasmInput, refInput, `input gradient vs definition ${describeCase(c)}`);

        // The definitions are right: for the linear map y = conv(x, w), ⟨dy, y⟩ = ⟨dW, w⟩ = ⟨dx, x⟩,
        // with y from tf's forward depthwise convolution (which does honour dilation).
        const y = await valuesOn('cpu', () =>
          tf.depthwiseConv2d(
            tf.tensor4d(x, c.x),
            tf.tensor4d(w, c.filter),
            c.strides,
            c.pad as 'same',
            'NHWC',
            c.dilations ?? 1,
          ),
        );
        const scale = Math.max(1, Math.abs(dot(dy, y)));
        assert.ok(
          Math.abs(dot(refFilter, w) - dot(dy, y)) / scale < 1e-6,
          'filter definition is the adjoint',
        );
        assert.ok(Math.abs(dot(refInput, x) - dot(dy, y)) / scale < 1e-6, 'input definition is the adjoint');

        // The cpu kernels ignore dilation (tfjs refuses dilated gradients before they are reached).
        if ((c.dilations ?? 1) === 1) {
          assertClose(
            wasmFilter,
            await valuesOn('cpu', filterGrad),
            `filter gradient vs cpu ${describeCase(c)}`,
          );
          assertClose(
            wasmInput,
            await valuesOn('cpu', inputGrad),
            `input gradient vs cpu ${describeCase(c)}`,
          );
        }
      }
    });
  });

  it('tf.grads of conv2d, depthwiseConv2d and separableConv2d are the same on wasm as on cpu', async () => {
    const rng = createRng('public-api');
    type Op = (x: tf.Tensor4D, w: tf.Tensor4D[]) => tf.Tensor4D;
    const cases: { name: string; x: number[]; weights: number[][]; op: Op }[] = [
      {
        name: 'conv2d s2 same',
        x: [3, 7, 9, 3],
        weights: [[3, 3, 3, 4]],
        op: (x, [w]) => tf.conv2d(x, w, 2, 'same'),
      },
      {
        name: 'conv2d 1×1',
        x: [2, 5, 6, 8],
        weights: [[1, 1, 8, 6]],
        op: (x, [w]) => tf.conv2d(x, w, 1, 'valid'),
      },
      {
        name: 'conv2d 5×5 s1 valid',
        x: [2, 9, 8, 2],
        weights: [[5, 5, 2, 3]],
        op: (x, [w]) => tf.conv2d(x, w, 1, 'valid'),
      },
      {
        name: 'depthwise m2 s2 valid',
        x: [2, 9, 7, 4],
        weights: [[3, 3, 4, 2]],
        op: (x, [w]) => tf.depthwiseConv2d(x, w, 2, 'valid'),
      },
      {
        name: 'depthwise m1 s1 same',
        x: [3, 7, 9, 6],
        weights: [[3, 3, 6, 1]],
        op: (x, [w]) => tf.depthwiseConv2d(x, w, 1, 'same'),
      },
      {
        name: 'separable s1 same',
        x: [2, 7, 9, 3],
        weights: [
          [3, 3, 3, 2],
          [1, 1, 6, 5],
        ],
        op: (x, [d, p]) => tf.separableConv2d(x, d, p, 1, 'same'),
      },
    ];
    await withoutLeaks(async () => {
      for (const c of cases) {
        const xValues = randomValues(c.x, rng);
        const wValues = c.weights.map((shape) => randomValues(shape, rng));
        let rValues: Float32Array | undefined;
        const gradientsOn = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
          await tf.setBackend(backend);
          const tensors = tf.tidy(() => {
            const x = tf.tensor4d(xValues, c.x as [number, number, number, number]);
            const ws = wValues.map((v, i) =>
              tf.tensor4d(v, c.weights[i] as [number, number, number, number]),
            );
            // A random weighting of the outputs, so every output position gets its own gradient.
            const shape = c.op(x, ws).shape;
            rValues ??= randomValues(shape, rng);
            const r = tf.tensor(rValues, shape);
            const f = (...args: tf.Tensor[]) =>
              tf.sum(tf.mul(c.op(args[0] as tf.Tensor4D, args.slice(1) as tf.Tensor4D[]), r));
            return tf.grads(f)([x, ...ws]);
          });
          const values = tensors.map((t) => t.dataSync() as Float32Array);
          tf.dispose(tensors);
          return values;
        };
        const onWasm = await gradientsOn('wasm');
        const onCpu = await gradientsOn('cpu');
        onWasm.forEach((g, i) =>
          assertClose(g, onCpu[i], `${c.name}: gradient ${i === 0 ? 'x' : `weight ${i}`}`),
        );
      }
    });
  });

  it('tf.variableGrads of a small Keras-style model (Conv2D, DepthwiseConv2D, SeparableConv2D) match cpu', async () => {
    const rng = createRng('layers');
    const build = (): tfl.LayersModel =>
      tfl.sequential({
        layers: [
          tfl.layers.conv2d({
            inputShape: [11, 13, 3],
            filters: 6,
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            activation: 'relu',
          }),
          tfl.layers.depthwiseConv2d({
            kernelSize: 3,
            depthMultiplier: 2,
            padding: 'same',
            activation: 'relu',
          }),
          tfl.layers.separableConv2d({ filters: 5, kernelSize: 3, padding: 'valid' }),
          tfl.layers.globalAveragePooling2d({}),
          tfl.layers.dense({ units: 4, activation: 'softmax' }),
        ],
      });
    await tf.setBackend('cpu');
    const template = build();
    const weights = template
      .getWeights()
      .map((w) => ({ shape: w.shape, values: randomValues(w.shape, rng) }));
    template.dispose();
    const images = randomValues([5, 11, 13, 3], rng);
    const labels = Array.from({ length: 5 }, () => rng.int(4));
    await withoutLeaks(async () => {
      const gradientsOn = async (backend: 'cpu' | 'wasm'): Promise<Float32Array[]> => {
        await tf.setBackend(backend);
        const model = build();
        const initial = weights.map((w) => tf.tensor(w.values, w.shape));
        model.setWeights(initial); // copies the values into the model's variables
        tf.dispose(initial);
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.tidy(() =>
          tf.variableGrads(() => {
            const predicted = model.apply(tf.tensor4d(images, [5, 11, 13, 3]), {
              training: true,
            }) as tf.Tensor;
            const logLikelihood = tf.sum(tf.mul(tf.oneHot(labels, 4), tf.log(tf.add(predicted, 1e-7))), 1);
            return tf.neg(tf.mean(logLikelihood)) as tf.Scalar;
          }, variables),
        );
        const values = variables.map((v) => grads[v.name].dataSync() as Float32Array);
        tf.dispose([value, ...Object.values(grads)]);
        model.dispose();
        return values;
      };
      const onWasm = await gradientsOn('wasm');
      const onCpu = await gradientsOn('cpu');
      assert.equal(onWasm.length, 9, 'kernels and biases of all five layers (separable has two kernels)');
      onWasm.forEach((g, i) => assertClose(g, onCpu[i], `gradient of trainable weight ${i}`));
    });
  });
});
