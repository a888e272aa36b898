/**
 * A MobileNet-v1-like network (width multiplier α = 0.25, 96×96×3 input) with random weights, built with
 * tfjs-layers for the benchmark: a 3×3 stride-2 Conv2D, 13 depthwise-separable blocks (DepthwiseConv2D 3×3
 * → BN → ReLU6 → Conv2D 1×1 → BN → ReLU6), global average pooling and a softmax Dense. The same layer
 * sequence as Keras' MobileNet (without the zero-padding layers: 'same' padding gives the same shapes), so
 * its cost per image is the cost of the real one.
 */
import * as tfl from '@tensorflow/tfjs-layers';

/** Pointwise filters (at α = 1) and depthwise stride of the 13 blocks, as in the MobileNet paper. */
const BLOCKS: [number, 1 | 2][] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

export function buildMobileNetLike(size = 96, alpha = 0.25, classes = 10): tfl.LayersModel {
  const relu6 = (name: string): tfl.layers.Layer => tfl.layers.reLU({ maxValue: 6, name });
  const input = tfl.input({ shape: [size, size, 3], name: 'input' });
  let x = tfl.layers
    .conv2d({
      filters: 32 * alpha,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      useBias: false,
      name: 'conv1',
    })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization({ name: 'conv1_bn' }).apply(x) as tfl.SymbolicTensor;
  x = relu6('conv1_relu').apply(x) as tfl.SymbolicTensor;
  BLOCKS.forEach(([filters, stride], i) => {
    const id = i + 1;
    x = tfl.layers
      .depthwiseConv2d({
        kernelSize: 3,
        strides: stride,
        padding: 'same',
        useBias: false,
        name: `conv_dw_${id}`,
      })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: `conv_dw_${id}_bn` }).apply(x) as tfl.SymbolicTensor;
    x = relu6(`conv_dw_${id}_relu`).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers
      .conv2d({
        filters: filters * alpha,
        kernelSize: 1,
        padding: 'same',
        useBias: false,
        name: `conv_pw_${id}`,
      })
      .apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ name: `conv_pw_${id}_bn` }).apply(x) as tfl.SymbolicTensor;
    x = relu6(`conv_pw_${id}_relu`).apply(x) as tfl.SymbolicTensor;
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'global_pool' }).apply(x) as tfl.SymbolicTensor;
  const output = tfl.layers
    .dense({ units: classes, activation: 'softmax', name: 'predictions' })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: output, name: 'mobilenet_like' });
}
