/**
 * One float32 kernel written once as a loop over flat arrays, registered for both CPU backends (`wasm` and
 * `cpu`). The loops read the inputs where the backend keeps them (the wasm heap, the cpu backend's arrays)
 * and write straight into freshly allocated outputs, so a fused kernel costs one pass over memory instead
 * of one kernel launch, one allocation and one pass per composed op.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const FLOAT_KERNEL_BACKENDS = ['wasm', 'cpu'] as const;

export interface FloatKernel<Attrs> {
  kernelName: string;
  /** Input names in the order `compute` receives them. */
  inputNames: readonly string[];
  /** Shapes of the outputs, from the input shapes. */
  outputShapes: (inputShapes: number[][], attrs: Attrs) => number[][];
  /** Fills every element of every output (outputs start uninitialised on wasm). */
  compute: (inputs: Float32Array[], outputs: Float32Array[], inputShapes: number[][], attrs: Attrs) => void;
}

function checkFloat32(kernelName: string, names: readonly string[], infos: tf.TensorInfo[]): void {
  infos.forEach((info, i) => {
    if (info.dtype !== 'float32') {
      throw new Error(`${kernelName}: input ${names[i]} must be float32, got ${info.dtype}`);
    }
  });
}

function wasmKernelFunc<Attrs>(kernel: FloatKernel<Attrs>): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const wasm = backend as BackendWasm;
    const infos = kernel.inputNames.map((name) => inputs[name] as tf.TensorInfo);
    checkFloat32(kernel.kernelName, kernel.inputNames, infos);
    const shapes = infos.map((info) => info.shape);
    const outputs = kernel
      .outputShapes(shapes, attrs as unknown as Attrs)
      .map((shape) => wasm.makeOutput(shape, 'float32'));
    // Views are taken after every allocation: allocating can grow the heap, which detaches older views.
    kernel.compute(
      infos.map((info) => wasm.typedArrayFromHeap(info) as Float32Array),
      outputs.map((info) => wasm.typedArrayFromHeap(info) as Float32Array),
      shapes,
      attrs as unknown as Attrs,
    );
    return outputs.length === 1 ? outputs[0] : outputs;
  };
}

function cpuKernelFunc<Attrs>(kernel: FloatKernel<Attrs>): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const cpu = backend as MathBackendCPU;
    const infos = kernel.inputNames.map((name) => inputs[name] as tf.TensorInfo);
    checkFloat32(kernel.kernelName, kernel.inputNames, infos);
    const shapes = infos.map((info) => info.shape);
    const shapesOut = kernel.outputShapes(shapes, attrs as unknown as Attrs);
    const values = shapesOut.map((shape) => new Float32Array(tf.util.sizeFromShape(shape)));
    kernel.compute(
      infos.map((info) => cpu.data.get(info.dataId).values as Float32Array),
      values,
      shapes,
      attrs as unknown as Attrs,
    );
    const outputs = shapesOut.map((shape, i) => cpu.makeTensorInfo(shape, 'float32', values[i]));
    return outputs.length === 1 ? outputs[0] : outputs;
  };
}

/** Registers the kernel for `wasm` and `cpu` (once; a second call is a no-op). */
export function registerFloatKernel<Attrs>(kernel: FloatKernel<Attrs>): void {
  for (const backendName of FLOAT_KERNEL_BACKENDS) {
    if (tf.getKernel(kernel.kernelName, backendName) !== undefined) continue;
    tf.registerKernel({
      kernelName: kernel.kernelName,
      backendName,
      kernelFunc: backendName === 'wasm' ? wasmKernelFunc(kernel) : cpuKernelFunc(kernel),
    });
  }
}

/** Whether the current backend runs this kernel (the fused ops are used only there). */
export function currentBackendHas(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
