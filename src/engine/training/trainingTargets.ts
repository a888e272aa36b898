/**
 * Like-for-like losses with soft training targets. With label smoothing, mixup or CutMix, `loss` is
 * measured against smoothed or mixed targets and `val_loss` against hard labels: two objectives, whose
 * difference is no generalization gap (a smoothed target cannot be met exactly, so `loss` stays high and
 * the "gap" goes negative). So the validation set is also measured against targets made the way training
 * makes them — smoothed, or mixed within batches — and the gap and the overfitting signal compare that
 * with `loss`. `val_loss` itself stays against hard labels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossTargets } from '../../protocol/runRecord';
import { isMixActive, mixBatch, smoothLabels, type MixConfig } from '../data/mixBatch';
import { prefetchBatches } from '../data/prefetch';
import type { DataSplit } from '../data/rowStore';
import { createRng, shuffled } from '../../core/rng';
import { crossEntropy } from './evaluate';

export interface TargetSettings {
  mix: MixConfig;
  labelSmoothing: number;
}

export function lossTargetsOf(settings: TargetSettings): LossTargets {
  const mixed = isMixActive(settings.mix);
  const smoothed = settings.labelSmoothing > 0;
  return mixed ? (smoothed ? 'mixed-smoothed' : 'mixed') : smoothed ? 'smoothed' : 'hard';
}

/**
 * The validation loss against training-style targets. Smoothing needs only the labels changed; mixing
 * needs the images mixed too, in batches of shuffled images (sorted ones would mostly pair a class with
 * itself). Its generator is seeded afresh every call, so every epoch mixes the same pairs with the same λ:
 * the curve moves with the model only, and the training's own random numbers are not touched.
 */
export async function validationLossOnTrainingTargets(
  forward: (x: tf.Tensor, training: boolean) => tf.Tensor,
  data: DataSplit,
  numClasses: number,
  batchSize: number,
  settings: TargetSettings,
  seed: number,
): Promise<number> {
  const rng = createRng(`val-targets:${seed}`);
  const mixing = isMixActive(settings.mix);
  const all = Array.from({ length: data.count }, (_, i) => i);
  const order = Int32Array.from(mixing ? shuffled(all, rng) : all);
  let sum = 0;
  let seen = 0;
  for await (const batch of prefetchBatches(data, order, batchSize, numClasses)) {
    const mixed = mixing ? mixBatch(batch.x as tf.Tensor4D, batch.y, settings.mix, rng) : undefined;
    const targets = smoothLabels(mixed?.y ?? batch.y, settings.labelSmoothing);
    const loss = tf.tidy(() => crossEntropy(forward(mixed?.x ?? batch.x, false), targets));
    sum += (await loss.data())[0] * batch.labels.length;
    seen += batch.labels.length;
    tf.dispose([loss, targets, batch.x, batch.y, ...(mixed ? [mixed.x, mixed.y] : [])]);
  }
  return sum / Math.max(1, seen);
}
