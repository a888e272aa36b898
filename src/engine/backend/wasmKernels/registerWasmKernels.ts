/**
 * The training kernels tfjs-backend-wasm 4.22 lacks, registered for the `wasm` backend so that
 * convolutions (Conv2D, DepthwiseConv2D, SeparableConv2D) can train on it instead of falling back to the
 * `cpu` backend (about 30× slower per epoch on the sample; its own gradient kernels are 100–300× slower
 * than these). A kernel the backend already has — a later tfjs-backend-wasm that ships its own — is left
 * alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2dBackpropFilter';
import { depthwiseBackpropFilterConfig } from './depthwiseBackpropFilter';
import { depthwiseBackpropInputConfig } from './depthwiseBackpropInput';
import { replaceSlowWasmKernels } from './fasterWasmKernels';

export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/**
 * Registers each of WASM_TRAINING_KERNELS that the wasm backend does not have yet; returns the names it
 * registered (none on a second call). Safe to call before or after the backend is initialised. Also puts
 * faster versions over the backend's slowest training kernels (fasterWasmKernels.ts).
 */
export function registerWasmTrainingKernels(): string[] {
  replaceSlowWasmKernels();
  const registered: string[] = [];
  for (const config of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) continue;
    tf.registerKernel(config);
    registered.push(config.kernelName);
  }
  return registered;
}
