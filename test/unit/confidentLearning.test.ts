/**
 * Confident learning on hand-made out-of-sample probabilities: thresholds, the confident joint and its
 * calibration, how many issues it estimates and which images, their order, and the suggested labels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibrate, findLabelIssues } from '../../src/core/insight/confidentLearning';

/** Rows of [p(class 0), p(class 1), p(class 2)] and their given labels. */
function data(rows: [number[], number][]): { probs: number[]; labels: number[] } {
  return { probs: rows.flatMap(([p]) => p), labels: rows.map(([, l]) => l) };
}

describe('confident learning', () => {
  // Class 0: four confident images and one that is clearly a 1 (row 4); class 1: three and one that
  // is clearly a 2 (row 8); class 2: three confident.
  const { probs, labels } = data([
    [[0.9, 0.05, 0.05], 0],
    [[0.8, 0.1, 0.1], 0],
    [[0.95, 0.03, 0.02], 0],
    [[0.85, 0.1, 0.05], 0],
    [[0.02, 0.96, 0.02], 0],
    [[0.1, 0.85, 0.05], 1],
    [[0.05, 0.9, 0.05], 1],
    [[0.1, 0.8, 0.1], 1],
    [[0.01, 0.04, 0.95], 1],
    [[0.05, 0.05, 0.9], 2],
    [[0.1, 0.1, 0.8], 2],
    [[0.02, 0.03, 0.95], 2],
  ]);

  it('thresholds are the mean self-confidence per class', () => {
    const { thresholds } = findLabelIssues(probs, labels, 3);
    assert.ok(Math.abs(thresholds[0] - (0.9 + 0.8 + 0.95 + 0.85 + 0.02) / 5) < 1e-12);
    assert.ok(Math.abs(thresholds[1] - (0.85 + 0.9 + 0.8 + 0.04) / 4) < 1e-12);
    assert.ok(Math.abs(thresholds[2] - (0.9 + 0.8 + 0.95) / 3) < 1e-12);
  });

  it('counts each image at its most probable class among those above their threshold', () => {
    const { confidentJoint } = findLabelIssues(probs, labels, 3);
    // Row 4 (label 0, p1 0.96 ≥ t1 0.6475) → C[0][1]; row 8 (label 1, p2 0.95 ≥ t2 0.883) → C[1][2].
    assert.equal(confidentJoint[0][1], 1);
    assert.equal(confidentJoint[1][2], 1);
    // Row 10 (label 2, p2 0.8 < t2 0.883, nothing else above its threshold) is not counted at all.
    assert.equal(
      confidentJoint[2].reduce((a, b) => a + b, 0),
      2,
    );
  });

  it('finds exactly the two planted errors, with the right suggestions, most likely first', () => {
    const { issues, estimatedIssues } = findLabelIssues(probs, labels, 3);
    assert.equal(estimatedIssues, 2);
    assert.deepEqual(
      issues.map((i) => [i.index, i.label, i.suggested, i.confident]),
      [
        [4, 0, 1, true],
        [8, 1, 2, true],
      ],
    );
    assert.ok(Math.abs(issues[0].score - 0.98) < 1e-12, '1 − self-confidence');
    assert.equal(issues[0].suggestedProbability, 0.96);
  });

  it('ranks by the normalised margin when asked', () => {
    const { issues } = findLabelIssues(probs, labels, 3, 'normalized_margin');
    const first = issues[0];
    assert.equal(first.index, 4);
    assert.ok(Math.abs(first.margin - (0.02 - 0.96)) < 1e-12);
    assert.ok(Math.abs(first.score - (1 - (0.02 - 0.96)) / 2) < 1e-12);
  });

  it('also lists an image predicted as another class that no threshold made confident, after the estimate', () => {
    // Row 3: label 0 but p1 0.6 — below t1, so not in the joint, yet predicted as 1.
    const { probs: p, labels: l } = data([
      [[0.95, 0.05], 0],
      [[0.9, 0.1], 0],
      [[0.99, 0.01], 0],
      [[0.4, 0.6], 0],
      [[0.05, 0.95], 1],
      [[0.02, 0.98], 1],
      [[0.03, 0.97], 1],
    ]);
    const result = findLabelIssues(p, l, 2);
    assert.equal(result.estimatedIssues, 0);
    assert.deepEqual(
      result.issues.map((i) => [i.index, i.suggested, i.confident]),
      [[3, 1, false]],
    );
  });

  it('no issue when every image is confidently in its own class', () => {
    const { probs: p, labels: l } = data([
      [[0.9, 0.1], 0],
      [[0.8, 0.2], 0],
      [[0.1, 0.9], 1],
      [[0.3, 0.7], 1],
    ]);
    assert.deepEqual(findLabelIssues(p, l, 2).issues, []);
  });

  it('breaks ties by row, so the order is deterministic', () => {
    const { probs: p, labels: l } = data([
      [[0.9, 0.1], 0],
      [[0.1, 0.9], 0],
      [[0.1, 0.9], 0],
      [[0.1, 0.9], 1],
      [[0.1, 0.9], 1],
    ]);
    assert.deepEqual(
      findLabelIssues(p, l, 2).issues.map((i) => i.index),
      [1, 2],
    );
  });

  it('calibration scales each row to its label count and keeps the row totals when rounding', () => {
    assert.deepEqual(
      calibrate(
        [
          [3, 1, 0],
          [0, 0, 0],
          [1, 1, 1],
        ],
        [8, 5, 10],
      ),
      [
        [6, 2, 0],
        [0, 5, 0],
        [4, 3, 3],
      ],
    );
  });

  it('refuses probabilities that do not fit the labels', () => {
    assert.throws(() => findLabelIssues([0.5, 0.5], [0, 1], 2), /Expected 2 × 2/);
    assert.throws(() => findLabelIssues([0.5, 0.5], [2], 2), /not a class index/);
    assert.throws(() => findLabelIssues([1], [0], 1), /at least 2 classes/);
  });
});
