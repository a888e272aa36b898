/**
 * The checkpoint on disk: always the old checkpoint or the new one; a tensor already written (the same
 * backend data) named where it lies instead of written again, a tensor saved twice stored once, a full
 * rewrite when most of it changed; the format of earlier versions still read.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileDurably } from '../../src/core/atomicFile';
import { createRng } from '../../src/core/rng';
import { CHECKPOINT_DIR, saveTensor, type FitCheckpoint } from '../../src/engine/training/checkpoint';
import { CheckpointFiles, readCheckpoint, writeCheckpoint } from '../../src/engine/training/checkpointFiles';
import { tempDir } from '../helpers/fixtureModels';

const BIG = 4096; // floats: the "frozen backbone"
const SMALL = 16; // floats: the "head"

function checkpointOf(epoch: number, weights: tf.Tensor[], best: tf.Tensor[] | null): Promise<FitCheckpoint> {
  return (async () => ({
    epoch,
    history: [],
    tracker: { bestScore: 1 / epoch, bestEpoch: epoch, wait: 0 },
    rng: createRng('x').state(),
    extra: {},
    weights: await Promise.all(weights.map((w) => saveTensor(w))),
    bestWeights: best ? await Promise.all(best.map((w) => saveTensor(w))) : null,
    optimizers: [],
  }))();
}

interface State {
  format: number;
  tensorsFiles: string[];
}

function stateOf(runDir: string): State {
  return JSON.parse(fs.readFileSync(path.join(runDir, CHECKPOINT_DIR, 'state.json'), 'utf8')) as State;
}

/** The .bin files in the checkpoint folder and their sizes. */
function binaries(runDir: string): Record<string, number> {
  const dir = path.join(runDir, CHECKPOINT_DIR);
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.bin'))
      .map((f) => [f, fs.statSync(path.join(dir, f)).size]),
  );
}

const valuesOf = (c: FitCheckpoint): number[][] => c.weights.map((w) => Array.from(w.data));

describe('checkpoint files', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('a trainer killed while writing leaves the previous checkpoint readable; damage reads as none', async () => {
    const dir = tempDir('ckpt-files');
    assert.equal(readCheckpoint(dir), undefined, 'no checkpoint yet');
    const sample = async (epoch: number, value: number): Promise<FitCheckpoint> =>
      checkpointOf(epoch, [tf.fill([4], value), tf.tensor1d([epoch], 'int32')], [tf.fill([2, 2], value)]);
    writeCheckpoint(dir, await sample(1, 0.5));
    writeCheckpoint(dir, await sample(2, 0.25));
    const ckptDir = path.join(dir, CHECKPOINT_DIR);
    assert.equal(Object.keys(binaries(dir)).length, 1, 'older tensors removed');
    // Killed after the next tensors file was written, before state.json was replaced.
    writeFileDurably(path.join(ckptDir, 'tensors-zzz-1.bin'), new Uint8Array(64));
    fs.writeFileSync(path.join(ckptDir, 'state.json.tmp-1'), '{"format": 2, "tens');
    const read = readCheckpoint(dir)!;
    assert.equal(read.epoch, 2);
    assert.deepEqual(Array.from(read.weights[0].data), [0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual(Array.from(read.weights[1].data), [2]);
    assert.equal(read.weights[1].dtype, 'int32');
    assert.deepEqual(read.bestWeights![0].shape, [2, 2]);
    // A truncated tensors file (disk trouble) is no checkpoint, not a crash.
    fs.truncateSync(path.join(ckptDir, stateOf(dir).tensorsFiles[0]), 8);
    assert.equal(readCheckpoint(dir), undefined);
  });

  it('unchanged tensors are named where they lie, not written again; a tensor saved twice is stored once', async () => {
    const dir = tempDir('ckpt-reuse');
    const files = new CheckpointFiles(dir);
    const frozen = tf.randomNormal([BIG]);
    let head = tf.randomNormal([SMALL]);
    // Epoch 1: the best epoch, so bestWeights are the weights themselves (clones share the data).
    files.write(await checkpointOf(1, [frozen, head], [frozen.clone(), head.clone()]));
    assert.deepEqual(Object.values(binaries(dir)), [(BIG + SMALL) * 4], 'each tensor once');
    const [stable] = stateOf(dir).tensorsFiles;

    const best = [frozen.clone(), head.clone()];
    for (let epoch = 2; epoch <= 4; epoch++) {
      head = tf.add(head, 1); // only the head trains
      const checkpoint = await checkpointOf(epoch, [frozen, head], best);
      files.write(checkpoint);
      const state = stateOf(dir);
      assert.equal(state.tensorsFiles.length, 2);
      assert.equal(state.tensorsFiles[0], stable, 'the backbone stays where it is');
      const sizes = binaries(dir);
      assert.deepEqual(Object.keys(sizes).sort(), [...state.tensorsFiles].sort(), 'nothing else is left');
      assert.equal(sizes[state.tensorsFiles[1]], SMALL * 4, 'only the new head is written');
      const read = readCheckpoint(dir)!;
      assert.equal(read.epoch, epoch);
      assert.deepEqual(valuesOf(read), valuesOf(checkpoint));
      assert.deepEqual(
        read.bestWeights!.map((w) => Array.from(w.data)),
        checkpoint.bestWeights!.map((w) => Array.from(w.data)),
      );
    }
  });

  it('everything is written anew when most of it changed, or when most of the stable file is no longer needed', async () => {
    const dir = tempDir('ckpt-rewrite');
    const files = new CheckpointFiles(dir);
    const a = tf.randomNormal([BIG]);
    const b = tf.randomNormal([BIG / 2]);
    files.write(await checkpointOf(1, [a, b], null));
    // b changes: half of a's size is new, a is reused — two files.
    const b2 = tf.neg(b);
    files.write(await checkpointOf(2, [a, b2], null));
    assert.equal(stateOf(dir).tensorsFiles.length, 2);
    // a changes too: nothing reusable outweighs the new part — one new file, the others removed.
    const a2 = tf.neg(a);
    const full = await checkpointOf(3, [a2, b2], null);
    files.write(full);
    assert.equal(stateOf(dir).tensorsFiles.length, 1);
    assert.deepEqual(Object.values(binaries(dir)), [(BIG + BIG / 2) * 4]);
    assert.deepEqual(valuesOf(readCheckpoint(dir)!), valuesOf(full));
    // Only b2, a third of the stable file, is still used (and more than the new part): the file is not
    // kept for it.
    const mostlyGarbage = await checkpointOf(4, [b2, tf.randomNormal([SMALL])], null);
    files.write(mostlyGarbage);
    assert.equal(stateOf(dir).tensorsFiles.length, 1);
    assert.deepEqual(Object.values(binaries(dir)), [(BIG / 2 + SMALL) * 4]);
    assert.deepEqual(valuesOf(readCheckpoint(dir)!), valuesOf(mostlyGarbage));
  });

  it('everything is written anew when the new part outweighs what the stable file still provides', async () => {
    const dir = tempDir('ckpt-outweigh');
    const files = new CheckpointFiles(dir);
    const kept = tf.randomNormal([BIG]);
    files.write(await checkpointOf(1, [kept, tf.randomNormal([SMALL])], null));
    // Nearly all of the stable file is still used, but twice as much is new: one new file.
    const next = await checkpointOf(2, [kept, tf.randomNormal([2 * BIG])], null);
    files.write(next);
    assert.equal(stateOf(dir).tensorsFiles.length, 1);
    assert.deepEqual(Object.values(binaries(dir)), [3 * BIG * 4]);
    assert.deepEqual(valuesOf(readCheckpoint(dir)!), valuesOf(next));
  });

  it('a stable file that went missing is written again, not named', async () => {
    const dir = tempDir('ckpt-missing');
    const files = new CheckpointFiles(dir);
    const frozen = tf.randomNormal([BIG]);
    files.write(await checkpointOf(1, [frozen, tf.randomNormal([SMALL])], null));
    fs.rmSync(path.join(dir, CHECKPOINT_DIR, stateOf(dir).tensorsFiles[0]));
    const next = await checkpointOf(2, [frozen, tf.randomNormal([SMALL])], null);
    files.write(next);
    assert.equal(stateOf(dir).tensorsFiles.length, 1);
    assert.deepEqual(valuesOf(readCheckpoint(dir)!), valuesOf(next));
  });

  it('reads a checkpoint written by earlier versions (format 1: one tensors file)', () => {
    const dir = tempDir('ckpt-format1');
    const ckptDir = path.join(dir, CHECKPOINT_DIR);
    fs.mkdirSync(ckptDir, { recursive: true });
    const values = new Float32Array([1.5, -2, 3.25]);
    fs.writeFileSync(path.join(ckptDir, 'tensors-abc-1.bin'), Buffer.from(values.buffer));
    const entry = { shape: [3], dtype: 'float32', offset: 0, byteLength: 12 };
    const checkpoint = {
      epoch: 7,
      history: [],
      tracker: { bestScore: 0.5, bestEpoch: 7, wait: 0 },
      rng: createRng('x').state(),
      extra: {},
      weights: [entry],
      bestWeights: [entry],
      optimizers: [],
    };
    fs.writeFileSync(
      path.join(ckptDir, 'state.json'),
      JSON.stringify({ format: 1, tensorsFile: 'tensors-abc-1.bin', checkpoint }),
    );
    const read = readCheckpoint(dir)!;
    assert.equal(read.epoch, 7);
    assert.deepEqual(Array.from(read.weights[0].data), [1.5, -2, 3.25]);
    assert.deepEqual(Array.from(read.bestWeights![0].data), [1.5, -2, 3.25]);
  });
});
