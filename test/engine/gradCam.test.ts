/**
 * Grad-CAM on a synthetic case whose answer is known: a model that detects bright square blobs
 * (a conv filter) and says "blob" when there is one anywhere (global average pooling → Dense softmax).
 * An image with its blob in one quadrant must get most of the heat there — for each quadrant in turn,
 * through gradCam() on the model and through `finetune explain` on the same model saved as a run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { main } from '../../src/cli/program';
import type { CliIO } from '../../src/cli/io';
import { quadrantShares } from '../../src/core/insight/heatmap';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { gradCam } from '../../src/engine/insight/gradCam';

const SIZE = 16;
const QUADRANTS = ['top-left', 'top-right', 'bottom-left', 'bottom-right'];
let root: string;
let model: tfl.LayersModel;

/** blob detector → ReLU; GAP; Dense: class 0 "blob" from the detector, class 1 "plain" from a bias. */
function blobModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [SIZE, SIZE, 1], name: 'image' });
  const conv = tfl.layers.conv2d({
    filters: 2,
    kernelSize: 3,
    padding: 'same',
    activation: 'relu',
    name: 'detector',
  });
  const pool = tfl.layers.globalAveragePooling2d({ name: 'head_pool' });
  const dense = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'head_output' });
  const output = dense.apply(pool.apply(conv.apply(input))) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: input, outputs: output });
  // Filter 0 fires on bright 3×3 patches only (bias −4.5: a patch must average above 0.5); filter 1 is off.
  const kernel = new Float32Array(3 * 3 * 1 * 2);
  for (let i = 0; i < 9; i++) kernel[i * 2] = 1;
  conv.setWeights([tf.tensor4d(kernel, [3, 3, 1, 2]), tf.tensor1d([-4.5, -100])]);
  dense.setWeights([tf.tensor2d([20, 0, 0, 0], [2, 2]), tf.tensor1d([0, 0.5])]);
  return m;
}

/** A dark image (pixels in [0, 1]) with a bright 4×4 square in the given quadrant. */
function imageWithBlob(quadrant: number): Float32Array {
  const pixels = new Float32Array(SIZE * SIZE).fill(0.1);
  const top = quadrant < 2 ? 2 : 10;
  const left = quadrant % 2 === 0 ? 2 : 10;
  for (let y = top; y < top + 4; y++) for (let x = left; x < left + 4; x++) pixels[y * SIZE + x] = 1;
  return pixels;
}

before(async () => {
  await tf.setBackend('cpu');
  model = blobModel();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-gradcam-'));
  // The same model as a run folder, for `finetune explain`.
  const runDir = path.join(root, '.finetune/runs/blob-run');
  await model.save(atomicDirSaveHandler(path.join(runDir, 'model')));
  fs.writeFileSync(path.join(runDir, 'model/labels.json'), JSON.stringify(['blob', 'plain']));
  fs.writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify({
      id: 'blob-run',
      name: 'blob',
      status: 'completed',
      classNames: ['blob', 'plain'],
      config: { dataset: { imageSize: [SIZE, SIZE], pixelRange: [0, 1] } },
    }),
  );
  for (let q = 0; q < 4; q++) {
    const bytes = Buffer.from(imageWithBlob(q).map((v) => Math.round(v * 255)));
    await sharp(bytes, { raw: { width: SIZE, height: SIZE, channels: 1 } })
      .png()
      .toFile(path.join(root, `${QUADRANTS[q]}.png`));
  }
});

after(() => {
  model.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('Grad-CAM', () => {
  for (let q = 0; q < 4; q++) {
    it(`puts most of the heat in the ${QUADRANTS[q]} quadrant where the blob is`, async () => {
      const image = tf.tensor4d(imageWithBlob(q), [1, SIZE, SIZE, 1]);
      const cam = await gradCam(model, image, 0);
      image.dispose();
      assert.equal(cam.layer, 'detector');
      assert.deepEqual([cam.height, cam.width], [SIZE, SIZE]);
      assert.ok(cam.probabilities[0] > 0.5, 'the model sees the blob');
      const shares = quadrantShares(cam.map, cam.height, cam.width);
      assert.ok(shares[q] > 0.9, `heat by quadrant: ${shares.map((s) => s.toFixed(2))}`);
      assert.equal(Math.max(...cam.map), 1, 'normalised to its maximum');
    });
  }

  it('for the class the blob speaks against, there is no positive evidence anywhere', async () => {
    const image = tf.tensor4d(imageWithBlob(0), [1, SIZE, SIZE, 1]);
    const cam = await gradCam(model, image, 1);
    image.dispose();
    assert.ok(cam.map.every((v) => v === 0));
    await assert.rejects(
      gradCam(model, tf.zeros([1, SIZE, SIZE, 1]) as tf.Tensor4D, 2),
      /not one of the model's 2 classes/,
    );
  });

  it('`finetune explain` writes overlays whose heat is in the blob’s quadrant', async () => {
    let stdout = '';
    let stderr = '';
    const io: CliIO = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), cwd: root, env: {} };
    const images = QUADRANTS.map((q) => `${q}.png`);
    const code = await main(
      [
        'node',
        'finetune',
        'explain',
        'blob-run',
        ...images,
        '--class',
        'blob',
        '--out',
        'cams',
        '--backend',
        'cpu',
        '--json',
      ],
      io,
    );
    assert.equal(code, 0, stderr);
    const { results } = JSON.parse(stdout) as {
      results: { file: string; quadrants: number[]; output: string }[];
    };
    results.forEach((r, q) => {
      assert.equal(r.file, images[q]);
      assert.ok(r.quadrants[q] > 0.9, `${r.file}: ${r.quadrants}`);
      assert.equal(r.output, path.join(root, 'cams', `${QUADRANTS[q]}.gradcam.png`));
    });
    // The overlay itself: redder in the blob's quadrant than in the opposite one.
    const { data, info } = await sharp(results[0].output).raw().toBuffer({ resolveWithObject: true });
    const redness = (x: number, y: number): number => {
      const i = (y * info.width + x) * info.channels;
      return data[i] - data[i + 2];
    };
    const w = info.width;
    assert.ok(
      redness(Math.round(w * 0.25), Math.round(w * 0.25)) >
        redness(Math.round(w * 0.75), Math.round(w * 0.75)),
    );
  });

  it(
    '`finetune explain` in a cloned folder: a planted gradcam link is refused, an overlay name that is a link is replaced, not written through',
    { skip: process.platform === 'win32' },
    async () => {
      const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-explain-outside-'));
      const victim = path.join(outside, 'victim.txt');
      fs.writeFileSync(victim, 'precious');
      const run = async (extra: string[]): Promise<{ code: number; stderr: string }> => {
        let stderr = '';
        const io: CliIO = { out: () => {}, err: (t) => void (stderr += t), cwd: root, env: {} };
        const args = [
          'node',
          'finetune',
          'explain',
          'blob-run',
          'top-left.png',
          '--backend',
          'cpu',
          ...extra,
        ];
        return { code: await main(args, io), stderr };
      };
      try {
        // The default output folder is a link out of the working folder.
        fs.symlinkSync(outside, path.join(root, 'gradcam'));
        const refused = await run([]);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          /gradcam is a symbolic link: finetune explain does not write through it/,
        );
        assert.deepEqual(fs.readdirSync(outside), ['victim.txt']);
        // An overlay's name planted as a link to a file outside.
        fs.mkdirSync(path.join(root, 'planted'));
        const overlay = path.join(root, 'planted', 'top-left.gradcam.png');
        fs.symlinkSync(victim, overlay);
        const written = await run(['--out', 'planted']);
        assert.equal(written.code, 0, written.stderr);
        assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
        assert.ok(fs.lstatSync(overlay).isFile(), 'the link was replaced by the overlay');
      } finally {
        fs.rmSync(path.join(root, 'gradcam'), { force: true });
        fs.rmSync(outside, { recursive: true, force: true });
      }
    },
  );
});
