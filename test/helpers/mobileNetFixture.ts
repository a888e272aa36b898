/**
 * A small MobileNet-style model for engine tests of the wasm kernels: a 3×3 stride-2 Conv2D on the RGB
 * image (3 input channels: the odd-channel paths), then depthwise-separable blocks (DepthwiseConv2D →
 * BN → ReLU6 → 1×1 Conv2D → BN → ReLU6) with channels in fours and 8s (the SIMD paths, and a tail of 4),
 * stride 1 and 2, global average pooling and a softmax Dense. Seeded weights: the same model in every
 * process.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { seedMathRandom } from '../../src/core/rng';

export function buildMobileNetStyle(size: number, classes: number): tfl.LayersModel {
  const relu6 = (name: string) => tfl.layers.reLU({ maxValue: 6, name });
  const input = tfl.input({ shape: [size, size, 3], name: 'input' });
  let x = tfl.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv1' })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'conv1_bn' }).apply(x) as tfl.SymbolicTensor;
  x = relu6('conv1_relu').apply(x) as tfl.SymbolicTensor;
  const blocks: [number, 1 | 2][] = [
    [12, 1],
    [16, 2],
    [20, 1],
  ];
  blocks.forEach(([filters, stride], i) => {
    const id = i + 1;
    x = tfl.layers
      .depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, name: `dw_${id}` })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: `dw_${id}_bn` }).apply(x) as tfl.SymbolicTensor;
    x = relu6(`dw_${id}_relu`).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers
      .conv2d({ filters, kernelSize: 1, padding: 'same', useBias: false, name: `pw_${id}` })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: `pw_${id}_bn` }).apply(x) as tfl.SymbolicTensor;
    x = relu6(`pw_${id}_relu`).apply(x) as tfl.SymbolicTensor;
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'global_pool' }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers
    .dense({ units: classes, activation: 'softmax', name: 'predictions' })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: 'mobilenet_style' });
}

/** Saves the model to `<dir>/model.json`; returns that path. */
export async function saveMobileNetStyle(dir: string, size = 32, classes = 4): Promise<string> {
  const restore = seedMathRandom('fixture:mobilenet-style');
  try {
    const model = buildMobileNetStyle(size, classes);
    await model.save(atomicDirSaveHandler(dir));
    model.dispose();
    return `${dir}/model.json`;
  } finally {
    restore();
  }
}
