/**
 * A training batch made ready for a step, the same way in a run and in the learning-rate finder:
 * augmentation, then mixup/CutMix (which mix images and labels), then label smoothing (which softens the
 * targets). Every random draw comes from the loop's generator, in this order, so a resumed run draws what
 * an uninterrupted one would.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { isMixActive, mixBatch, smoothLabels, type MixConfig } from '../data/mixBatch';
import type { Rng } from '../../core/rng';

export interface BatchTechniques {
  /** Augments a batch of images (returns a new tensor); absent when augmentation is off. */
  augment?: (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D;
  mix: MixConfig;
  labelSmoothing: number;
}

export interface TrainingBatch {
  /** What the model trains on. */
  input: tf.Tensor;
  /** What the loss compares its predictions with: one-hot, smoothed or mixed. */
  targets: tf.Tensor2D;
  /** Disposes what this made (the caller still disposes the batch it was given). */
  dispose(): void;
}

export function prepareTrainingBatch(
  x: tf.Tensor,
  y: tf.Tensor2D,
  techniques: BatchTechniques,
  rng: Rng,
): TrainingBatch {
  const augmented = techniques.augment ? techniques.augment(x as tf.Tensor4D, rng) : x;
  const mixed = isMixActive(techniques.mix)
    ? mixBatch(augmented as tf.Tensor4D, y, techniques.mix, rng)
    : undefined;
  const input = mixed?.x ?? augmented;
  const targets = smoothLabels(mixed?.y ?? y, techniques.labelSmoothing);
  const made = new Set<tf.Tensor>([augmented, input, targets, ...(mixed ? [mixed.y] : [])]);
  made.delete(x);
  made.delete(y);
  return { input, targets, dispose: () => made.forEach((t) => t.dispose()) };
}
