/**
 * What the training kernels of this folder share: calling the wasm backend's own kernels directly (not
 * through tf ops, so nothing is recorded on a gradient tape or counted as a tensor), viewing a tensor's
 * data under another shape, and freeing every intermediate even when a step throws.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type { BackendWasm };

/** What tfjs passes a kernel function. */
export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Runs one of the wasm backend's registered kernels on tensor infos; the caller owns the result. */
export function runWasmKernel(
  backend: BackendWasm,
  kernelName: string,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (kernel === undefined) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

/**
 * The same data under another shape of the same size. Not a new tensor: it must not be disposed separately
 * (row-major data reshapes for free, which is what lets the kernels hand [P, C] matrices to BatchMatMul).
 */
export function reshaped(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  if (tf.util.sizeFromShape(shape) !== tf.util.sizeFromShape(info.shape)) {
    throw new Error(`cannot view shape [${info.shape}] as [${shape}]`);
  }
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/**
 * Runs `body` with a `temp` function that marks tensor infos as intermediates; all of them are freed when
 * `body` returns or throws. The result must not be marked.
 */
export function withTemporaries<T>(
  backend: BackendWasm,
  body: (temp: (info: tf.TensorInfo) => tf.TensorInfo) => T,
): T {
  const temporaries: tf.TensorInfo[] = [];
  try {
    return body((info) => {
      temporaries.push(info);
      return info;
    });
  } finally {
    for (const info of temporaries) backend.disposeData(info.dataId);
  }
}

/** The wasm kernels here compute in float32 only, like the backend's own convolutions. */
export function assertFloat32(kernelName: string, infos: Record<string, tf.TensorInfo>): void {
  for (const [name, info] of Object.entries(infos)) {
    if (info.dtype !== 'float32') {
      throw new Error(`${kernelName} on wasm: ${name} must be float32, got ${info.dtype}`);
    }
  }
}

/**
 * Pads (positive amounts) or crops (negative amounts) the two spatial dimensions of an NHWC tensor with
 * zeros; returns a new tensor info the caller owns.
 */
export function padOrCropSpatial(
  backend: BackendWasm,
  x: tf.TensorInfo,
  [top, bottom, left, right]: [number, number, number, number],
): tf.TensorInfo {
  const [batch, height, width, channels] = x.shape;
  const padded = runWasmKernel(
    backend,
    'PadV2',
    { x },
    {
      paddings: [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return padded;
  try {
    return runWasmKernel(
      backend,
      'Slice',
      { x: padded },
      {
        begin: [0, Math.max(0, -top), Math.max(0, -left), 0],
        size: [batch, height + top + bottom, width + left + right, channels],
      },
    );
  } finally {
    backend.disposeData(padded.dataId);
  }
}
