/**
 * The pure parts of data insight: stratified folds, PCA, duplicate pairs, the embedding map's sample,
 * Grad-CAM drawing (upsampling, colours, blending, quadrant shares) and where a moved image goes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duplicatePairs } from '../../src/core/insight/duplicates';
import { sampleForMap } from '../../src/core/insight/embeddingSample';
import { classesSmallerThanFolds, stratifiedFolds } from '../../src/core/insight/folds';
import { blendHeat, heatColour, quadrantShares, upsample } from '../../src/core/insight/heatmap';
import {
  candidateName,
  classFolderOf,
  isFolderName,
  isInsidePath,
  moveTarget,
} from '../../src/core/insight/moveTarget';
import { pca } from '../../src/core/insight/pca';
import { createRng } from '../../src/core/rng';

describe('stratified folds', () => {
  const labels = [...Array(23).fill(0), ...Array(11).fill(1), ...Array(3).fill(2)];

  it('puts every image in one fold, each class spread evenly, the same for the same seed', () => {
    const folds = stratifiedFolds(labels, 5, 7);
    assert.equal(folds.length, labels.length);
    for (const label of [0, 1, 2]) {
      const counts = [0, 0, 0, 0, 0];
      labels.forEach((l, i) => l === label && counts[folds[i]]++);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `class ${label}: ${counts}`);
    }
    assert.deepEqual(stratifiedFolds(labels, 5, 7), folds);
    assert.notDeepEqual(stratifiedFolds(labels, 5, 8), folds);
    // Every fold is used (the small class does not start over at fold 0).
    assert.equal(new Set(folds).size, 5);
  });

  it('names the classes smaller than the folds, and refuses impossible fold counts', () => {
    assert.deepEqual(classesSmallerThanFolds(labels, 5), [2]);
    assert.throws(() => stratifiedFolds(labels, 1, 1), /from 2 to/);
    assert.throws(() => stratifiedFolds([0, 1], 3, 1), /too few/);
  });
});

describe('PCA', () => {
  it('finds the two directions of a plane in 6-D, and how much variance they explain', () => {
    const rng = createRng('pca-test');
    const n = 400;
    const d = 6;
    const u = [1, 1, 0, 0, 0, 0].map((v) => v / Math.SQRT2);
    const v = [0, 0, 1, -1, 1, 0].map((x) => x / Math.sqrt(3));
    const data = new Float32Array(n * d);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      a.push(rng.uniform(-3, 3));
      b.push(rng.uniform(-1, 1));
      for (let j = 0; j < d; j++) data[i * d + j] = 5 + a[i] * u[j] + b[i] * v[j] + rng.uniform(-0.01, 0.01);
    }
    const projection = pca(data, n, d);
    // First axis: the wide direction (var 3 vs 1/3); it explains ~90%, both together ~100%.
    assert.ok(projection.explained[0] > 0.85, String(projection.explained));
    assert.ok(projection.explained[0] + projection.explained[1] > 0.999);
    const corr = (x: number[], y: number[]): number => {
      const mx = x.reduce((s, t) => s + t, 0) / x.length;
      const my = y.reduce((s, t) => s + t, 0) / y.length;
      let sxy = 0;
      let sx = 0;
      let sy = 0;
      x.forEach((xi, i) => {
        sxy += (xi - mx) * (y[i] - my);
        sx += (xi - mx) ** 2;
        sy += (y[i] - my) ** 2;
      });
      return sxy / Math.sqrt(sx * sy);
    };
    const pc1 = Array.from({ length: n }, (_, i) => projection.coordinates[i * 2]);
    const pc2 = Array.from({ length: n }, (_, i) => projection.coordinates[i * 2 + 1]);
    assert.ok(Math.abs(corr(pc1, a)) > 0.999);
    assert.ok(Math.abs(corr(pc2, b)) > 0.999);
  });

  it('handles data without variance', () => {
    const projection = pca(new Float32Array(12).fill(2), 4, 3);
    assert.deepEqual(Array.from(projection.coordinates), new Array(8).fill(0));
    assert.deepEqual(projection.explained, [0, 0]);
  });
});

describe('duplicate pairs', () => {
  it('reports identical files and near-duplicates above the threshold, identical first', () => {
    const pairs = duplicatePairs({
      bestTrain: [2, 0, 1, -1],
      bestSimilarity: [0.999, 0.5, 0.99, 0],
      trainHashes: ['a', 'b', 'c'],
      valHashes: ['x', 'b', 'y', 'a'],
      threshold: 0.985,
    });
    assert.deepEqual(
      pairs.map((p) => [p.val, p.train, p.identical]),
      [
        [1, 1, true],
        [3, 0, true],
        [0, 2, false],
        [2, 1, false],
      ],
    );
  });
});

describe('embedding map sample', () => {
  it('keeps every image up to the bound, and above it every flagged one and each class', () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i < 90 ? 0 : 1));
    assert.equal(sampleForMap(labels, new Set(), 100).length, 100);
    const chosen = sampleForMap(labels, new Set([3, 95]), 20, 1);
    assert.equal(chosen.length, 20);
    assert.ok(chosen.includes(3) && chosen.includes(95));
    assert.ok(chosen.some((i) => labels[i] === 1 && i !== 95));
    assert.deepEqual(
      chosen,
      [...chosen].sort((a, b) => a - b),
    );
  });
});

describe('Grad-CAM drawing', () => {
  it('upsamples bilinearly, keeping a constant map constant and corners where they were', () => {
    assert.deepEqual(Array.from(upsample([2, 2, 2, 2], 2, 2, 3, 5)), new Array(15).fill(2));
    const big = upsample([1, 0, 0, 0], 2, 2, 8, 8);
    assert.equal(big[0], 1);
    assert.equal(big[63], 0);
    assert.ok(big[9] > big[18] && big[18] > big[27]);
  });

  it('shares the heat by quadrant', () => {
    const map = [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const [tl, tr, bl, br] = quadrantShares(map, 4, 4);
    assert.ok(Math.abs(tl - 4 / 6) < 1e-12 && tr === 0 && bl === 0 && Math.abs(br - 2 / 6) < 1e-12);
    // Odd sizes: the middle row and column are split half and half.
    assert.deepEqual(quadrantShares([0, 0, 0, 0, 4, 0, 0, 0, 0], 3, 3), [0.25, 0.25, 0.25, 0.25]);
  });

  it('colours cold blue and hot red, and blends more colour where it is hotter', () => {
    const [rc, , bc] = heatColour(0);
    const [rh, , bh] = heatColour(1);
    assert.ok(bc > rc && rh > bh);
    const out = blendHeat(new Uint8Array([0, 0, 0, 0, 0, 0]), [0, 1]);
    assert.ok(out[3] > out[0], 'the hot pixel is redder');
    assert.throws(() => blendHeat(new Uint8Array(3), [0, 1]), /Expected 6 RGB bytes/);
  });
});

describe('where a moved image goes', () => {
  it('keeps the split folder and the name, adding -2, -3 while a name is taken', async () => {
    const taken = new Set(['dog/x.png', 'dog/x-2.png']);
    assert.equal(await moveTarget('cat/x.png', 'dog', 'flat', (c) => taken.has(c)), 'dog/x-3.png');
    assert.equal(await moveTarget('train/cat/sub/y.jpg', 'dog', 'split', () => false), 'train/dog/y.jpg');
    assert.equal(await moveTarget('cat/x.png', 'cat', 'flat', () => false), undefined);
    assert.equal(candidateName('.hidden', 2), '.hidden-2');
    assert.equal(candidateName('README', 3), 'README-3');
    assert.deepEqual(classFolderOf('val/bird/a.png', 'split'), { prefix: 'val/', className: 'bird' });
  });

  it('refuses paths out of the dataset and class names that are not one folder', async () => {
    for (const bad of ['../x.png', 'cat/../../x', '/etc/passwd', 'cat\\..\\x', '', 'cat//x.png', 'a/./b'])
      assert.equal(isInsidePath(bad), false, bad);
    for (const bad of ['..', '.', 'a/b', 'a\\b', '.git', '', 'x\0y'])
      assert.equal(isFolderName(bad), false, bad);
    assert.equal(await moveTarget('../x.png', 'dog', 'flat', () => false), undefined);
    assert.equal(await moveTarget('cat/x.png', '../dog', 'flat', () => false), undefined);
  });
});
