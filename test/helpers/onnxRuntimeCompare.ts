/**
 * ONNX Runtime against TensorFlow.js on the same decoded image files: the ONNX model gets the 8-bit pixel
 * values (its graph applies the pixel range), TensorFlow.js the pixels mapped to the pixel range, as
 * training fed them. Returns both outputs and the largest difference.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { decodeImageFile } from '../../src/engine/data/decodeImages';

export interface Comparison {
  onnx: Float32Array;
  tfjs: Float32Array;
  maxAbsDiff: number;
  classes: number;
}

export async function decodeAll(
  files: readonly string[],
  imageSize: [number, number],
  channels: 1 | 3,
  pixelRange: [number, number],
): Promise<Float32Array> {
  const per = imageSize[0] * imageSize[1] * channels;
  const out = new Float32Array(files.length * per);
  for (const [i, file] of files.entries())
    out.set(await decodeImageFile(file, { imageSize, channels, pixelRange }), i * per);
  return out;
}

export async function runOnnx(
  bytes: Uint8Array | string,
  pixels: Float32Array,
  shape: number[],
): Promise<Float32Array> {
  const session =
    typeof bytes === 'string'
      ? await ort.InferenceSession.create(bytes)
      : await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ pixels: new ort.Tensor('float32', pixels, shape) });
    return Float32Array.from(result.probabilities.data as Float32Array);
  } finally {
    await session.release();
  }
}

export async function compareOnImages(
  model: tfl.LayersModel,
  onnxModel: Uint8Array | string,
  files: readonly string[],
  options: { imageSize: [number, number]; channels: 1 | 3; pixelRange: [number, number] },
): Promise<Comparison> {
  const { imageSize, channels, pixelRange } = options;
  const shape = [files.length, imageSize[0], imageSize[1], channels];
  const raw = await decodeAll(files, imageSize, channels, [0, 255]);
  const scaled = await decodeAll(files, imageSize, channels, pixelRange);
  const onnx = await runOnnx(onnxModel, raw, shape);
  const output = tf.tidy(() => model.predict(tf.tensor(scaled, shape)) as tf.Tensor);
  const tfjs = Float32Array.from(await output.data());
  output.dispose();
  let maxAbsDiff = 0;
  for (let i = 0; i < tfjs.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(tfjs[i] - onnx[i]));
  if (onnx.length !== tfjs.length) maxAbsDiff = Infinity;
  return { onnx, tfjs, maxAbsDiff, classes: tfjs.length / files.length };
}
