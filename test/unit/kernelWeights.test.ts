/** "Does this layer have a kernel?" from one module (src/core/portable/kernelWeights.ts) for its three uses. */
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { classHasKernel, isKernelWeight, isRegularizedWeight } from '../../src/core/portable/kernelWeights';

it('kernels by weight name: dense and convolution kernels, with the suffixes tfjs adds', () => {
  for (const name of [
    'dense/kernel',
    'conv1/kernel_1',
    'block/dw/depthwise_kernel',
    'sep/pointwise_kernel',
    'kernel',
  ])
    assert.ok(isKernelWeight(name), name);
  for (const name of [
    'dense/bias',
    'bn/gamma',
    'bn/moving_mean',
    'lstm/recurrent_kernel',
    'emb/embeddings',
    'mykernel',
  ])
    assert.ok(!isKernelWeight(name), name);
});

it('L1/L2 and weight decay: kernels and embeddings, never biases or batch-norm parameters', () => {
  assert.ok(isRegularizedWeight('conv1/kernel'));
  assert.ok(isRegularizedWeight('emb/embeddings'));
  for (const name of ['conv1/bias', 'bn/beta', 'bn/gamma']) assert.ok(!isRegularizedWeight(name), name);
});

it('kernels by class in the layer tree: only layers with weights', () => {
  for (const cls of ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense', 'LSTM', 'TimeDistributed'])
    assert.ok(classHasKernel(cls, 10), cls);
  for (const cls of ['BatchNormalization', 'ReLU', 'MaxPooling2D', 'Flatten', 'Dropout'])
    assert.ok(!classHasKernel(cls, 10), cls);
  assert.ok(!classHasKernel('Conv2D', 0), 'no parameters (a Restricted Mode tree): no kernel known');
});
