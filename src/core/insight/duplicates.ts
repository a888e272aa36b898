/**
 * Near-duplicates across the training and validation split: a validation image that (almost) also is a
 * training image measures memory, not generalisation, and inflates val_accuracy. Two signals:
 *   - identical files (same bytes: a copy under another name or in another class folder), and
 *   - feature vectors at the cut whose cosine similarity is above a threshold (a re-encoded, resized or
 *     slightly cropped copy looks the same to the model).
 * The similarities themselves are computed by the engine (a matrix product on the backend); this module
 * turns them into the reported pairs.
 */

/** Cosine similarity above which two images count as near-duplicates by default. */
export const DEFAULT_DUPLICATE_THRESHOLD = 0.985;

export interface DuplicateCandidate {
  /** Index into the validation images. */
  val: number;
  /** Index into the training images. */
  train: number;
  similarity: number;
  /** The two files have the same bytes. */
  identical: boolean;
}

/**
 * Pairs to report: every identical pair, and for each validation image its most similar training image
 * when at or above `threshold`. Most similar first (identical before near), then by index.
 */
export function duplicatePairs(args: {
  /** Per validation image: the index of its most similar training image (-1: none). */
  bestTrain: ArrayLike<number>;
  bestSimilarity: ArrayLike<number>;
  /** Content hash per image (training images, then validation images by their own index). */
  trainHashes: readonly string[];
  valHashes: readonly string[];
  threshold?: number;
}): DuplicateCandidate[] {
  const threshold = args.threshold ?? DEFAULT_DUPLICATE_THRESHOLD;
  const trainByHash = new Map<string, number[]>();
  args.trainHashes.forEach((hash, i) => {
    const list = trainByHash.get(hash) ?? [];
    list.push(i);
    trainByHash.set(hash, list);
  });
  const pairs: DuplicateCandidate[] = [];
  args.valHashes.forEach((hash, v) => {
    const identical = trainByHash.get(hash) ?? [];
    for (const t of identical) pairs.push({ val: v, train: t, similarity: 1, identical: true });
    const best = args.bestTrain[v];
    const similarity = args.bestSimilarity[v];
    if (best >= 0 && similarity >= threshold && !identical.includes(best)) {
      pairs.push({ val: v, train: best, similarity: Math.min(1, similarity), identical: false });
    }
  });
  return pairs.sort(
    (a, b) =>
      Number(b.identical) - Number(a.identical) ||
      b.similarity - a.similarity ||
      a.val - b.val ||
      a.train - b.train,
  );
}
