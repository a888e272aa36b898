import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { datasetFingerprint } from '../../../src/core/data/fingerprint';
import { scanDataset } from '../../../src/core/data/scanDataset';
import { makeTempDir, removeDir, writeFiles } from './imageFixtures';

const FIXED_TIME_S = 1_000_000_000; // whole seconds, so the restored mtime is exactly the original one

describe('datasetFingerprint', () => {
  let root: string;
  const fingerprint = async (): Promise<string> => datasetFingerprint(await scanDataset(root));
  const setTime = (rel: string, seconds: number): Promise<void> =>
    fs.utimes(path.join(root, rel), seconds, seconds);

  before(async () => {
    root = await makeTempDir('fingerprint');
    await writeFiles(root, { 'cat/1.png': null, 'cat/2.png': null, 'dog/1.png': null });
    for (const rel of ['cat/1.png', 'cat/2.png', 'dog/1.png']) await setTime(rel, FIXED_TIME_S);
  });
  after(async () => {
    await removeDir(root);
  });

  it('is a sha256 hex digest that is stable across scans', async () => {
    const first = await fingerprint();
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(await fingerprint(), first);
  });

  it('does not depend on the order of scan.images', async () => {
    const scan = await scanDataset(root);
    const reversed = { ...scan, images: scan.images.slice().reverse() };
    assert.equal(datasetFingerprint(reversed), datasetFingerprint(scan));
  });

  it('changes when a file is touched, resized, added or removed, and comes back when undone', async () => {
    const original = await fingerprint();

    await setTime('cat/1.png', FIXED_TIME_S + 5);
    assert.notEqual(await fingerprint(), original, 'modification time');
    await setTime('cat/1.png', FIXED_TIME_S);
    assert.equal(await fingerprint(), original, 'time restored');

    const bytes = await fs.readFile(path.join(root, 'dog/1.png'));
    await fs.writeFile(path.join(root, 'dog/1.png'), Buffer.concat([bytes, Buffer.from([0])]));
    await setTime('dog/1.png', FIXED_TIME_S);
    assert.notEqual(await fingerprint(), original, 'size');
    await fs.writeFile(path.join(root, 'dog/1.png'), bytes);
    await setTime('dog/1.png', FIXED_TIME_S);
    assert.equal(await fingerprint(), original, 'content restored');

    await writeFiles(root, { 'dog/2.png': null });
    await setTime('dog/2.png', FIXED_TIME_S);
    assert.notEqual(await fingerprint(), original, 'added');
    await fs.rm(path.join(root, 'dog/2.png'));
    assert.equal(await fingerprint(), original, 'removed again');

    await fs.rename(path.join(root, 'cat/2.png'), path.join(root, 'cat/3.png'));
    assert.notEqual(await fingerprint(), original, 'renamed');
    await fs.rename(path.join(root, 'cat/3.png'), path.join(root, 'cat/2.png'));
  });

  it('changes when class names change even if the files look alike', async () => {
    const scan = await scanDataset(root);
    assert.notEqual(datasetFingerprint({ ...scan, classNames: ['cat', 'wolf'] }), datasetFingerprint(scan));
  });
});
