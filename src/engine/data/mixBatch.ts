/**
 * Mixup and CutMix on a training batch (after augmentation). Mixup: x' = λ·x + (1−λ)·x[perm],
 * y' = λ·y + (1−λ)·y[perm] with λ ~ Beta(α, α). CutMix: a box of area (1−λ) is pasted from x[perm] and the
 * labels are mixed by the pasted area. When both are on, each batch uses one of them (50/50), as timm does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../../core/rng';

export interface MixConfig {
  /** Beta(α, α) for mixup; 0 = off. */
  mixup: number;
  /** Beta(α, α) for CutMix; 0 = off. */
  cutmix: number;
}

/** A standard normal draw (Box–Muller). */
function normal(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Gamma(shape, 1) by Marsaglia–Tsang (with the shape < 1 boost). */
function gamma(shape: number, rng: Rng): number {
  if (shape < 1) return gamma(shape + 1, rng) * Math.max(rng.next(), 1e-12) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const z = normal(rng);
    const v = (1 + c * z) ** 3;
    if (v <= 0) continue;
    const u = rng.next();
    if (Math.log(Math.max(u, 1e-300)) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

export function sampleBeta(alpha: number, rng: Rng): number {
  const a = gamma(alpha, rng);
  const b = gamma(alpha, rng);
  return a / (a + b);
}

export interface MixedBatch {
  x: tf.Tensor4D;
  y: tf.Tensor2D;
  /** Which method mixed this batch and with what λ (for logs and tests). */
  method: 'mixup' | 'cutmix';
  lambda: number;
  permutation: number[];
}

export function isMixActive(config: MixConfig): boolean {
  return config.mixup > 0 || config.cutmix > 0;
}

/** Mixes a batch; returns new tensors (the caller disposes x and y as before, and the results). */
export function mixBatch(x: tf.Tensor4D, y: tf.Tensor2D, config: MixConfig, rng: Rng): MixedBatch {
  const n = x.shape[0];
  const permutation = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [permutation[i], permutation[j]] = [permutation[j], permutation[i]];
  }
  const useCutmix = config.cutmix > 0 && (config.mixup <= 0 || rng.next() < 0.5);
  const alpha = useCutmix ? config.cutmix : config.mixup;
  let lambda = sampleBeta(alpha, rng);
  return tf.tidy(() => {
    const perm = tf.tensor1d(permutation, 'int32');
    const xOther = tf.gather(x, perm) as tf.Tensor4D;
    const yOther = tf.gather(y, perm) as tf.Tensor2D;
    if (!useCutmix) {
      return {
        x: tf.add(tf.mul(x, lambda), tf.mul(xOther, 1 - lambda)) as tf.Tensor4D,
        y: tf.add(tf.mul(y, lambda), tf.mul(yOther, 1 - lambda)) as tf.Tensor2D,
        method: 'mixup' as const,
        lambda,
        permutation,
      };
    }
    const [, height, width] = x.shape;
    const cut = Math.sqrt(1 - lambda);
    const boxH = Math.round(height * cut);
    const boxW = Math.round(width * cut);
    const cy = rng.int(height);
    const cx = rng.int(width);
    const y0 = Math.max(0, cy - Math.floor(boxH / 2));
    const x0 = Math.max(0, cx - Math.floor(boxW / 2));
    const y1 = Math.min(height, y0 + boxH);
    const x1 = Math.min(width, x0 + boxW);
    const mask = tf.buffer([1, height, width, 1], 'float32');
    for (let r = y0; r < y1; r++) for (let c = x0; c < x1; c++) mask.set(1, 0, r, c, 0);
    const m = mask.toTensor();
    // λ is corrected to the pasted area actually used (the box is clipped at the borders).
    lambda = 1 - ((y1 - y0) * (x1 - x0)) / (height * width);
    return {
      x: tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(xOther, m)) as tf.Tensor4D,
      y: tf.add(tf.mul(y, lambda), tf.mul(yOther, 1 - lambda)) as tf.Tensor2D,
      method: 'cutmix' as const,
      lambda,
      permutation,
    };
  });
}

/** Label smoothing: y' = y·(1 − ε) + ε / K. */
export function smoothLabels(y: tf.Tensor2D, epsilon: number): tf.Tensor2D {
  if (epsilon <= 0) return y;
  const k = y.shape[1];
  return tf.tidy(() => tf.add(tf.mul(y, 1 - epsilon), epsilon / k) as tf.Tensor2D);
}
