/**
 * Confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
 * Labels", 2021 — the method behind cleanlab): which images' labels are probably wrong, from
 * out-of-sample predicted probabilities (every image predicted by a model that never trained on it).
 *
 *   1. Per-class threshold t_j = the mean self-confidence of class j: the average p̂(j | x) over the
 *      images labelled j. A model is confident about class j when p̂(j | x) ≥ t_j.
 *   2. Confident joint: an image labelled i counts towards C[i][j*], where j* is the class of highest
 *      p̂ among those above their threshold (no class above it: the image is not counted). Calibrated so
 *      that each row sums to the number of images labelled i (images no class was confident about are
 *      spread over the row as the counted ones are), rounded keeping the row totals.
 *   3. The number of label issues is the calibrated joint's off-diagonal sum; the issues are that many
 *      images, ranked by self-confidence p̂(i | x) or by the normalised margin
 *      (p̂(i | x) − max_{j≠i} p̂(j | x) + 1) / 2, lowest first (cleanlab's `low_self_confidence` and
 *      `low_normalized_margin` filters). So an image whose folder the model is sure is wrong is listed
 *      even when the model is not sure enough of any other class to put it in the joint.
 *   4. The suggested label: the image's class in the joint when it is off the diagonal there, else the
 *      most probable other class.
 *   5. Also listed, after them in the same order: every other image the out-of-sample model classifies
 *      as another class (cleanlab's `predicted_neq_given`). The joint is conservative when the model is
 *      confident on average (high thresholds): an image it puts in another class at 75% while that class's
 *      threshold is 86% is not counted, yet it is one a person should look at. `confident` tells the two
 *      kinds apart.
 *
 * Pure: numbers in, numbers out; no TensorFlow.js, so it is unit-tested on hand-made probabilities.
 */

export type RankBy = 'self_confidence' | 'normalized_margin';
export const RANK_BY: readonly RankBy[] = ['self_confidence', 'normalized_margin'];

export interface LabelIssueIndex {
  /** Row of the image in the probability matrix. */
  index: number;
  /** Its given label (the folder it is in). */
  label: number;
  /** The class it probably belongs to. */
  suggested: number;
  /** p̂(label | x). */
  selfConfidence: number;
  /** p̂(suggested | x). */
  suggestedProbability: number;
  /** p̂(label | x) − max over the other classes, in [-1, 1]. */
  margin: number;
  /** How likely the label is wrong, in [0, 1], higher first: 1 − self-confidence, or (1 − margin) / 2. */
  score: number;
  /** One of the images confident learning estimates to be mislabelled (else: only predicted as another class). */
  confident: boolean;
}

export interface ConfidentLearningResult {
  /** t_j per class (NaN for a class no image is labelled with). */
  thresholds: number[];
  /** C[given][suggested]: counts of confidently assigned images. */
  confidentJoint: number[][];
  /** The confident joint calibrated to the label counts and rounded (rows sum to the label counts). */
  calibratedJoint: number[][];
  /** How many images confident learning estimates to be mislabelled: the calibrated joint's off-diagonal sum. */
  estimatedIssues: number;
  /** That many images, most likely wrong first, then the other images predicted as another class. */
  issues: LabelIssueIndex[];
}

/**
 * `probabilities`: row-major, `labels.length` rows of `numClasses` values (each row sums to about 1).
 * Ties in the ranking are broken by row index, so the order is deterministic.
 */
export function findLabelIssues(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
  rankBy: RankBy = 'self_confidence',
): ConfidentLearningResult {
  const n = labels.length;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new Error(`Confident learning needs at least 2 classes (got ${numClasses}).`);
  }
  if (probabilities.length !== n * numClasses) {
    throw new Error(
      `Expected ${n} × ${numClasses} = ${n * numClasses} probabilities, got ${probabilities.length}.`,
    );
  }
  const p = (row: number, k: number): number => probabilities[row * numClasses + k];

  const sums = new Array<number>(numClasses).fill(0);
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new Error(`Label ${label} of row ${i} is not a class index below ${numClasses}.`);
    }
    sums[label] += p(i, label);
    counts[label] += 1;
  }
  const thresholds = sums.map((s, k) => (counts[k] > 0 ? s / counts[k] : Number.NaN));

  const confidentJoint = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const jointClass = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    let suggested = -1;
    for (let k = 0; k < numClasses; k++) {
      // A class nobody is labelled with has no threshold: it cannot be confidently suggested.
      if (!(p(i, k) >= thresholds[k])) continue;
      if (suggested < 0 || p(i, k) > p(i, suggested)) suggested = k;
    }
    if (suggested < 0) continue;
    jointClass[i] = suggested;
    confidentJoint[labels[i]][suggested] += 1;
  }
  const calibratedJoint = calibrate(confidentJoint, counts);
  let issueCount = 0;
  calibratedJoint.forEach((row, i) => row.forEach((c, j) => (issueCount += i === j ? 0 : c)));

  const ranked: (LabelIssueIndex & { disagrees: boolean })[] = [];
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    const selfConfidence = p(i, label);
    let other = -1;
    for (let k = 0; k < numClasses; k++) if (k !== label && (other < 0 || p(i, k) > p(i, other))) other = k;
    const margin = selfConfidence - p(i, other);
    const suggested = jointClass[i] >= 0 && jointClass[i] !== label ? jointClass[i] : other;
    ranked.push({
      disagrees: p(i, other) > selfConfidence,
      index: i,
      label,
      suggested,
      selfConfidence,
      suggestedProbability: p(i, suggested),
      margin,
      score: rankBy === 'self_confidence' ? 1 - selfConfidence : (1 - margin) / 2,
      confident: false,
    });
  }
  ranked.sort((a, b) => b.score - a.score || a.index - b.index);
  const issues: LabelIssueIndex[] = [];
  ranked.forEach(({ disagrees, ...issue }, rank) => {
    if (rank < issueCount) issues.push({ ...issue, confident: true });
    else if (disagrees) issues.push(issue);
  });
  return { thresholds, confidentJoint, calibratedJoint, estimatedIssues: issueCount, issues };
}

/**
 * Each row scaled to the number of images with that label (a row nothing was counted in keeps all its
 * images on the diagonal: no evidence of noise), then rounded so the row still sums to that number
 * (largest remainders get the rounding up).
 */
export function calibrate(joint: number[][], labelCounts: number[]): number[][] {
  return joint.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    if (total === 0) return row.map((_, j) => (j === i ? labelCounts[i] : 0));
    const scaled = row.map((c) => (c / total) * labelCounts[i]);
    const floors = scaled.map(Math.floor);
    let missing = labelCounts[i] - floors.reduce((a, b) => a + b, 0);
    const order = scaled
      .map((v, j) => ({ j, rest: v - Math.floor(v) }))
      .sort((a, b) => b.rest - a.rest || a.j - b.j);
    for (const { j } of order) {
      if (missing <= 0) break;
      floors[j] += 1;
      missing -= 1;
    }
    return floors;
  });
}
