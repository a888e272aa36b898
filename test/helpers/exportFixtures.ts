/**
 * Tiny models with the structure of real exports, built with tfjs-layers (real ones cannot be downloaded
 * here). Widths and image sizes are small; nesting, class names, layer names and connections are those of
 * the originals:
 * - a Teachable Machine image-model export: Sequential [ Sequential [ functional MobileNetV2 truncated at
 *   `out_relu`, GlobalAveragePooling2D ], Sequential [ Dense, Dense ] ], with tfjs' generated names
 *   (`sequential_5/model2/out_relu`, `sequential_5/global_average_pooling2d_GlobalAveragePooling2D2`);
 * - a Keras-applications MobileNetV2 as the tensorflowjs converter writes it: one functional model
 *   (`class_name: "Functional"`, a `model_config` with `keras_version`), `block_N_…` names, ZeroPadding2D
 *   before the strided depthwise convolutions, residual `block_N_add` layers;
 * - a residual block inside a nested functional Model inside a functional Model.
 * `node scripts/fixtures/exportModels.mjs <dir>` writes them to a folder for trying them by hand.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { seedMathRandom } from '../../src/core/rng';

type Sym = tfl.SymbolicTensor;

const relu6 = (name: string) => tfl.layers.reLU({ maxValue: 6, name });
const bn = (name: string) => tfl.layers.batchNormalization({ epsilon: 1e-3, momentum: 0.999, name });

/** One inverted-residual block of MobileNetV2, named as keras.applications names it. */
function invertedResidual(
  x: Sym,
  block: number,
  inFilters: number,
  filters: number,
  stride: 1 | 2,
  expansion: number,
): Sym {
  const prefix = block === 0 ? 'expanded_conv_' : `block_${block}_`;
  let y = x;
  if (block !== 0) {
    y = tfl.layers
      .conv2d({
        filters: inFilters * expansion,
        kernelSize: 1,
        padding: 'same',
        useBias: false,
        name: `${prefix}expand`,
      })
      .apply(y) as Sym;
    y = bn(`${prefix}expand_BN`).apply(y) as Sym;
    y = relu6(`${prefix}expand_relu`).apply(y) as Sym;
  }
  if (stride === 2) {
    // keras' correct_pad for an even input: one row/column before, one after.
    y = tfl.layers
      .zeroPadding2d({
        padding: [
          [0, 1],
          [0, 1],
        ],
        name: `${prefix}pad`,
      })
      .apply(y) as Sym;
  }
  y = tfl.layers
    .depthwiseConv2d({
      kernelSize: 3,
      strides: stride,
      padding: stride === 1 ? 'same' : 'valid',
      useBias: false,
      name: `${prefix}depthwise`,
    })
    .apply(y) as Sym;
  y = bn(`${prefix}depthwise_BN`).apply(y) as Sym;
  y = relu6(`${prefix}depthwise_relu`).apply(y) as Sym;
  y = tfl.layers
    .conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` })
    .apply(y) as Sym;
  y = bn(`${prefix}project_BN`).apply(y) as Sym;
  if (inFilters === filters && stride === 1)
    return tfl.layers.add({ name: `${prefix}add` }).apply([x, y]) as Sym;
  return y;
}

/**
 * The MobileNetV2 body up to `out_relu`: Conv1_pad, Conv1, bn_Conv1, Conv1_relu, expanded_conv_…,
 * block_1 (stride 2, with block_1_pad), block_2 (a residual block_2_add), block_3 (stride 2), block_4
 * (residual), Conv_1, Conv_1_bn, out_relu.
 */
function mobileNetV2Body(input: Sym): Sym {
  let x = tfl.layers
    .zeroPadding2d({
      padding: [
        [0, 1],
        [0, 1],
      ],
      name: 'Conv1_pad',
    })
    .apply(input) as Sym;
  x = tfl.layers
    .conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'Conv1' })
    .apply(x) as Sym;
  x = bn('bn_Conv1').apply(x) as Sym;
  x = relu6('Conv1_relu').apply(x) as Sym;
  x = invertedResidual(x, 0, 6, 4, 1, 1);
  x = invertedResidual(x, 1, 4, 6, 2, 3);
  x = invertedResidual(x, 2, 6, 6, 1, 2);
  x = invertedResidual(x, 3, 6, 8, 2, 2);
  x = invertedResidual(x, 4, 8, 8, 1, 2);
  x = tfl.layers.conv2d({ filters: 12, kernelSize: 1, useBias: false, name: 'Conv_1' }).apply(x) as Sym;
  x = bn('Conv_1_bn').apply(x) as Sym;
  return relu6('out_relu').apply(x) as Sym;
}

/** Paths of the Teachable Machine fixture's layers that the tests name. */
export const TM = {
  base: 'sequential_5',
  mobilenet: 'sequential_5/model2',
  outRelu: 'sequential_5/model2/out_relu',
  pooling: 'sequential_5/global_average_pooling2d_GlobalAveragePooling2D2',
  head: 'sequential_6',
  hidden: 'sequential_6/dense_Dense3',
  logits: 'sequential_6/dense_Dense4',
};

async function seeded<T>(seed: string, build: () => Promise<T>): Promise<T> {
  const restore = seedMathRandom(seed);
  try {
    return await build();
  } finally {
    restore();
  }
}

/** A Teachable Machine image-model export (see the file comment); `classes` outputs. Returns model.json. */
export async function saveTeachableMachineModel(dir: string, size = 32, classes = 3): Promise<string> {
  return seeded('fixture:tm', async () => {
    // tmImage: the MobileNet truncated at out_relu as a functional model…
    const image = tfl.input({ shape: [size, size, 3], name: 'input_1' });
    const truncated = tfl.model({ inputs: image, outputs: mobileNetV2Body(image), name: 'model2' });
    // …in a Sequential with global average pooling…
    const base = tfl.sequential({
      name: TM.base,
      layers: [truncated, tfl.layers.globalAveragePooling2d({ name: TM.pooling.split('/')[1] })],
    });
    // …then the trained head, a Sequential of two Dense layers; the export is a Sequential of both.
    const head = tfl.sequential({
      name: TM.head,
      layers: [
        tfl.layers.dense({ inputShape: [12], units: 8, activation: 'relu', name: 'dense_Dense3' }),
        tfl.layers.dense({ units: classes, activation: 'softmax', useBias: false, name: 'dense_Dense4' }),
      ],
    });
    const model = tfl.sequential({ name: 'sequential_7', layers: [base, head] });
    await model.save(atomicDirSaveHandler(dir));
    model.dispose();
    return path.join(dir, 'model.json');
  });
}

/**
 * A Keras-applications MobileNetV2 (include_top) as the tensorflowjs converter writes it: one functional
 * model, `global_average_pooling2d` and `predictions` on top. Returns model.json.
 */
export async function saveKerasMobileNetV2(dir: string, size = 32, classes = 5): Promise<string> {
  return seeded('fixture:mobilenetv2', async () => {
    const image = tfl.input({ shape: [size, size, 3], name: 'input_1' });
    let x = mobileNetV2Body(image);
    x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x) as Sym;
    const model = tfl.model({ inputs: image, outputs: x, name: 'mobilenetv2_0.35_32' });
    await model.save(atomicDirSaveHandler(dir));
    model.dispose();
    // The converter's layout: the Keras model config under model_config, class "Functional".
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.modelTopology = {
      keras_version: '2.9.0',
      backend: 'tensorflow',
      model_config: { ...json.modelTopology, class_name: 'Functional' },
    };
    json.format = 'layers-model';
    json.generatedBy = 'keras v2.9.0';
    json.convertedBy = 'TensorFlow.js Converter v3.21.0';
    fs.writeFileSync(file, JSON.stringify(json));
    return file;
  });
}

/** Paths of the residual fixture. */
export const RESIDUAL = {
  stem: 'stem',
  block: 'backbone/resblock',
  branchA: 'backbone/resblock/res_conv_a',
  branchB: 'backbone/resblock/res_bn_b',
  add: 'backbone/resblock/res_add',
  out: 'backbone/resblock/res_relu',
  pool: 'backbone/pool',
  backbone: 'backbone',
};

/**
 * outer (functional): stem conv → backbone (functional: resblock (functional: conv_a, bn_a, relu_a,
 * conv_b, bn_b, add with its input, relu) → pool) → flatten → dense softmax. Returns model.json.
 */
export async function saveResidualInNestedModel(dir: string, size = 8, classes = 3): Promise<string> {
  return seeded('fixture:residual', async () => {
    const blockIn = tfl.input({ shape: [size, size, 4], name: 'res_in' });
    let y = tfl.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'res_conv_a' })
      .apply(blockIn) as Sym;
    y = tfl.layers.batchNormalization({ name: 'res_bn_a' }).apply(y) as Sym;
    y = tfl.layers.activation({ activation: 'relu', name: 'res_relu_a' }).apply(y) as Sym;
    y = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'res_conv_b' }).apply(y) as Sym;
    y = tfl.layers.batchNormalization({ name: 'res_bn_b' }).apply(y) as Sym;
    y = tfl.layers.add({ name: 'res_add' }).apply([blockIn, y]) as Sym;
    y = tfl.layers.activation({ activation: 'relu', name: 'res_relu' }).apply(y) as Sym;
    const resblock = tfl.model({ inputs: blockIn, outputs: y, name: 'resblock' });

    const backboneIn = tfl.input({ shape: [size, size, 4], name: 'backbone_in' });
    let z = resblock.apply(backboneIn) as Sym;
    z = tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(z) as Sym;
    const backbone = tfl.model({ inputs: backboneIn, outputs: z, name: 'backbone' });

    const image = tfl.input({ shape: [size, size, 3], name: 'image' });
    let x = tfl.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'stem' })
      .apply(image) as Sym;
    x = backbone.apply(x) as Sym;
    x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as Sym;
    x = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'dense' }).apply(x) as Sym;
    const model = tfl.model({ inputs: image, outputs: x, name: 'outer' });
    await model.save(atomicDirSaveHandler(dir));
    model.dispose();
    return path.join(dir, 'model.json');
  });
}
