/**
 * The two per-channel passes the batch-norm kernels are made of, over row-major rows × c arrays (c: the
 * last axis): WebAssembly SIMD when the channel count is a multiple of 4, plain loops otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { channelAffineSimd, channelSumsSimd, simdChannelsOk } from './simdKernels';

/** Channels (last axis) and rows (everything else) of a shape. */
export function channelsOf(shape: number[]): { channels: number; rows: number } {
  const channels = shape[shape.length - 1];
  return { channels, rows: tf.util.sizeFromShape(shape) / channels };
}

/**
 * Per channel: Σ (a − ca) and Σ (a − ca)·(b − cb) in float64 — SIMD when the channel count allows,
 * else the same sums in plain loops.
 */
export function channelSums(
  a: Float32Array,
  ca: Float32Array,
  b: Float32Array,
  cb: Float32Array,
  channels: number,
): { sumU: Float64Array; sumUV: Float64Array } {
  if (simdChannelsOk(channels)) return channelSumsSimd(a, ca, b, cb, channels);
  const sumU = new Float64Array(channels);
  const sumUV = new Float64Array(channels);
  for (let o = 0; o < a.length; o += channels) {
    for (let c = 0; c < channels; c++) {
      const u = a[o + c] - ca[c];
      sumU[c] += u;
      sumUV[c] += u * (b[o + c] - cb[c]);
    }
  }
  return { sumU, sumUV };
}

/** out = p·(a − ca) + q·b + r per channel — SIMD when the channel count allows. */
export function channelAffine(
  a: Float32Array,
  ca: Float32Array,
  b: Float32Array,
  out: Float32Array,
  channels: number,
  pqr: [Float32Array, Float32Array, Float32Array],
): void {
  if (simdChannelsOk(channels)) return channelAffineSimd(a, ca, b, out, channels, pqr);
  const [p, q, r] = pqr;
  for (let o = 0; o < a.length; o += channels) {
    for (let c = 0; c < channels; c++) out[o + c] = p[c] * (a[o + c] - ca[c]) + q[c] * b[o + c] + r[c];
  }
}
