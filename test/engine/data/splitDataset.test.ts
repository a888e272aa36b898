import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scanDataset, type DatasetScan, type ImageRef } from '../../../src/core/data/scanDataset';
import { splitDataset } from '../../../src/core/data/splitDataset';
import { assertEveryClassTrains } from '../../../src/engine/data/trainingCoverage';
import { UserError } from '../../../src/core/userError';
import { makeTempDir, removeDir, writeFiles } from './imageFixtures';

/** A flat-layout scan built in memory: splitting reads only the refs. */
function flatScan(sizes: Record<string, number>): DatasetScan {
  const classNames = Object.keys(sizes).sort();
  const images: ImageRef[] = [];
  classNames.forEach((name, classIndex) => {
    for (let i = 0; i < sizes[name]; i++) {
      const file = `${name}/img${String(i).padStart(3, '0')}.png`;
      images.push({ file, abs: `/data/${file}`, classIndex, size: 100 + i, mtimeMs: 1 });
    }
  });
  const countsByClass = Object.fromEntries(
    classNames.map((n) => [n, { train: 0, val: 0, test: 0, total: sizes[n] }]),
  );
  return {
    root: '/data',
    layout: 'flat',
    classNames,
    images,
    countsByClass,
    emptyClasses: [],
    ignoredFiles: [],
    warnings: [],
  };
}

const files = (refs: ImageRef[]): string[] => refs.map((r) => r.file);

describe('splitDataset', () => {
  it('validationSplit never leaves a class without a training image, however small the class or large the split', () => {
    const scan = flatScan({ a: 1, b: 2, c: 3, d: 5 });
    for (const fraction of [0.2, 0.5, 0.9, 0.999]) {
      const { train } = splitDataset(scan, fraction, 7);
      for (let cls = 0; cls < 4; cls++)
        assert.ok(
          train.some((r) => r.classIndex === cls),
          `split ${fraction}: class ${cls} trains`,
        );
      assertEveryClassTrains(scan, splitDataset(scan, fraction, 7));
    }
    // Were a class left without one, the run would be refused, naming its folder.
    assert.throws(
      () =>
        assertEveryClassTrains(scan, {
          train: scan.images.filter((r) => r.classIndex !== 1),
          val: [],
          warnings: [],
        }),
      (e: unknown) =>
        e instanceof UserError && /leaves class "b" \(\/data\/b\) without a training image/.test(e.message),
    );
  });

  it('splits each class on its own: round(n × split) of every class goes to validation', () => {
    const scan = flatScan({ cat: 10, dog: 20, fox: 7, owl: 50 });
    const { train, val, warnings } = splitDataset(scan, 0.2, 1);
    const valCount = (cls: number): number => val.filter((r) => r.classIndex === cls).length;
    assert.deepEqual([0, 1, 2, 3].map(valCount), [2, 4, 1, 10]); // fox: round(1.4) = 1
    for (let cls = 0; cls < 4; cls++) {
      const n = scan.images.filter((r) => r.classIndex === cls).length;
      assert.ok(Math.abs(valCount(cls) / n - 0.2) <= 0.5 / n + 1e-9, `class ${cls} fraction`);
    }
    assert.deepEqual(warnings, []);
    const all = [...files(train), ...files(val)];
    assert.equal(new Set(all).size, all.length, 'no image in both sets');
    assert.deepEqual(all.slice().sort(), files(scan.images).slice().sort(), 'every image in one set');
    assert.deepEqual(files(val), files(val).slice().sort(), 'sorted by file');
  });

  it('is reproducible for a seed, independent of listing order, and differs for another seed', () => {
    const scan = flatScan({ cat: 30, dog: 30 });
    const first = splitDataset(scan, 0.25, 7);
    const again = splitDataset(scan, 0.25, 7);
    assert.deepEqual(files(again.val), files(first.val));
    const shuffledListing = { ...scan, images: scan.images.slice().reverse() };
    assert.deepEqual(files(splitDataset(shuffledListing, 0.25, 7).val), files(first.val));
    assert.notDeepEqual(files(splitDataset(scan, 0.25, 8).val), files(first.val));
  });

  it("keeps one class's split when another class gains images", () => {
    const before = splitDataset(flatScan({ cat: 12, dog: 12 }), 0.25, 3);
    const after = splitDataset(flatScan({ cat: 12, dog: 40 }), 0.25, 3);
    const cats = (refs: ImageRef[]): string[] => files(refs).filter((f) => f.startsWith('cat/'));
    assert.deepEqual(cats(after.val), cats(before.val));
  });

  it('puts one image of a small class in validation, none of a single image, and says so', () => {
    const { train, val, warnings } = splitDataset(flatScan({ pair: 2, single: 1, many: 10 }), 0.1, 1);
    assert.equal(val.filter((r) => r.file.startsWith('pair/')).length, 1);
    assert.equal(val.filter((r) => r.file.startsWith('single/')).length, 0);
    assert.equal(train.filter((r) => r.file.startsWith('single/')).length, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /"single" has only 1 image/);
  });

  it('never takes a whole class into validation', () => {
    const { train } = splitDataset(flatScan({ a: 2, b: 3 }), 0.9, 1);
    assert.deepEqual(
      [0, 1].map((c) => train.filter((r) => r.classIndex === c).length),
      [1, 1],
    );
  });

  it('has no validation set for split 0 and rejects a split outside [0, 1)', () => {
    const scan = flatScan({ a: 5, b: 5 });
    const none = splitDataset(scan, 0, 1);
    assert.equal(none.val.length, 0);
    assert.equal(none.train.length, 10);
    assert.deepEqual(none.warnings, []);
    for (const bad of [1, -0.1, Number.NaN]) {
      assert.throws(
        () => splitDataset(scan, bad, 1),
        (e: unknown) => e instanceof UserError && /validationSplit/.test(e.message),
      );
    }
  });

  describe('split layout', () => {
    let root: string;
    before(async () => {
      root = await makeTempDir('split');
      await writeFiles(root, {
        'train/cat/1.png': null,
        'train/cat/2.png': null,
        'train/dog/1.png': null,
        'val/cat/3.png': null,
        'val/dog/2.png': null,
        'test/dog/3.png': null,
      });
    });
    after(async () => {
      await removeDir(root);
    });

    it('uses the val/ folder, ignores validationSplit and leaves test/ out', async () => {
      const scan = await scanDataset(root);
      const { train, val, warnings } = splitDataset(scan, 0.5, 1);
      assert.deepEqual(files(train), ['train/cat/1.png', 'train/cat/2.png', 'train/dog/1.png']);
      assert.deepEqual(files(val), ['val/cat/3.png', 'val/dog/2.png']);
      assert.deepEqual(warnings, []);
    });
  });
});
