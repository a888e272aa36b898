/**
 * Export folders are written whole or not at all: a failure in the middle (injected after a file) leaves
 * no target and no staging folder, and leaves a previous export intact; only empty folders and previous
 * exports are replaced; links are refused. And a run's model.json cannot make an export copy files from
 * outside its model folder.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { exportTargetState, writeExportFolder } from '../../src/core/export/exportFolder';
import { HOST_TAG } from '../../src/core/files/writerId';
import { readRunModel } from '../../src/core/export/runModel';
import { tempDir } from '../helpers/fixtureModels';

const files = [
  { name: 'model.onnx', data: new Uint8Array([1, 2, 3]) },
  { name: 'labels.json', data: '["a","b"]\n' },
  { name: 'README.md', data: '# new\n' },
];

function failAfter(name: string) {
  return (written: string): void => {
    if (written === name) throw new Error(`injected failure after ${name}`);
  };
}

/** Everything beside the target in its parent folder (staging folders are hidden entries there). */
function siblings(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

describe('export folders', () => {
  it('writes every file, into a new folder', () => {
    const root = tempDir('export-folder');
    const target = path.join(root, 'out');
    const written = writeExportFolder(target, files).files;
    assert.deepEqual(
      written,
      files.map((f) => path.join(target, f.name)),
    );
    assert.deepEqual(fs.readFileSync(path.join(target, 'model.onnx')), Buffer.from([1, 2, 3]));
    assert.deepEqual(siblings(root), ['out']);
  });

  it('a failure in the middle leaves no folder and no staging folder behind', () => {
    const root = tempDir('export-folder');
    const target = path.join(root, 'out');
    assert.throws(
      () => writeExportFolder(target, files, { afterFile: failAfter('labels.json') }),
      /injected failure after labels\.json/,
    );
    assert.deepEqual(siblings(root), [], 'neither out/ nor .out.export-… exist');
  });

  it('replacing a previous export: a failure keeps the old one whole; success replaces it whole', () => {
    const root = tempDir('export-folder');
    const target = path.join(root, 'out');
    writeExportFolder(target, [
      { name: 'model.json', data: '{}' },
      { name: 'weights.bin', data: 'old' },
      { name: 'README.md', data: '# old\n' },
    ]);
    assert.deepEqual(exportTargetState(target), { kind: 'previousExport' });
    assert.throws(
      () => writeExportFolder(target, files, { overwrite: true, afterFile: failAfter('README.md') }),
      /injected failure/,
    );
    assert.deepEqual(fs.readdirSync(target).sort(), ['README.md', 'model.json', 'weights.bin']);
    assert.equal(fs.readFileSync(path.join(target, 'README.md'), 'utf8'), '# old\n');
    assert.deepEqual(siblings(root), ['out']);

    writeExportFolder(target, files, { overwrite: true });
    assert.deepEqual(fs.readdirSync(target).sort(), ['README.md', 'labels.json', 'model.onnx']);
    assert.deepEqual(siblings(root), ['out']);
  });

  it('refuses a non-empty folder, a folder with the user’s own files even with overwrite, and links', () => {
    const root = tempDir('export-folder');
    const previous = path.join(root, 'previous');
    writeExportFolder(previous, files);
    assert.throws(() => writeExportFolder(previous, files), /is not empty \(it holds an earlier export\)/);

    const mine = path.join(root, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
    fs.writeFileSync(path.join(mine, 'README.md'), 'mine too');
    assert.throws(() => writeExportFolder(mine, files), /is not empty \(it holds (notes\.txt|README\.md)\)/);
    assert.throws(
      () => writeExportFolder(mine, files, { overwrite: true }),
      /holds notes\.txt, which an export does not write/,
    );
    assert.equal(fs.readFileSync(path.join(mine, 'README.md'), 'utf8'), 'mine too');

    const readmeOnly = path.join(root, 'project');
    fs.mkdirSync(readmeOnly);
    fs.writeFileSync(path.join(readmeOnly, 'README.md'), 'my project');
    assert.deepEqual(
      exportTargetState(readmeOnly),
      { kind: 'foreign', entry: 'README.md' },
      'no model: not an export',
    );
    assert.throws(() => writeExportFolder(readmeOnly, files, { overwrite: true }), /holds README\.md/);

    const link = path.join(root, 'link');
    fs.symlinkSync(previous, link, 'dir');
    assert.throws(() => writeExportFolder(link, files, { overwrite: true }), /is a symbolic link/);

    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    writeExportFolder(empty, files);
    assert.equal(fs.readdirSync(empty).length, files.length, 'an empty folder is used as it is');
  });

  it('removes staging folders that a killed export left beside the target', () => {
    const root = tempDir('export-folder');
    // A pid that is not running (the largest a Linux pid can be is 2^22), on this host.
    const stale = path.join(root, `.out.export-4194399-${HOST_TAG}abcd0123`);
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, 'model.onnx'), 'half');
    // The same pid on another host (a dev container sharing the folder): maybe alive there, so kept.
    const foreign = `.out.export-4194399-${HOST_TAG === 'ffffffff' ? 'eeeeeeee' : 'ffffffff'}abcd0123`;
    fs.mkdirSync(path.join(root, foreign));
    writeExportFolder(path.join(root, 'out'), files);
    assert.deepEqual(siblings(root), [foreign, 'out'].sort());
  });
});

describe("a run's weight files stay inside its model folder", () => {
  function runWithManifest(paths: string[]): string {
    const runDir = path.join(tempDir('contained'), 'run1');
    fs.mkdirSync(path.join(runDir, 'model'), { recursive: true });
    fs.writeFileSync(
      path.join(runDir, 'model', 'model.json'),
      JSON.stringify({
        modelTopology: { config: { layers: [{ config: { batch_input_shape: [null, 8, 8, 3] } }] } },
        weightsManifest: [{ paths, weights: [] }],
      }),
    );
    fs.writeFileSync(path.join(runDir, 'model', 'labels.json'), '["a","b"]');
    return runDir;
  }

  it('refuses a manifest path that leaves the folder, and a weight file that is a symbolic link', () => {
    const outside = runWithManifest(['../../secret.bin']);
    fs.writeFileSync(path.join(outside, '..', 'secret.bin'), 'id_rsa');
    assert.throws(() => readRunModel(outside), /secret\.bin listed in .* is outside the model folder/);

    const linked = runWithManifest(['./weights.bin']);
    const secret = path.join(linked, '..', 'secret.bin');
    fs.writeFileSync(secret, 'id_rsa');
    fs.symlinkSync(secret, path.join(linked, 'model', 'weights.bin'));
    assert.throws(() => readRunModel(linked), /weights\.bin listed in .* is a symbolic link/);

    const fine = runWithManifest(['./weights.bin']);
    fs.writeFileSync(path.join(fine, 'model', 'weights.bin'), 'w');
    assert.deepEqual(readRunModel(fine).weightFiles, [path.join(fine, 'model', 'weights.bin')]);
  });
});
