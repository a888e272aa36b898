/**
 * A batch of decoded 8-bit RGB images as the float tensor the model reads, mapped onto pixelRange by
 * bytesToPixels (the decoder's own mapping, so the floats are the bits decodeImages would have given).
 *
 * Why: the activation cache used to receive float pixels from the decoding worker — four bytes a value,
 * written by the worker into fresh memory, then copied by tf.tensor into the backend. On the bench's VM a
 * fresh array's first write costs ~2.9 ms per MiB in page faults: decoding 640 96×96 images took 500 ms
 * into fresh float arrays against 280 ms into arrays already written. Bytes are a quarter of that memory,
 * and on wasm the floats are written once, straight into the input tensor's memory in the backend's heap
 * (which the previous chunk's freed input tensor has already mapped in).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { bytesToPixels } from './decodeImages';

/** `bytes` (at least n·h·w·c of them) as a float32 tensor of `shape` in pixelRange; the caller disposes it. */
export function pixelTensor(
  bytes: Uint8Array,
  shape: [number, number, number, number],
  pixelRange: [number, number],
): tf.Tensor4D {
  const size = tf.util.sizeFromShape(shape);
  if (bytes.length < size) throw new Error(`pixelTensor: ${bytes.length} bytes for a [${shape}] tensor`);
  const values = bytes.subarray(0, size);
  if (tf.getBackend() === 'wasm') {
    const wasm = tf.backend() as BackendWasm;
    const info = wasm.makeOutput(shape, 'float32');
    // No allocation between the view and the writes: a heap that grew would detach the view.
    bytesToPixels(values, pixelRange, wasm.typedArrayFromHeap(info) as Float32Array);
    return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;
  }
  const floats = new Float32Array(size);
  bytesToPixels(values, pixelRange, floats);
  return tf.tensor4d(floats, shape);
}
