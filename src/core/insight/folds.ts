/**
 * Stratified K-fold assignment for out-of-sample predictions: every image lands in exactly one fold, and
 * each class is dealt round-robin over the folds after a seeded shuffle, so every fold has each class in
 * about the data's proportion (with few images per class a plain random split can leave a class out of
 * a fold's training set, and then nothing in that fold could be predicted as it).
 */
import { createRng, shuffled } from '../rng';

export const DEFAULT_FOLDS = 5;
export const MAX_FOLDS = 20;

/** fold[i] ∈ [0, k) for every image i. */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number | string): Int32Array {
  if (!Number.isInteger(k) || k < 2 || k > MAX_FOLDS) {
    throw new Error(`The number of folds must be a whole number from 2 to ${MAX_FOLDS} (got ${k}).`);
  }
  if (labels.length < k) {
    throw new Error(`${labels.length} images are too few for ${k} folds: every fold needs at least one.`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const fold = new Int32Array(labels.length);
  // Classes continue where the previous one stopped dealing, so small classes do not all start at fold 0.
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const order = shuffled(byClass.get(label)!, createRng(`folds:${seed}:${label}`));
    for (const i of order) {
      fold[i] = next;
      next = (next + 1) % k;
    }
  }
  return fold;
}

/** Classes that have fewer images than folds: some folds train without any image of them. */
export function classesSmallerThanFolds(labels: ArrayLike<number>, k: number): number[] {
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) counts.set(labels[i], (counts.get(labels[i]) ?? 0) + 1);
  return [...counts.entries()]
    .filter(([, n]) => n < k)
    .map(([label]) => label)
    .sort((a, b) => a - b);
}
