/**
 * "Does this layer have a kernel?" — the weight matrix of Dense and convolution layers — decided in one
 * place for its three uses: L1/L2 and weight decay apply to kernels (and to embeddings, as Keras'
 * `embeddings_regularizer` does), and a block of gradual unfreezing and discriminative learning rates
 * starts at each layer with a kernel. The engine reads the weights' names; the Layers view and the panels
 * have only the layer tree, so they read the class name (test/engine/unfreezePlan.test.ts checks that
 * both give the same blocks on a real model).
 */

/** `kernel`, `depthwise_kernel`, `pointwise_kernel`, with the `_1`… suffix tfjs adds to repeated names. */
const KERNEL_WEIGHT = /(^|\/)(kernel|depthwise_kernel|pointwise_kernel)(_\d+)?$/;
const EMBEDDINGS_WEIGHT = /(^|\/)embeddings(_\d+)?$/;
/** Layer classes whose weights include a kernel (dense, convolutions, recurrent cells and their wrappers). */
const KERNEL_CLASS = /Conv|Dense|LocallyConnected|LSTM|GRU|RNN|Bidirectional|TimeDistributed/;

/** Whether a weight (by its original name, e.g. `conv1/kernel`) is a kernel. */
export function isKernelWeight(weightName: string): boolean {
  return KERNEL_WEIGHT.test(weightName);
}

/** Whether L1/L2 regularization and weight decay apply to a weight: kernels and embeddings. */
export function isRegularizedWeight(weightName: string): boolean {
  return KERNEL_WEIGHT.test(weightName) || EMBEDDINGS_WEIGHT.test(weightName);
}

/** Whether a layer of the layer tree has a kernel, from its class and parameter count alone. */
export function classHasKernel(className: string, params: number): boolean {
  return KERNEL_CLASS.test(className) && params > 0;
}
