import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanDataset } from '../../../src/core/data/scanDataset';
import { UserError } from '../../../src/core/userError';
import { makeTempDir, removeDir, writeFiles } from './imageFixtures';

let base: string;
let counter = 0;
async function dataset(files: Record<string, Buffer | string | null>): Promise<string> {
  const root = path.join(base, `ds${counter++}`);
  await fs.mkdir(root, { recursive: true });
  await writeFiles(root, files);
  return root;
}

function assertUserError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('scanDataset', () => {
  before(async () => {
    base = await makeTempDir('scan');
  });
  after(async () => {
    await removeDir(base);
  });

  it('reads the flat layout: classes, nested folders, extensions, hidden and non-image files', async () => {
    const root = await dataset({
      'cat/a.png': null,
      'cat/b.JPG': null,
      'cat/notes.txt': 'not an image',
      'cat/.DS_Store': 'hidden',
      'dog/x.jpeg': null,
      'dog/sub/deeper/y.webp': null,
      'bird/z.gif': null,
      'bird/w.BmP': null,
      '.hidden/h.png': null,
      'cat/.thumbs/t.png': null,
      'README.md': 'about',
    });
    const scan = await scanDataset(root);
    assert.equal(scan.layout, 'flat');
    assert.equal(scan.root, root);
    assert.deepEqual(scan.classNames, ['bird', 'cat', 'dog']);
    assert.deepEqual(
      scan.images.map((i) => [i.file, i.classIndex]),
      [
        ['bird/w.BmP', 0],
        ['bird/z.gif', 0],
        ['cat/a.png', 1],
        ['cat/b.JPG', 1],
        ['dog/sub/deeper/y.webp', 2],
        ['dog/x.jpeg', 2],
      ],
    );
    const nested = scan.images.find((i) => i.file === 'dog/sub/deeper/y.webp');
    assert.equal(nested?.abs, path.join(root, 'dog', 'sub', 'deeper', 'y.webp'));
    assert.ok((nested?.size ?? 0) > 0 && (nested?.mtimeMs ?? 0) > 0);
    assert.equal(nested?.split, undefined);
    assert.deepEqual(scan.ignoredFiles, ['README.md', 'cat/notes.txt']);
    assert.deepEqual(scan.countsByClass.dog, { train: 0, val: 0, test: 0, total: 2 });
    assert.deepEqual(scan.emptyClasses, []);
    assert.deepEqual(scan.warnings, []);
  });

  it('orders classes by code point, not by locale or UTF-16 units', async () => {
    const names = ['a', 'B', '😀', 'ｚ', '_x', 'ä', 'Z'];
    const files: Record<string, null> = {};
    for (const name of names) files[`${name}/1.png`] = null;
    const scan = await scanDataset(await dataset(files));
    // 'ｚ' is U+FF5A, '😀' U+1F600; a default JS sort puts the emoji first (surrogate 0xD83D < 0xFF5A).
    assert.deepEqual(scan.classNames, ['B', 'Z', '_x', 'a', 'ä', 'ｚ', '😀']);
    assert.deepEqual(
      scan.images.map((i) => scan.classNames[i.classIndex]),
      scan.images.map((i) => i.file.split('/')[0]),
    );
  });

  it('reads the split layout with the union of class names and per-split counts', async () => {
    const root = await dataset({
      'train/cat/1.png': null,
      'train/cat/2.png': null,
      'train/dog/1.png': null,
      'val/cat/3.png': null,
      'val/dog/2.png': null,
      'val/fox/1.png': null,
      'test/dog/9.png': null,
      'extra/cat/5.png': null,
    });
    const scan = await scanDataset(root);
    assert.equal(scan.layout, 'split');
    assert.deepEqual(scan.classNames, ['cat', 'dog', 'fox']);
    assert.deepEqual(scan.countsByClass.cat, { train: 2, val: 1, test: 0, total: 3 });
    assert.deepEqual(scan.countsByClass.dog, { train: 1, val: 1, test: 1, total: 3 });
    assert.deepEqual(scan.countsByClass.fox, { train: 0, val: 1, test: 0, total: 1 });
    const test = scan.images.find((i) => i.file === 'test/dog/9.png');
    assert.equal(test?.split, 'test');
    assert.equal(test?.classIndex, 1);
    assert.equal(scan.images.find((i) => i.file === 'val/fox/1.png')?.classIndex, 2);
    assert.ok(!scan.images.some((i) => i.file.startsWith('extra/')));
    assert.ok(
      scan.warnings.some((w) => w.includes('"extra"')),
      scan.warnings.join('\n'),
    );
    assert.ok(
      scan.warnings.some((w) => /No training images.*fox/.test(w)),
      scan.warnings.join('\n'),
    );
  });

  it('treats a train/ folder without val/ as a class, with a warning', async () => {
    const scan = await scanDataset(await dataset({ 'train/1.png': null, 'test/1.png': null }));
    assert.equal(scan.layout, 'flat');
    assert.deepEqual(scan.classNames, ['test', 'train']);
    assert.ok(scan.warnings.some((w) => w.includes('no val/ folder')));
  });

  it('leaves out empty class folders and zero-byte images, with warnings', async () => {
    const root = await dataset({
      'cat/1.png': null,
      'cat/empty.png': Buffer.alloc(0),
      'dog/1.png': null,
      'zeros/only.jpg': Buffer.alloc(0),
      'texts/readme.txt': 'x',
    });
    await fs.mkdir(path.join(root, 'nothing'));
    const scan = await scanDataset(root);
    assert.deepEqual(scan.classNames, ['cat', 'dog']);
    assert.deepEqual(scan.emptyClasses, ['nothing', 'texts', 'zeros']);
    assert.equal(scan.images.length, 2);
    assert.ok(scan.warnings.some((w) => w.includes('cat/empty.png') && w.includes('0 bytes')));
    assert.ok(scan.warnings.some((w) => w.includes('zeros/only.jpg')));
    assert.ok(scan.warnings.some((w) => w.includes('without images') && w.includes('nothing, texts, zeros')));
  });

  it('warns about class imbalance above 5×, not at 5×', async () => {
    const files = (cls: string, n: number): Record<string, null> =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${cls}/${i}.png`, null]));
    const atFive = await scanDataset(await dataset({ ...files('big', 10), ...files('small', 2) }));
    assert.ok(!atFive.warnings.some((w) => w.includes('imbalanced')), atFive.warnings.join('\n'));
    const overFive = await scanDataset(await dataset({ ...files('big', 11), ...files('small', 2) }));
    assert.ok(overFive.warnings.some((w) => w.includes('imbalanced') && w.includes('"small"')));
  });

  it('follows symbolic links and warns about a loop instead of hanging', { timeout: 5000 }, async () => {
    const outside = await dataset({ 'pics/o1.png': null, 'pics/o2.png': null });
    const root = await dataset({ 'cat/1.png': null, 'dog/1.png': null });
    await fs.symlink(path.join(outside, 'pics'), path.join(root, 'cat', 'linked'));
    await fs.symlink(root, path.join(root, 'dog', 'back-to-root'));
    await fs.symlink('.', path.join(root, 'dog', 'self'));
    await fs.symlink(path.join(root, 'nowhere'), path.join(root, 'dog', 'broken.png'));
    const scan = await scanDataset(root);
    assert.deepEqual(scan.classNames, ['cat', 'dog']);
    assert.deepEqual(
      scan.images.map((i) => i.file),
      ['cat/1.png', 'cat/linked/o1.png', 'cat/linked/o2.png', 'dog/1.png'],
    );
    assert.ok(
      scan.warnings.some((w) => /loop.*dog\/back-to-root/.test(w)),
      scan.warnings.join('\n'),
    );
    assert.ok(
      scan.warnings.some((w) => /loop.*dog\/self/.test(w)),
      scan.warnings.join('\n'),
    );
    assert.ok(
      scan.warnings.some((w) => /Broken symbolic link dog\/broken\.png/.test(w)),
      scan.warnings.join('\n'),
    );
  });

  it('counts a folder reached twice through links only once', async () => {
    const root = await dataset({ 'cat/1.png': null, 'dog/real/1.png': null });
    await fs.symlink(path.join(root, 'dog', 'real'), path.join(root, 'dog', 'again'));
    const scan = await scanDataset(root);
    assert.equal(scan.countsByClass.dog.total, 1);
    assert.deepEqual(
      scan.images.map((i) => i.file),
      ['cat/1.png', 'dog/real/1.png'],
    );
    assert.ok(
      scan.warnings.some((w) => w.includes('dog/again is the same folder as dog/real')),
      scan.warnings.join('\n'),
    );
  });

  it('rejects a missing path, a file, and folders without classes or images', async () => {
    const missing = path.join(base, 'does-not-exist');
    await assert.rejects(scanDataset(missing), assertUserError(/not found: .*does-not-exist/));
    const fileRoot = await dataset({ 'a.png': null });
    await assert.rejects(
      scanDataset(path.join(fileRoot, 'a.png')),
      assertUserError(/is a file, not a folder/),
    );
    await assert.rejects(
      scanDataset(fileRoot),
      assertUserError(/No class folders in .*1 image\(s\) that are not in a class folder/),
    );
    const noImages = await dataset({ 'cat/readme.txt': 'x', 'dog/notes.md': 'y' });
    await assert.rejects(scanDataset(noImages), assertUserError(/No images found in .*cat, dog/));
  });

  it('rejects a single class, naming its folder', async () => {
    const root = await dataset({ 'only/1.png': null, 'only/2.png': null });
    await assert.rejects(
      scanDataset(root),
      assertUserError(
        new RegExp(`at least two classes: add another folder next to ${escape(path.join(root, 'only'))}`),
      ),
    );
    const withEmpty = await dataset({ 'only/1.png': null, 'empty/readme.txt': 'x' });
    await assert.rejects(scanDataset(withEmpty), assertUserError(/no images: empty\).*at least two classes/));
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
