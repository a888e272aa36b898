/**
 * The bad-input catalogue (issue 6, point 4), end to end through `finetune train` in-process: every case is
 * a real experiment file, dataset or model on disk. Input that cannot be trained exits with code 2 and a
 * message that names the file, key or layer and says how to fix it — and leaves no run folder behind.
 * Input that can be trained with caveats (unreadable images among good ones, unusual formats, symbolic link
 * loops, unknown keys) trains, and the run folder is consistent and records the warnings. A run folder edited
 * into garbage lists as unreadable in `finetune runs` and in the Runs view instead of breaking them.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import * as tfl from '@tensorflow/tfjs-layers';
import type { CliIO } from '../../src/cli/io';
import { main } from '../../src/cli/program';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { atomicDirSaveHandler, fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { listRuns, parseMetricsLines, readRun } from '../../src/core/runs/readRuns';
import { RunItem } from '../../src/host/views/runItem';
import type { RunRecord } from '../../src/protocol/runRecord';
import { bmpBytes, pngHeaderOnly, solidImage } from './data/imageFixtures';
import { makeDataset } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let root: string;

interface Outcome {
  code: number;
  out: string;
  runsDir: string;
}

async function train(file: string, label: string): Promise<Outcome> {
  let out = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (out += t), cwd: root, env: {} };
  const runsDir = path.join(root, 'runs', label);
  const code = await main(['node', 'finetune', 'train', file, '--runs-dir', runsDir], io);
  return { code, out, runsDir };
}

type Doc = Record<string, unknown>;
const BASE: Doc = {
  baseModel: 'base/model.json',
  dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25 },
  head: { cutAt: 'flatten' },
  training: { epochs: 1, batchSize: 4, backend: 'cpu' },
};

function merge(a: unknown, b: unknown): unknown {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return b;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return b;
  const out: Doc = { ...(a as Doc) };
  for (const [k, v] of Object.entries(b as Doc)) out[k] = v === undefined ? undefined : merge(out[k], v);
  return out;
}

/** `<root>/<label>.finetune.json`: BASE with `patch` merged in (undefined removes a key), or raw text. */
function experiment(label: string, patch: Doc | string = {}): string {
  const file = path.join(root, `${label}.finetune.json`);
  const text =
    typeof patch === 'string' ? patch : JSON.stringify(merge({ name: label, ...BASE }, patch), null, 2);
  fs.writeFileSync(file, text);
  return file;
}

async function png(file: string, shade = 100): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await solidImage(16, 16, { r: shade, g: 255 - shade, b: 60 })
    .png()
    .toFile(file);
}

/** A copy of the fixture dataset under a new name, so a case can damage it. */
function copyData(label: string): string {
  const dir = path.join(root, `data-${label}`);
  fs.cpSync(path.join(root, 'data'), dir, { recursive: true });
  return path.basename(dir);
}

/** A copy of the base model, edited by `edit(dir)`; returns its model.json relative to root. */
function copyModel(label: string, edit: (dir: string) => void): string {
  const dir = path.join(root, `model-${label}`);
  fs.cpSync(path.join(root, 'base'), dir, { recursive: true });
  edit(dir);
  return path.relative(root, path.join(dir, 'model.json'));
}

function weightsFile(dir: string): string {
  return path.join(
    dir,
    fs.readdirSync(dir).find((f) => f.endsWith('.bin'))!,
  );
}

interface RefusedCase {
  name: string;
  setup: () => Promise<string> | string;
  /** Each must match the output: the file/key/layer named and the fix. */
  says: RegExp[];
}

const refused: RefusedCase[] = [
  {
    name: 'missing dataset path',
    setup: () => experiment('nodata', { dataset: { path: 'no-such-folder' } }),
    says: [/Dataset folder not found: .*no-such-folder/, /Check the path \(dataset\.path/],
  },
  {
    name: 'dataset path is a file',
    setup: () => experiment('datafile', { dataset: { path: 'base/model.json' } }),
    says: [/Dataset path is a file, not a folder: .*model\.json/, /Point it at the folder/],
  },
  {
    name: 'one class',
    setup: async () => {
      await png(path.join(root, 'one-class/cat/1.png'));
      await png(path.join(root, 'one-class/cat/2.png'));
      return experiment('oneclass', { dataset: { path: 'one-class' } });
    },
    says: [/Only one class found in .*one-class/, /add another folder next to .*cat/],
  },
  {
    name: 'one class with images, the other folder empty',
    setup: async () => {
      await png(path.join(root, 'half-empty/cat/1.png'));
      fs.mkdirSync(path.join(root, 'half-empty/dog'));
      return experiment('halfempty', { dataset: { path: 'half-empty' } });
    },
    says: [/Only one class found .*these class folders have no images: dog/],
  },
  {
    name: 'empty class folders',
    setup: () => {
      fs.mkdirSync(path.join(root, 'empty-classes/cat'), { recursive: true });
      fs.mkdirSync(path.join(root, 'empty-classes/dog'));
      fs.writeFileSync(path.join(root, 'empty-classes/dog/empty.png'), '');
      return experiment('emptyclasses', { dataset: { path: 'empty-classes' } });
    },
    says: [
      /No images found in .*empty-classes: its class folders \(cat, dog\) hold no/,
      /Put each class's images in its folder/,
    ],
  },
  {
    name: 'train/ + val/ whose train/ class folders are empty',
    setup: async () => {
      fs.mkdirSync(path.join(root, 'empty-train/train/cat'), { recursive: true });
      fs.mkdirSync(path.join(root, 'empty-train/train/dog'), { recursive: true });
      await png(path.join(root, 'empty-train/val/cat/1.png'));
      await png(path.join(root, 'empty-train/val/dog/1.png'), 200);
      return experiment('emptytrain', { dataset: { path: 'empty-train' } });
    },
    says: [
      /No training images in .*empty-train\/train: its class folders \(cat, dog\) hold no images, while val\/ and test\/ hold 2 images/,
      /Put each class's training images in .*empty-train\/train\/<class>\//,
    ],
  },
  {
    name: 'a class with validation images only',
    setup: async () => {
      for (const [file, shade] of [
        ['train/cat/1.png', 100],
        ['train/cat/2.png', 110],
        ['val/cat/3.png', 120],
        ['val/dog/4.png', 200],
      ] as const)
        await png(path.join(root, 'val-only', file), shade);
      return experiment('valonly', { dataset: { path: 'val-only' } });
    },
    says: [
      /class "dog" has no training images in .*val-only\/train\/dog \(1 in val\/\)/,
      /Add training images to/,
    ],
  },
  {
    name: 'class folders only under test/',
    setup: async () => {
      for (const [file, shade] of [
        ['train/cat/1.png', 100],
        ['train/dog/2.png', 200],
        ['val/cat/3.png', 110],
        ['val/dog/4.png', 210],
        ['test/bird/5.png', 30],
      ] as const)
        await png(path.join(root, 'test-only', file), shade);
      return experiment('testonly', { dataset: { path: 'test-only' } });
    },
    says: [
      /class "bird" exists only under .*test-only\/test\/bird \(1 in test\/\)/,
      /remove the class's folders everywhere/,
    ],
  },
  {
    name: 'images but no class folders',
    setup: async () => {
      await png(path.join(root, 'loose/1.png'));
      return experiment('loose', { dataset: { path: 'loose' } });
    },
    says: [
      /No class folders in .*loose\. It holds 1 image\(s\) that are not in a class folder/,
      /own sub-folder/,
    ],
  },
  {
    name: 'every image of a class unreadable (text, truncated, BMP with image extensions)',
    setup: async () => {
      const data = copyData('allbad');
      const dog = path.join(root, data, 'class_b');
      fs.rmSync(dog, { recursive: true });
      fs.mkdirSync(dog);
      fs.writeFileSync(path.join(dog, 'notes.png'), 'not an image');
      const good = await solidImage(16, 16, { r: 1, g: 2, b: 3 }).png().toBuffer();
      fs.writeFileSync(path.join(dog, 'half.png'), good.subarray(0, good.length >> 1));
      fs.writeFileSync(path.join(dog, 'old.bmp'), bmpBytes());
      fs.writeFileSync(path.join(dog, 'a.jpg'), 'GIF89a garbage');
      return experiment('allbad', { dataset: { path: data } });
    },
    says: [
      /image of class "class_b" could be decoded \(class_b\/\S+\.(png|jpg|bmp): /,
      /class_b\/old\.bmp: BMP is not supported|and \d+ more/,
      /Fix or replace those files/,
    ],
  },
  {
    name: 'model.json whose weight shard is missing',
    setup: () =>
      experiment('noshard', {
        baseModel: copyModel('noshard', (dir) => fs.rmSync(weightsFile(dir))),
      }),
    says: [
      /Weight file .*\.bin listed in .*model-noshard.model\.json is missing/,
      /Copy the model's \.bin files/,
    ],
  },
  {
    name: 'model.json with a truncated shard',
    setup: () =>
      experiment('truncshard', {
        baseModel: copyModel('truncshard', (dir) => {
          const bin = weightsFile(dir);
          fs.truncateSync(bin, Math.floor(fs.statSync(bin).size / 2));
        }),
      }),
    says: [
      /of .*model-truncshard.model\.json hold \d+ bytes but the manifest needs \d+: a shard is truncated/,
      /Re-export or re-download/,
    ],
  },
  {
    name: 'model.json that is not JSON',
    setup: () =>
      experiment('notjson', {
        baseModel: copyModel('notjson', (dir) =>
          fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": '),
        ),
      }),
    says: [/model-notjson.model\.json is not valid JSON/],
  },
  {
    name: 'a graph model (no modelTopology)',
    setup: () =>
      experiment('graphmodel', {
        baseModel: copyModel('graph', (dir) =>
          fs.writeFileSync(
            path.join(dir, 'model.json'),
            JSON.stringify({ format: 'graph-model', weightsManifest: [] }),
          ),
        ),
      }),
    says: [/model-graph.model\.json has no "modelTopology"/, /export a Keras\/LayersModel/],
  },
  {
    name: 'base model not found',
    setup: () => experiment('nomodel', { baseModel: 'models/missing/model.json' }),
    says: [/Base model not found: .*models.missing.model\.json/, /Point "baseModel" at/],
  },
  {
    name: 'a model without an image input',
    setup: async () => {
      const dir = path.join(root, 'model-vector');
      const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [10], units: 2, name: 'only' })] });
      await m.save(atomicDirSaveHandler(dir));
      m.dispose();
      return experiment('vector', { baseModel: 'model-vector/model.json', head: { cutAt: undefined } });
    },
    says: [
      /model-vector.model\.json takes input of shape \[null, 10\], not an image/,
      /\[batch, height, width, 1 or 3\]/,
    ],
  },
  {
    name: 'unknown layer in freezeUpTo',
    setup: () => experiment('badfreeze', { freezeUpTo: 'conv9' }),
    says: [
      /Unknown layer "conv9" in "freezeUpTo"/,
      /Did you mean .*"backbone\/conv2"/,
      /finetune layers <model\.json>/,
    ],
  },
  {
    name: 'unknown layer in layers',
    setup: () => experiment('badlayers', { layers: { 'backbone/block1/conv7': 'frozen' } }),
    says: [/Unknown layer "backbone\/block1\/conv7" in "layers/, /Did you mean "backbone\/block1\/conv1"/],
  },
  {
    name: 'unknown layer in head.cutAt',
    setup: () => experiment('badcut', { head: { cutAt: 'flaten' } }),
    says: [/Unknown layer "flaten" in "head\.cutAt"/, /Did you mean "flatten"/],
  },
  {
    name: 'image size incompatible with the kept frozen layers',
    setup: () =>
      experiment('badsize', {
        dataset: { imageSize: [24, 24] },
        head: { cutAt: 'dense_1' },
        freezeUpTo: 'dense_1',
      }),
    says: [
      /dataset\.imageSize \[24, 24\] does not fit the base model/,
      /dense_1/,
      /cut before that layer with "head\.cutAt"/,
    ],
  },
  {
    name: 'invalid numbers (negative learning rate, dropout 1, 0 epochs, fractional batch size)',
    setup: () =>
      experiment('badnumbers', {
        head: { cutAt: 'flatten', dropout: 1 },
        training: { learningRate: -0.1, epochs: 0, batchSize: 2.5 },
      }),
    says: [
      /badnumbers\.finetune\.json:\d+:\d+: head\.dropout .*\(got 1\)\. Use a fraction from 0 up to/,
      /badnumbers\.finetune\.json:\d+:\d+: training\.epochs .*\(got 0\)/,
      /badnumbers\.finetune\.json:\d+:\d+: training\.batchSize .*\(got 2\.5\)/,
      /badnumbers\.finetune\.json:\d+:\d+: training\.learningRate .*\(got -0\.1\)\. Use a small positive number/,
    ],
  },
  {
    name: 'pixelRange with lo ≥ hi',
    setup: () => experiment('badrange', { dataset: { pixelRange: [1, 0] } }),
    says: [
      /badrange\.finetune\.json:\d+:\d+: dataset\.pixelRange must be \[lo, hi\] with lo < hi \(got \[ ?1, 0 ?\]\)/,
      /such as \[0, 1\]/,
    ],
  },
  {
    name: 'malformed JSON (line and column)',
    setup: () =>
      experiment('malformed', '{\n  "name": "m",\n  "baseModel": "base/model.json"\n  "dataset": {}\n}\n'),
    says: [/malformed\.finetune\.json:4:3: .*comma.* — fix the JSON syntax/i],
  },
  {
    name: 'empty experiment file',
    setup: () => experiment('emptyfile', ''),
    says: [/emptyfile\.finetune\.json:1:1: a value is expected — fix the JSON syntax/],
  },
  {
    name: 'missing required keys',
    setup: () => experiment('missingkeys', '{ "name": "x" }'),
    says: [/missingkeys\.finetune\.json:1:1: .*"baseModel"/, /"dataset"/],
  },
  {
    name: 'no imageSize and a model whose input size cannot be read',
    setup: () => experiment('nosize', { baseModel: 'nowhere/model.json', dataset: { imageSize: undefined } }),
    says: [
      /dataset\.imageSize is not set and the input size of the base model .*nowhere.model\.json/,
      /Add "imageSize": \[height, width\]/,
    ],
  },
  {
    name: 'validationSplit 0 without a val/ folder',
    setup: () => experiment('noval', { dataset: { validationSplit: 0 } }),
    says: [
      /No validation images in .*data: set dataset\.validationSplit above 0/,
      /train\/ and val\/ folders/,
    ],
  },
  {
    name: 'experiment file that does not exist',
    setup: () => path.join(root, 'ghost.finetune.json'),
    says: [/Experiment file not found: .*ghost\.finetune\.json/],
  },
];

interface AcceptedCase {
  name: string;
  setup: () => Promise<string> | string;
  /** Each must appear among run.json's warnings (and in the output). */
  warns: RegExp[];
  check?: (record: RunRecord) => void;
}

const accepted: AcceptedCase[] = [
  {
    name: 'corrupt, zero-byte, non-image, BMP and decompression-bomb files among good images',
    setup: async () => {
      const data = copyData('mixed');
      const cat = path.join(root, data, 'class_a');
      const good = await solidImage(16, 16, { r: 1, g: 2, b: 3 }).png().toBuffer();
      fs.writeFileSync(path.join(cat, 'zero.png'), '');
      fs.writeFileSync(path.join(cat, 'notes.jpg'), 'not an image at all');
      fs.writeFileSync(path.join(cat, 'half.png'), good.subarray(0, good.length >> 1));
      fs.writeFileSync(path.join(cat, 'old.bmp'), bmpBytes());
      fs.writeFileSync(path.join(cat, 'bomb.png'), pngHeaderOnly(20000, 20000));
      return experiment('mixed', { dataset: { path: data, validationSplit: 0.5 } });
    },
    warns: [
      /class_a\/zero\.png is empty \(0 bytes\) and was skipped/,
      /skipped class_a\/notes\.jpg: not a readable image/,
      /skipped class_a\/half\.png: the image data is corrupt or truncated/,
      /skipped class_a\/old\.bmp: BMP is not supported by the image decoder; convert to PNG/,
      /skipped class_a\/bomb\.png: it has more than 268 megapixels/,
    ],
    check: (record) => assert.equal(record.counts.skipped, 4, 'four files skipped at decoding'),
  },
  {
    name: 'unusual formats: greyscale, RGBA, 16-bit PNG, CMYK JPEG, GIF, WebP, 10000×10000',
    setup: async () => {
      const data = copyData('formats');
      const dir = path.join(root, data, 'class_a');
      const colour = { r: 200, g: 50, b: 30 };
      await solidImage(16, 16, colour).toColourspace('b-w').png().toFile(path.join(dir, 'grey.png'));
      await sharp({ create: { width: 16, height: 16, channels: 4, background: { ...colour, alpha: 0.3 } } })
        .png()
        .toFile(path.join(dir, 'rgba.png'));
      await solidImage(16, 16, colour).toColourspace('rgb16').png().toFile(path.join(dir, 'deep.png'));
      await solidImage(16, 16, colour).toColourspace('cmyk').jpeg().toFile(path.join(dir, 'cmyk.jpg'));
      await solidImage(16, 16, colour).gif().toFile(path.join(dir, 'palette.gif'));
      await solidImage(16, 16, colour).webp().toFile(path.join(dir, 'photo.webp'));
      await solidImage(10000, 10000, colour).png({ compressionLevel: 1 }).toFile(path.join(dir, 'huge.png'));
      return experiment('formats', { dataset: { path: data, validationSplit: 0.5 } });
    },
    warns: [],
    check: (record) => {
      assert.equal(record.counts.skipped, 0, 'every format decoded');
      assert.equal(record.counts.train + record.counts.val, 12 + 7);
    },
  },
  {
    name: 'symbolic link loops and a broken link inside the dataset',
    setup: () => {
      const data = copyData('links');
      const dir = path.join(root, data);
      fs.symlinkSync(dir, path.join(dir, 'class_a', 'loop'));
      fs.symlinkSync('.', path.join(dir, 'class_b', 'self'));
      fs.symlinkSync(path.join(dir, 'nowhere.png'), path.join(dir, 'class_b', 'broken.png'));
      return experiment('links', { dataset: { path: data } });
    },
    warns: [
      /Symbolic link loop: class_a\/loop leads back to/,
      /Symbolic link loop: class_b\/self/,
      /Broken symbolic link class_b\/broken\.png/,
    ],
  },
  {
    name: 'unknown and duplicate keys (warnings, not errors)',
    setup: () =>
      experiment(
        'typo',
        JSON.stringify({
          name: 'typo',
          ...BASE,
          training: { ...(BASE.training as Doc), learningrate: 0.1 },
        }).replace('"name":"typo"', '"name":"first","name":"typo"'),
      ),
    warns: [/typo\.finetune\.json:1:\d+: unknown key "learningrate".*learningRate/, /duplicate key "name"/],
  },
  {
    name: 'a train/ folder without val/',
    setup: () => {
      const data = copyData('trainonly');
      fs.renameSync(path.join(root, data, 'class_b'), path.join(root, data, 'train'));
      return experiment('trainonly', { dataset: { path: data } });
    },
    warns: [/has a train\/ folder but no val\/ folder/],
  },
];

describe('bad input catalogue (finetune train, in-process)', () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('badinput');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 2, 6, 16);
  });

  for (const c of refused) {
    it(`refused: ${c.name} — exit 2, the message says where and how to fix, no run folder`, async () => {
      const result = await train(await c.setup(), c.name.replace(/\W+/g, '-'));
      assert.equal(result.code, 2, result.out);
      for (const pattern of c.says) assert.match(result.out, pattern);
      assert.doesNotMatch(result.out, /\n\s+at /, 'no stack trace');
      assert.equal(fs.existsSync(result.runsDir), false, 'no run folder was created');
    });
  }

  for (const c of accepted) {
    it(
      `trained with warnings: ${c.name} — a consistent run folder that records them`,
      { timeout: 30000 },
      async () => {
        const result = await train(await c.setup(), c.name.replace(/\W+/g, '-'));
        assert.equal(result.code, 0, result.out);
        const [run] = listRuns(result.runsDir);
        const record = run.record as RunRecord;
        assert.equal(record.status, 'completed');
        assert.equal(run.metrics.length, 1);
        assert.equal(run.skippedMetricLines, 0);
        for (const pattern of c.warns) {
          assert.ok(
            record.warnings.some((w) => pattern.test(w)),
            `run.json warnings ${JSON.stringify(record.warnings)} include ${pattern}`,
          );
          assert.match(result.out, pattern, 'and the CLI said so');
        }
        c.check?.(record);
        const model = await tfl.loadLayersModel(fileLoadHandler(path.join(run.dir, 'model', 'model.json')));
        assert.deepEqual(model.outputs[0].shape, [null, 2]);
        model.dispose();
      },
    );
  }

  it('run folders edited by hand into garbage list as unreadable, in `finetune runs` and the Runs view', async () => {
    const runsDir = path.join(root, 'runs', 'garbage');
    const write = (id: string, files: Record<string, string>): void => {
      fs.mkdirSync(path.join(runsDir, id), { recursive: true });
      for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(runsDir, id, f), text);
    };
    write('20250101-000001-notjson', { 'run.json': '{"status": "completed", ' });
    write('20250101-000002-array', { 'run.json': '[1, 2, 3]' });
    write('20250101-000003-status', { 'run.json': '{"status": "exploded"}' });
    write('20250101-000004-fields', {
      'run.json': JSON.stringify({
        status: 'completed',
        name: 42,
        startedAt: { not: 'a date' },
        classNames: 'cat',
        counts: 7,
        config: 'none',
        epochsPlanned: 'ten',
        best: 'yes',
        warnings: 5,
      }),
      'metrics.jsonl':
        '{"epoch":1,"loss":1,"accuracy":0.5,"val_loss":1,"val_accuracy":0.5}\nnot json\n[]\n{"epoch":',
    });
    write('20250101-000005-norun', { 'metrics.jsonl': 'garbage\n' });
    fs.mkdirSync(path.join(runsDir, '20250101-000006-dirrun', 'run.json'), { recursive: true });
    fs.writeFileSync(path.join(runsDir, 'stray-file.txt'), 'not a run');

    let out = '';
    const io: CliIO = { out: (t) => void (out += t), err: (t) => void (out += t), cwd: root, env: {} };
    assert.equal(await main(['node', 'finetune', 'runs', '--runs-dir', runsDir], io), 0, out);
    assert.match(out, /20250101-000001-notjson: run\.json is not valid JSON/);
    assert.match(out, /20250101-000002-array: run\.json does not hold a JSON object/);
    assert.match(out, /20250101-000003-status: run\.json has no valid "status" \(got "exploded"\)/);
    assert.match(out, /20250101-000005-norun: run\.json is missing/);
    assert.match(out, /20250101-000006-dirrun: run\.json is unreadable \(a folder\)/);
    assert.match(out, /6 runs in/);

    const fields = readRun(path.join(runsDir, '20250101-000004-fields'));
    assert.equal(fields.metrics.length, 1);
    assert.equal(fields.skippedMetricLines, 3);
    assert.deepEqual(parseMetricsLines('{"epoch":2}\n{"epo').metrics, [{ epoch: 2 }]);

    const items = listRuns(runsDir).map((run) => new RunItem(run, undefined));
    assert.equal(items.length, 6);
    for (const item of items) {
      assert.equal(typeof item.label, 'string');
      assert.equal(typeof item.description, 'string');
    }
    const unreadable = items.filter(
      (i) => i.contextValue === 'fineTune.run.unreadable' || i.contextValue === 'fineTune.run.starting',
    );
    assert.equal(
      unreadable.length,
      5,
      items.map((i) => `${i.label}: ${i.contextValue} ${i.description}`).join('\n'),
    );
  });
});

/** How many bad inputs this file covers, for the issue's report. */
export const CATALOGUE_SIZE = refused.length + accepted.length + 1;
