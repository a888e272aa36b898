/**
 * Models for the ONNX export tests, built with TensorFlow.js: a MobileNet-like network (zero padding,
 * strided and depthwise convolutions without bias, batch norm, ReLU6, an inverted residual block and
 * MobileNet v1's reshape/1×1-conv head), a network with residual Add and Concatenate on images and
 * vectors, a "zoo" of every other exported layer and activation, and one with a layer the export refuses.
 * Weights are seeded and batch-norm statistics non-trivial, so folding mistakes show.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { seedMathRandom } from '../../src/core/rng';
import { EXPORTED_ACTIVATIONS } from '../../src/engine/export/onnx/activations';

type Sym = tfl.SymbolicTensor;
const L = tfl.layers;

/** Seeded: the same weights in every process. */
function seeded<T>(key: string, build: () => T): T {
  const restore = seedMathRandom(`onnx-fixture:${key}`);
  try {
    return build();
  } finally {
    restore();
  }
}

/**
 * Gives biases, BN betas/means small random values and BN gammas/variances values around 1, so every
 * weight matters (default initialisers leave biases 0 and BN the identity).
 */
export function randomizeWeights(model: tfl.LayersModel, seed = 1): void {
  let i = seed;
  for (const layer of model.layers.flatMap((l) => (l instanceof tfl.LayersModel ? l.layers : [l]))) {
    const weights = layer.weights;
    if (weights.length === 0) continue;
    const values = weights.map((w) => {
      const name = w.originalName ?? w.name;
      const shape = w.shape as number[];
      if (/moving_variance$/.test(name)) return tf.randomUniform(shape, 0.5, 2, 'float32', i++);
      if (/gamma$/.test(name)) return tf.randomUniform(shape, 0.6, 1.4, 'float32', i++);
      if (/(bias|beta|moving_mean)$/.test(name)) return tf.randomUniform(shape, -0.3, 0.3, 'float32', i++);
      if (/alpha$/.test(name)) return tf.randomUniform(shape, 0.05, 0.4, 'float32', i++);
      return w.read().clone();
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/**
 * Sets every (top-level) batch norm's moving statistics near those of its real input on random images,
 * perturbed: like a trained network, activations stay of order 1 through deep stacks, so the output still
 * depends on the image (random statistics flatten a MobileNet's output to the same probabilities for all).
 */
function calibrateBatchNorm(model: tfl.LayersModel, seed = 11): void {
  const shape = [8, ...(model.inputs[0].shape.slice(1) as number[])];
  const images = tf.randomUniform(shape, -1, 1, 'float32', seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const probe = tfl.model({ inputs: model.inputs, outputs: layer.input as Sym });
    const [gamma, beta] = layer.getWeights();
    const stats = tf.tidy(() => {
      const x = probe.predict(images) as tf.Tensor;
      const axes = x.shape.map((_, i) => i).slice(0, -1);
      const { mean, variance } = tf.moments(x, axes);
      const channels = mean.shape[0]!;
      return [
        tf.add(mean, tf.randomUniform([channels], -0.1, 0.1, 'float32', seed + 1)),
        tf.mul(tf.add(variance, 1e-3), tf.randomUniform([channels], 0.7, 1.4, 'float32', seed + 2)),
      ];
    });
    layer.setWeights([gamma, beta, ...stats]);
    tf.dispose(stats);
    seed += 3;
  }
  images.dispose();
}

function finish(input: Sym, output: Sym, name: string): tfl.LayersModel {
  const model = tfl.model({ inputs: input, outputs: output, name });
  randomizeWeights(model);
  calibrateBatchNorm(model);
  return model;
}

const apply = (layer: tfl.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/** conv (no bias) → BN → ReLU6, as MobileNet writes it; `act` picks one of the three ways to say ReLU6. */
function convBnRelu6(x: Sym, conv: tfl.layers.Layer, name: string, act: 'layer' | 'activation'): Sym {
  x = apply(conv, x);
  x = apply(L.batchNormalization({ name: `${name}_bn`, epsilon: 1e-3 }), x);
  return apply(
    act === 'layer'
      ? L.reLU({ maxValue: 6, name: `${name}_relu` })
      : L.activation({ activation: 'relu6', name: `${name}_relu` }),
    x,
  );
}

export function mobileNetLike(size = 24, classes = 3): tfl.LayersModel {
  return seeded('mobilenet', () => {
    const input = tfl.input({ shape: [size, size, 3], name: 'image' });
    let x = apply(
      L.zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: 'conv1_pad',
      }),
      input,
    );
    x = convBnRelu6(
      x,
      L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'conv1' }),
      'conv1',
      'layer',
    );
    x = convBnRelu6(
      x,
      L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'conv_dw_1' }),
      'conv_dw_1',
      'activation',
    );
    x = convBnRelu6(
      x,
      L.conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'conv_pw_1' }),
      'conv_pw_1',
      'layer',
    );
    x = apply(
      L.zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: 'conv_pad_2',
      }),
      x,
    );
    x = convBnRelu6(
      x,
      L.depthwiseConv2d({
        kernelSize: 3,
        strides: 2,
        padding: 'valid',
        depthMultiplier: 2,
        useBias: false,
        name: 'conv_dw_2',
      }),
      'conv_dw_2',
      'activation',
    );
    x = convBnRelu6(
      x,
      L.conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'conv_pw_2' }),
      'conv_pw_2',
      'layer',
    );
    // MobileNet v2's inverted residual: expand → depthwise → linear projection (BN, no ReLU) → Add.
    let block = convBnRelu6(
      x,
      L.conv2d({ filters: 32, kernelSize: 1, useBias: false, name: 'block_expand' }),
      'block_expand',
      'layer',
    );
    block = convBnRelu6(
      block,
      L.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'block_dw' }),
      'block_dw',
      'layer',
    );
    block = apply(L.conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'block_project' }), block);
    block = apply(L.batchNormalization({ name: 'block_project_bn' }), block);
    x = apply(L.add({ name: 'block_add' }), [x, block]);
    // MobileNet v1's head as tfjs-models ships it: pool, reshape to 1×1×C, dropout, 1×1 conv, reshape, softmax.
    x = apply(L.globalAveragePooling2d({ name: 'global_average_pooling2d' }), x);
    x = apply(L.reshape({ targetShape: [1, 1, 16], name: 'reshape_1' }), x);
    x = apply(L.dropout({ rate: 0.001, name: 'dropout' }), x);
    x = apply(L.conv2d({ filters: classes, kernelSize: 1, padding: 'same', name: 'conv_preds' }), x);
    x = apply(L.reshape({ targetShape: [classes], name: 'reshape_2' }), x);
    x = apply(L.activation({ activation: 'softmax', name: 'act_softmax' }), x);
    return finish(input, x, 'mobilenet_like');
  });
}

export function residualConcat(size = 16, classes = 4): tfl.LayersModel {
  return seeded('residual', () => {
    const input = tfl.input({ shape: [size, size, 3], name: 'image' });
    const c1 = apply(
      L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }),
      input,
    );
    let a = apply(L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'res_conv' }), c1);
    a = apply(L.batchNormalization({ name: 'res_bn' }), a);
    const sum = apply(
      L.activation({ activation: 'relu', name: 'res_relu' }),
      apply(L.add({ name: 'res_add' }), [c1, a]),
    );
    const b1 = apply(L.conv2d({ filters: 4, kernelSize: 1, activation: 'relu', name: 'branch_1x1' }), sum);
    const b2 = apply(L.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'branch_pool' }), sum);
    const cat = apply(L.concatenate({ axis: -1, name: 'mixed' }), [b1, b2]);
    const pooled = apply(L.averagePooling2d({ poolSize: 2, name: 'pool' }), cat);
    const dense = apply(
      L.dense({ units: 16, activation: 'relu', name: 'fc' }),
      apply(L.flatten({ name: 'flatten' }), pooled),
    );
    const gap = apply(L.globalAveragePooling2d({ name: 'gap' }), cat);
    const both = apply(L.concatenate({ name: 'features' }), [dense, gap]);
    const out = apply(L.dense({ units: classes, activation: 'softmax', name: 'predictions' }), both);
    return finish(input, out, 'residual_concat');
  });
}

/** Every other exported layer class and activation, at odd sizes (uneven "same" padding). */
export function layerZoo(height = 11, width = 13, classes = 3): tfl.LayersModel {
  return seeded('zoo', () => {
    const input = tfl.input({ shape: [height, width, 3], name: 'image' });
    let x = apply(L.rescaling({ scale: 2, offset: -0.5, name: 'rescale' }), input);
    x = apply(
      L.conv2d({
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        dilationRate: 2,
        activation: 'elu',
        name: 'dilated',
      }),
      x,
    );
    x = apply(
      L.separableConv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        depthMultiplier: 2,
        activation: 'selu',
        name: 'separable',
      }),
      x,
    );
    x = apply(L.leakyReLU({ alpha: 0.1, name: 'leaky' }), x);
    x = apply(
      L.cropping2D({
        cropping: [
          [1, 0],
          [0, 1],
        ],
        name: 'crop',
      }),
      x,
    );
    const avg = apply(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg_same' }), x);
    const max = apply(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'max_same' }), x);
    const mul = apply(L.multiply({ name: 'mul' }), [avg, max]);
    const mean = apply(L.average({ name: 'mean' }), [avg, max, mul]);
    const hi = apply(L.maximum({ name: 'hi' }), [avg, max, mean]);
    const lo = apply(L.minimum({ name: 'lo' }), [avg, max]);
    x = apply(L.concatenate({ name: 'merged' }), [mul, mean, hi, lo]);
    x = apply(L.prelu({ sharedAxes: [1, 2], name: 'prelu_image' }), x);
    x = apply(L.softmax({ axis: -1, name: 'channel_softmax' }), x);
    // Batch norms after squashing layers keep the output sensitive to the image (and this one, after a
    // softmax, cannot be folded: a BatchNormalization node on an NCHW image).
    x = apply(L.batchNormalization({ name: 'bn_image' }), x);
    x = apply(L.dense({ units: 5, activation: 'softplus', name: 'dense_on_image' }), x);
    x = apply(L.thresholdedReLU({ theta: 0.1, name: 'thresholded' }), x);
    const side = apply(L.conv2d({ filters: 2, kernelSize: 1, activation: 'tanh', name: 'side' }), x);
    x = apply(L.conv2d({ filters: 4, kernelSize: 1, activation: 'hardSigmoid', name: 'hard' }), x);
    // A batch norm on a flattened image (its parameters follow the flattened order), and a Concatenate of
    // two flattened images (the one place the export has to restore TensorFlow.js' feature order).
    const flat = apply(L.batchNormalization({ name: 'bn_flat' }), apply(L.flatten({ name: 'flat' }), x));
    let v = apply(L.concatenate({ name: 'flat_cat' }), [flat, apply(L.flatten({ name: 'flat_side' }), side)]);
    EXPORTED_ACTIVATIONS.filter((a) => a !== 'softmax').forEach((activation, i) => {
      v = apply(L.dense({ units: 12, activation: activation as never, name: `dense_${activation}` }), v);
      if (i % 3 === 2) v = apply(L.batchNormalization({ name: `bn_after_${activation}` }), v);
    });
    // Dense → BN → ReLU, as a head with batchNorm has it: the BN folds into the Gemm.
    v = apply(L.dense({ units: 12, name: 'head_dense' }), v);
    v = apply(L.batchNormalization({ name: 'head_bn' }), v);
    v = apply(L.reLU({ name: 'head_relu' }), v);
    v = apply(L.elu({ name: 'elu_layer' }), v);
    v = apply(L.prelu({ name: 'prelu_vector' }), v);
    v = apply(L.gaussianNoise({ stddev: 0.5, name: 'noise' }), v);
    v = apply(L.reshape({ targetShape: [2, 2, 3], name: 'to_image' }), v);
    v = apply(L.conv2d({ filters: 4, kernelSize: 2, padding: 'same', name: 'small_conv' }), v);
    v = apply(L.globalMaxPooling2d({ name: 'gmp' }), v);
    v = apply(L.dense({ units: classes, name: 'logits' }), v);
    v = apply(L.softmax({ name: 'probabilities' }), v);
    return finish(input, v, 'layer_zoo');
  });
}

/** A nested block (Sequential inside the functional model) holding a layer without ONNX conversion. */
export function withUnsupportedLayer(size = 8, classes = 2): tfl.LayersModel {
  return seeded('unsupported', () => {
    const block = tfl.sequential({
      name: 'decoder',
      layers: [
        L.conv2d({ inputShape: [size, size, 3], filters: 4, kernelSize: 3, padding: 'same', name: 'conv' }),
        L.upSampling2d({ size: [2, 2], name: 'upsample' }),
      ],
    });
    const input = tfl.input({ shape: [size, size, 3], name: 'image' });
    let x = apply(block, input);
    x = apply(L.globalAveragePooling2d({ name: 'gap' }), x);
    x = apply(L.dense({ units: classes, activation: 'softmax', name: 'out' }), x);
    return finish(input, x, 'unsupported');
  });
}

/**
 * A run folder as training leaves it, for `model` (saved flat or nested, as given): model/ with model.json,
 * weights and labels.json, and a run.json with the dataset settings the export reads.
 */
export async function saveFixtureRun(
  runsDir: string,
  id: string,
  model: tfl.LayersModel,
  options: { classNames: string[]; pixelRange: [number, number] },
): Promise<string> {
  const runDir = path.join(runsDir, id);
  const modelDir = path.join(runDir, 'model');
  await model.save(atomicDirSaveHandler(modelDir));
  fs.writeFileSync(path.join(modelDir, 'labels.json'), JSON.stringify(options.classNames));
  const shape = model.inputs[0].shape as number[];
  fs.writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify({
      id,
      name: id,
      status: 'completed',
      startedAt: new Date().toISOString(),
      classNames: options.classNames,
      bestEpoch: 1,
      config: { dataset: { imageSize: [shape[1], shape[2]], pixelRange: options.pixelRange } },
    }),
  );
  return runDir;
}
