/**
 * Random data augmentation of a training batch — the chapter's cheapest fight against overfitting: each
 * epoch the network sees a slightly different version of every image, so memorising pixels stops paying.
 * Tensor ops only, with kernels that the 'cpu' and 'wasm' backends both have (FlipLeftRight, Transform),
 * so augmentation runs wherever training runs. Every random number comes from the run's seeded Rng.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AugmentationConfig } from '../../protocol/experimentConfig';
import type { Rng } from '../../core/rng';
import { UserError } from '../../core/userError';

/** The random choices for one image; exported so that tests and docs can speak about them. */
export interface ImageAugmentation {
  flip: boolean;
  /** Radians, positive = counter-clockwise as seen on screen. */
  angle: number;
  /** > 1 enlarges the content (zooms in), < 1 shrinks it. */
  scale: number;
  /** Pixels, positive = content moves right / down. */
  shiftX: number;
  shiftY: number;
  /** Added to every pixel, in pixel-range units. */
  brightnessDelta: number;
  /** Multiplies each channel's deviation from its mean. */
  contrastFactor: number;
}

export function isAugmentationActive(config: AugmentationConfig): boolean {
  return (
    config.flipHorizontal ||
    config.rotation > 0 ||
    config.zoom > 0 ||
    config.translate > 0 ||
    config.brightness > 0 ||
    config.contrast > 0
  );
}

/**
 * Ownership: when nothing is active, `images` itself is returned (no copy). Otherwise the result is a new
 * tensor that the caller disposes. `images` is never disposed here — the caller disposes it in both cases,
 * and must not dispose the result separately when `result === images`.
 *
 * Randomness, per image in batch order, drawing only for the active settings, in this order:
 * flip (rng.next() < 0.5), rotation, zoom, shift x, shift y, brightness, contrast (each rng.uniform).
 * Then, applied in this order: flip; rotation + zoom + shift as one projective warp about the image
 * centre (bilinear, uncovered areas filled with the nearest edge pixel); brightness; contrast; clip to
 * pixelRange.
 */
export function augmentBatch(
  images: tf.Tensor4D,
  config: AugmentationConfig,
  pixelRange: [number, number],
  rng: Rng,
): tf.Tensor4D {
  if (!isAugmentationActive(config)) return images;
  checkConfig(config);
  const [count, height, width] = images.shape;
  const plans = Array.from({ length: count }, () => drawAugmentation(config, height, width, rng));
  const lo = Math.min(pixelRange[0], pixelRange[1]);
  const hi = Math.max(pixelRange[0], pixelRange[1]);
  const geometric = config.rotation > 0 || config.zoom > 0 || config.translate > 0;

  return tf.tidy(() => {
    let x: tf.Tensor4D = images;
    if (config.flipHorizontal) {
      // Blend with a 0/1 mask: exact (x·1 + y·0 = x) and one op for the whole batch.
      const mask = perImage(plans.map((p) => (p.flip ? 1 : 0)));
      x = tf.add(tf.mul(x, tf.sub(1, mask)), tf.mul(tf.image.flipLeftRight(x), mask));
    }
    if (geometric) x = warp(x, plans, height, width);
    if (config.brightness > 0) {
      x = tf.add(x, perImage(plans.map((p) => p.brightnessDelta * (hi - lo))));
    }
    if (config.contrast > 0) {
      // Per image and channel, like tf.image.adjust_contrast (Keras RandomContrast): hue is kept.
      const mean = tf.mean(x, [1, 2], true);
      x = tf.add(tf.mul(tf.sub(x, mean), perImage(plans.map((p) => p.contrastFactor))), mean);
    }
    return tf.clipByValue(x, lo, hi);
  });
}

/** Draws one image's parameters (see augmentBatch for the order). */
export function drawAugmentation(
  config: AugmentationConfig,
  height: number,
  width: number,
  rng: Rng,
): ImageAugmentation {
  const plan: ImageAugmentation = {
    flip: false,
    angle: 0,
    scale: 1,
    shiftX: 0,
    shiftY: 0,
    brightnessDelta: 0,
    contrastFactor: 1,
  };
  if (config.flipHorizontal) plan.flip = rng.next() < 0.5;
  if (config.rotation > 0) plan.angle = (rng.uniform(-config.rotation, config.rotation) * Math.PI) / 180;
  if (config.zoom > 0) plan.scale = rng.uniform(1 - config.zoom, 1 + config.zoom);
  if (config.translate > 0) {
    plan.shiftX = rng.uniform(-config.translate, config.translate) * width;
    plan.shiftY = rng.uniform(-config.translate, config.translate) * height;
  }
  if (config.brightness > 0) plan.brightnessDelta = rng.uniform(-config.brightness, config.brightness);
  if (config.contrast > 0) plan.contrastFactor = rng.uniform(1 - config.contrast, 1 + config.contrast);
  return plan;
}

/**
 * The 8 numbers tf.image.transform wants. It maps each OUTPUT pixel (x, y) to the INPUT point it samples:
 *   x_in = a0·x + a1·y + a2,  y_in = b0·x + b1·y + b2   (c0 = c1 = 0: affine)
 * The forward map, about the centre c = ((W−1)/2, (H−1)/2) of the pixel grid, is
 *   p_out = c + s·R·(p_in − c) + t,  R = [[cos θ, sin θ], [−sin θ, cos θ]]
 * (R turns counter-clockwise on screen, where y points down), so the map wanted is its inverse
 *   p_in = c + (1/s)·Rᵀ·(p_out − c − t).
 */
export function inverseTransformMatrix(plan: ImageAugmentation, height: number, width: number): number[] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const cos = Math.cos(plan.angle) / plan.scale;
  const sin = Math.sin(plan.angle) / plan.scale;
  const [a0, a1, b0, b1] = [cos, -sin, sin, cos];
  const ox = cx + plan.shiftX; // where the centre lands
  const oy = cy + plan.shiftY;
  return [a0, a1, cx - a0 * ox - a1 * oy, b0, b1, cy - b0 * ox - b1 * oy, 0, 0];
}

function warp(x: tf.Tensor4D, plans: ImageAugmentation[], height: number, width: number): tf.Tensor4D {
  // One image per Transform call: tfjs-backend-cpu 4.22's Transform kernel returns after the first image
  // of a batch (the rest come back as the fill value), whatever the transforms tensor holds.
  const warped = plans.map((plan, i) => {
    const one = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
    const matrix = tf.tensor2d([inverseTransformMatrix(plan, height, width)], [1, 8]);
    // 'nearest' fills the areas a rotation or shift uncovers by repeating the edge pixels, so no black
    // corners appear for the model to learn from. Keras defaults to 'reflect', but the wasm backend's
    // reflect is wrong for coordinates left of / above the image (an unsigned underflow in 4.22 maps them
    // to the far edge), and augmentation must do the same thing on every backend. Bilinear, as Keras
    // does, so small rotations stay smooth.
    return tf.image.transform(one, matrix, 'bilinear', 'nearest');
  });
  return warped.length === 1 ? warped[0] : tf.concat(warped, 0);
}

/** A [N, 1, 1, 1] tensor that broadcasts one value per image. */
function perImage(values: number[]): tf.Tensor4D {
  return tf.tensor4d(values, [values.length, 1, 1, 1]);
}

function checkConfig(config: AugmentationConfig): void {
  const numbers: [keyof AugmentationConfig, number, number][] = [
    ['rotation', config.rotation, 180],
    ['zoom', config.zoom, 0.99],
    ['translate', config.translate, 1],
    ['brightness', config.brightness, 1],
    ['contrast', config.contrast, 1],
  ];
  for (const [key, value, max] of numbers) {
    if (!Number.isFinite(value) || value < 0 || value > max) {
      throw new UserError(`augmentation.${key} must be from 0 to ${max}; got ${value}. 0 turns it off.`);
    }
  }
}
