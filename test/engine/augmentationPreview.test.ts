/**
 * Augmentation preview: real training images of a generated dataset, before and after the experiment's
 * augmentation — in-process (previewAugmentation) and through the trainer's one-shot mode
 * (`--preview-augmentation`, via the host's AugmentationPreviewer; needs `npm run build`).
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { AugmentationPreviewImage } from '../../src/protocol/augmentationPreview';
import { previewAugmentation, spreadOverClasses } from '../../src/engine/data/augmentationPreview';
import type { ImageRef } from '../../src/core/data/scanDataset';
import { createRng } from '../../src/core/rng';
import { AugmentationPreviewer, PreviewSupersededError } from '../../src/host/augmentationPreviewer';
import { ExperimentPanel } from '../../src/host/panels/experimentPanel';
import type { ExperimentService } from '../../src/host/experiments/experimentService';
import * as vscode from '../helpers/fakeVscodeApi';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveFlatSequential, tempDir } from '../helpers/fixtureModels';

const REPO = path.resolve(__dirname, '../../..');
const trainerScript = path.join(REPO, 'dist/trainer.js');
const SIZE = 16;
let root: string;

function experiment(name: string, augmentation: Record<string, unknown>, dataset = {}): string {
  return writeExperiment(root, name, {
    baseModel: 'base/model.json',
    dataset: { path: 'data', pixelRange: [-1, 1], validationSplit: 0.25, ...dataset },
    augmentation,
  });
}

async function rawPixels(dataUrl: string): Promise<{ width: number; height: number; data: Buffer }> {
  assert.match(dataUrl, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
  const png = Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64');
  // A real PNG: the signature, then sharp can read it back.
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return { width: info.width, height: info.height, data };
}

const differingPixels = (a: Buffer, b: Buffer): number => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

describe('augmentation preview', () => {
  before(async () => {
    await tf.setBackend('cpu');
    root = tempDir('augpreview');
    await saveFlatSequential(path.join(root, 'base'), SIZE, 3);
    await makeDataset(path.join(root, 'data'), 3, 8, SIZE);
  });

  it('with rotation and flip on, every augmented image differs from its original; both are PNGs of the model size', async () => {
    const images = await previewAugmentation({
      experimentPath: experiment('rotate', { rotation: 30, flipHorizontal: true }),
      count: 6,
      seed: 3,
    });
    assert.equal(images.length, 6);
    for (const image of images) {
      const original = await rawPixels(image.original);
      const augmented = await rawPixels(image.augmented);
      assert.deepEqual(
        [original.width, original.height, augmented.width, augmented.height],
        [16, 16, 16, 16],
      );
      assert.ok(
        differingPixels(original.data, augmented.data) > 16,
        `${image.file}: augmented should differ from the original`,
      );
    }
  });

  it('the original is the training file’s pixels (pixelRange mapped back to 0..255); spread over classes; training images only', async () => {
    const images = await previewAugmentation({
      experimentPath: experiment('pixels', { rotation: 10 }),
      count: 6,
      seed: 1,
    });
    const perClass = new Map<string, number>();
    for (const image of images) perClass.set(image.className, (perClass.get(image.className) ?? 0) + 1);
    assert.deepEqual([...perClass.values()], [2, 2, 2]);
    for (const image of images) {
      assert.equal(image.file.split('/')[0], image.className);
      const fromFile = await sharp(path.join(root, 'data', image.file))
        .removeAlpha()
        .raw()
        .toBuffer();
      const original = await rawPixels(image.original);
      assert.equal(differingPixels(fromFile, original.data), 0, `${image.file} round trip through [-1, 1]`);
    }
    // validationSplit 0.25 of 8 per class keeps 2 per class out: a 24-image request gets the 18 training ones.
    const all = await previewAugmentation({ experimentPath: experiment('all', {}), count: 24, seed: 1 });
    assert.equal(all.length, 18);
  });

  it('with augmentation off, augmented equals original; the same seed gives the same grid, another seed another', async () => {
    const file = experiment('off', {});
    const images = await previewAugmentation({ experimentPath: file, count: 4, seed: 5 });
    for (const image of images) assert.equal(image.augmented, image.original);
    const on = experiment('on', { translate: 0.2, brightness: 0.3 });
    const a = await previewAugmentation({ experimentPath: on, count: 4, seed: 5 });
    const b = await previewAugmentation({ experimentPath: on, count: 4, seed: 5 });
    const c = await previewAugmentation({ experimentPath: on, count: 4, seed: 6 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((i) => i.augmented),
      c.map((i) => i.augmented),
    );
  });

  it('spreadOverClasses takes classes in turn and stops when the images run out', () => {
    const refs = (classIndex: number, n: number): ImageRef[] =>
      Array.from({ length: n }, (_, i) => ({
        file: `c${classIndex}/${i}.png`,
        abs: `/x/c${classIndex}/${i}.png`,
        classIndex,
        size: 1,
        mtimeMs: 0,
      }));
    const images = [...refs(0, 5), ...refs(1, 1), ...refs(2, 3)];
    const picked = spreadOverClasses(images, 4, 7, createRng(1));
    const count = (c: number) => picked.filter((p) => p.classIndex === c).length;
    assert.deepEqual([count(0), count(1), count(2), count(3)], [3, 1, 3, 0]);
    assert.equal(spreadOverClasses(images, 4, 50, createRng(1)).length, 9);
    assert.equal(new Set(picked.map((p) => p.file)).size, picked.length);
  });

  it('runs as a one-shot trainer mode; a bad file fails with its message; a newer request supersedes', async () => {
    assert.ok(fs.existsSync(trainerScript), 'run `npm run build` first (npm test does)');
    const previewer = new AugmentationPreviewer(trainerScript, 60000);
    const images: AugmentationPreviewImage[] = await previewer.preview(
      experiment('child', { flipHorizontal: true, rotation: 20 }),
      2,
      3,
    );
    assert.equal(images.length, 3);
    assert.ok(images.every((i) => i.augmented !== i.original));
    await assert.rejects(
      previewer.preview(path.join(root, 'missing.finetune.json'), 1),
      /Experiment file not found/,
    );
    const first = previewer.preview(experiment('slow', { rotation: 5 }), 1);
    const second = previewer.preview(experiment('fast', {}), 1, 2);
    await assert.rejects(first, PreviewSupersededError);
    assert.equal((await second).length, 2);
    const untrusted = new AugmentationPreviewer(trainerScript, 60000, () => false);
    await assert.rejects(untrusted.preview(experiment('untrusted', {}), 1), /Restricted Mode/);
  });

  it('the experiment panel host answers previewAugmentation with the trainer’s images, or the error', async () => {
    const file = experiment('panel', { rotation: 15 });
    const experiments = {
      onDidChange: () => new vscode.Disposable(),
      setActive: () => {},
      snapshot: async () => ({
        experimentPath: file,
        document: {},
        errors: [],
        warnings: [],
        layerStates: {},
      }),
    } as unknown as ExperimentService;
    const context = {
      extensionUri: vscode.Uri.file(REPO) as never,
      log: vscode.createLogChannel() as never,
      experiments,
      startTraining: async () => {},
    };
    const panel = ExperimentPanel.show(vscode.Uri.file(file) as never, context);
    const fake = vscode.panels.at(-1)!;
    try {
      await fake.deliver({ type: 'ready' });
      await fake.deliver({ type: 'previewAugmentation', seed: 4 });
      const answer = fake.posted.at(-1) as { type: string; seed: number; images: AugmentationPreviewImage[] };
      assert.equal(answer.type, 'augmentationPreview');
      assert.equal(answer.seed, 4);
      assert.equal(answer.images.length, 12);
      const direct = await previewAugmentation({ experimentPath: file, seed: 4 });
      assert.deepEqual(answer.images, direct, 'the trainer process answers what the engine computes');
      // Malformed requests are dropped by the guard; a broken file is answered with its error, as text.
      const before = fake.posted.length;
      await fake.deliver({ type: 'previewAugmentation', seed: -1 });
      await fake.deliver({ type: 'previewAugmentation', seed: '4' });
      assert.equal(fake.posted.length, before);
      fs.writeFileSync(file, '{ "name": ');
      await fake.deliver({ type: 'previewAugmentation', seed: 5 });
      const failed = fake.posted.at(-1) as { images: unknown[]; error?: string };
      assert.deepEqual(failed.images, []);
      assert.match(failed.error ?? '', /panel\.finetune\.json/);
    } finally {
      panel.dispose();
    }
  });
});
