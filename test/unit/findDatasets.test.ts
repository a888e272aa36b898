import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findDatasets } from '../../src/host/datasets/findDatasets';

let root: string;

/** Creates `<root>/<rel>` with one (non-empty) file per name. */
function files(rel: string, ...names: string[]): void {
  const dir = path.join(root, rel);
  fs.mkdirSync(dir, { recursive: true });
  for (const name of names) fs.writeFileSync(path.join(dir, name), 'x');
}

describe('findDatasets', () => {
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'find-datasets-'));
    // Flat layout, two levels down.
    files('data/flowers/daisy', 'a.jpg', 'b.JPG');
    files('data/flowers/rose', 'c.png');
    files('data/flowers/notes', 'readme.txt'); // not a class: no images
    // Split layout: classes inside train/ and val/ (a class may exist in only one of them).
    files('data/split/train/cat', '1.png');
    files('data/split/train/dog', '2.png');
    files('data/split/val/cat', '3.webp');
    // One class only: not a dataset.
    files('single/only', 'a.png');
    // Folders of images without class folders: not a dataset.
    files('loose', 'a.png', 'b.png');
    // Skipped: dependencies, hidden folders, the run store.
    files('node_modules/pkg/data/a', '1.png');
    files('node_modules/pkg/data/b', '1.png');
    files('.hidden/set/a', '1.png');
    files('.hidden/set/b', '1.png');
    files('.finetune/runs/r1/x/a', '1.png');
    files('.finetune/runs/r1/x/b', '1.png');
    // Depth limit: the dataset folder at level 5 (deep/1/2/3/set) is beyond maxDepth 4.
    files('deep/1/2/3/set/a', '1.gif');
    files('deep/1/2/3/set/b', '1.bmp');
    files('shallow/1/2/set/a', '1.gif');
    files('shallow/1/2/set/b', '1.bmp');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('finds flat and split datasets, not one-class folders, skipped or too deep ones', async () => {
    const result = await findDatasets(root, { maxDepth: 4 });
    assert.equal(result.truncated, false);
    assert.deepEqual(
      result.datasets.map((d) => [d.relativePath, d.layout, d.classNames]),
      [
        ['data/flowers', 'flat', ['daisy', 'rose']],
        ['data/split', 'split', ['cat', 'dog']],
        ['shallow/1/2/set', 'flat', ['a', 'b']],
      ],
    );
    assert.equal(result.datasets[0].root, path.join(root, 'data', 'flowers'));
  });

  it('reaches the deeper dataset with a larger maxDepth', async () => {
    const result = await findDatasets(root, { maxDepth: 5 });
    assert.ok(result.datasets.some((d) => d.relativePath === 'deep/1/2/3/set'));
  });

  it("does not report a dataset's class folders, or train/ of a split dataset, as datasets of their own", async () => {
    const result = await findDatasets(root, { maxDepth: 8 });
    assert.ok(!result.datasets.some((d) => d.relativePath.startsWith('data/split/')));
  });

  it('names the searched folder itself "." when it is the dataset', async () => {
    const result = await findDatasets(path.join(root, 'data', 'flowers'));
    assert.deepEqual(
      result.datasets.map((d) => d.relativePath),
      ['.'],
    );
  });

  it('stops after maxFolders listings and says so', async () => {
    const result = await findDatasets(root, { maxDepth: 8, maxFolders: 3 });
    assert.equal(result.truncated, true);
    assert.ok(result.foldersListed <= 3);
  });

  it('does not loop through a symbolic link back to an ancestor', async (t) => {
    const loopRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'find-datasets-loop-'));
    try {
      fs.mkdirSync(path.join(loopRoot, 'a', 'b'), { recursive: true });
      try {
        fs.symlinkSync(loopRoot, path.join(loopRoot, 'a', 'b', 'up'), 'dir');
      } catch {
        t.skip('symbolic links are not available here');
        return;
      }
      const result = await findDatasets(loopRoot, { maxDepth: 30, maxFolders: 10000 });
      assert.deepEqual(result.datasets, []);
      assert.ok(result.foldersListed < 10, `listed ${result.foldersListed} folders`);
    } finally {
      fs.rmSync(loopRoot, { recursive: true, force: true });
    }
  });

  it('finds nothing (and does not throw) in a missing folder', async () => {
    const result = await findDatasets(path.join(root, 'no-such-folder'));
    assert.deepEqual(result.datasets, []);
  });
});
