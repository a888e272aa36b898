/**
 * The bundled sample workspace (samples/digits): the committed base model really is the nested shape
 * classifier the docs and the example experiments describe, the committed target dataset is complete, and
 * both experiment files resolve against that model. Regenerate the sample with scripts/sample/*.mjs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { loadExperiment } from '../../src/core/config/loadExperiment';
import { buildTrainingModel } from '../../src/engine/model/buildTrainingModel';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';

// Compiled to out/test/engine/, so the repository root is three levels up.
const SAMPLE = path.resolve(__dirname, '../../../samples/digits');
const MODEL_JSON = path.join(SAMPLE, 'models/base/model.json');
const TARGET = path.join(SAMPLE, 'data/target');

const FEATURE_LAYERS = ['conv1', 'bn1', 'pool1', 'conv2', 'bn2', 'pool2', 'conv3', 'pool3'];
const FEATURE_CLASSES = [
  'Conv2D',
  'BatchNormalization',
  'MaxPooling2D',
  'Conv2D',
  'BatchNormalization',
  'MaxPooling2D',
  'Conv2D',
  'MaxPooling2D',
];
const SHAPES = ['circle', 'square', 'triangle', 'cross', 'ring', 'star', 'horizontal-bars', 'diagonal-line'];
const DIGITS = ['four', 'one', 'three', 'two', 'zero']; // sorted: the label order the engine uses

/** One clean, centred example of each shape class, drawn independently of the generator. */
const CANONICAL_SHAPES: Record<string, string> = {
  circle: '<circle cx="16" cy="16" r="9"/>',
  square: '<rect x="9" y="9" width="14" height="14"/>',
  triangle: '<polygon points="16,6 25,22 7,22"/>',
  cross: '<rect x="6" y="14" width="20" height="4"/><rect x="14" y="6" width="4" height="20"/>',
  ring: '<circle cx="16" cy="16" r="9" fill="none" stroke-width="2.5"/>',
  star: '<polygon points="16,4 18.8,12.2 27.4,12.3 20.5,17.5 23.1,25.7 16,20.8 8.9,25.7 11.5,17.5 4.6,12.3 13.2,12.2"/>',
  'horizontal-bars':
    '<rect x="7" y="9" width="18" height="2.5"/><rect x="7" y="15" width="18" height="2.5"/><rect x="7" y="21" width="18" height="2.5"/>',
  'diagonal-line': '<line x1="7" y1="25" x2="25" y2="7" stroke-width="3"/>',
};

async function renderSvg(body: string, fg: string, bg: string): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" fill="${bg}"/><g fill="${fg}" stroke="${fg}">${body}</g></svg>`;
  return sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer();
}

describe('sample workspace samples/digits', () => {
  let model: tfl.LayersModel;

  before(async () => {
    await tf.setBackend('cpu');
    model = await tfl.loadLayersModel(fileLoadHandler(MODEL_JSON));
  });

  it('base model is the nested shapes_classifier: features (conv1 … pool3) → flatten → dense_1 → dropout → dense_2', () => {
    assert.equal(model.name, 'shapes_classifier');
    assert.deepEqual(
      model.layers.map((l) => l.name),
      ['features', 'flatten', 'dense_1', 'dropout', 'dense_2'],
    );
    const features = model.layers[0];
    assert.ok(features instanceof tfl.LayersModel, 'layer 0 must be a nested model');
    assert.equal(features.getClassName(), 'Sequential');
    assert.deepEqual(
      features.layers.map((l) => l.name),
      FEATURE_LAYERS,
    );
    assert.deepEqual(
      features.layers.map((l) => l.getClassName()),
      FEATURE_CLASSES,
    );
    assert.deepEqual(model.inputs[0].shape, [null, 32, 32, 3]);
    assert.deepEqual(model.outputs[0].shape, [null, 8]);
  });

  it('the model file declares the shape classes and the [0, 1] pixel range it was trained with', () => {
    const json = JSON.parse(fs.readFileSync(MODEL_JSON, 'utf8'));
    assert.deepEqual(json.userDefinedMetadata.classes, SHAPES);
    assert.deepEqual(json.userDefinedMetadata.pixelRange, [0, 1]);
    assert.ok(json.userDefinedMetadata.heldOutAccuracy >= 0.85, 'pre-training reached ≥ 85% held-out');
    assert.equal(json.weightsManifest.length, 1);
    assert.equal(json.weightsManifest[0].paths.length, 1, 'one weights .bin');
  });

  it('BatchNormalization moving statistics were learned in training mode (not the initial 0 / 1)', () => {
    const features = model.layers[0] as tfl.LayersModel;
    for (const name of ['bn1', 'bn2']) {
      const weights = features.getLayer(name).getWeights();
      const byName = new Map(weights.map((w, i) => [features.getLayer(name).weights[i].name, w]));
      const mean = byName.get(`${name}/moving_mean`);
      const variance = byName.get(`${name}/moving_variance`);
      assert.ok(mean && variance, `${name} has moving statistics`);
      const meanAbs = tf.tidy(() => tf.mean(tf.abs(mean)).dataSync()[0]);
      const varianceOffOne = tf.tidy(() => tf.mean(tf.abs(tf.sub(variance, 1))).dataSync()[0]);
      assert.ok(meanAbs > 0.01, `${name} moving mean is not all zeros (mean |μ| = ${meanAbs})`);
      assert.ok(varianceOffOne > 0.01, `${name} moving variance is not all ones`);
    }
  });

  it('classifies clean hand-drawn shapes (independent of the generator) far above chance', async () => {
    const colours: [string, string][] = [
      ['#1a1a1a', '#e6e6e6'],
      ['#f0f0f0', '#262626'],
      ['#ee3333', '#222255'],
    ];
    const pixels: number[] = [];
    const expected: number[] = [];
    for (const [fg, bg] of colours) {
      for (const name of SHAPES) {
        pixels.push(...(await renderSvg(CANONICAL_SHAPES[name], fg, bg)));
        expected.push(SHAPES.indexOf(name));
      }
    }
    const predicted = tf.tidy(() => {
      const x = tf.div(tf.tensor4d(Float32Array.from(pixels), [expected.length, 32, 32, 3]), 255);
      return Array.from(tf.argMax(model.predict(x) as tf.Tensor, 1).dataSync());
    });
    const correct = predicted.filter((p, i) => p === expected[i]).length;
    // Chance is 3 of 24. The model is ~92% accurate on its own held-out shapes and gets 22 of these; an
    // untrained or wrongly loaded model does not come near 18.
    assert.ok(
      correct >= 18,
      `only ${correct} of ${expected.length} canonical shapes recognised: ${predicted}`,
    );
  });

  it('target dataset: 5 digit classes, ≥ 50 PNGs each, all 32×32 RGB', async () => {
    const classes = fs
      .readdirSync(TARGET, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    assert.deepEqual(classes, DIGITS);
    for (const name of classes) {
      const files = fs.readdirSync(path.join(TARGET, name)).filter((f) => f.endsWith('.png'));
      assert.ok(files.length >= 50, `${name} has ${files.length} PNGs`);
      for (const file of files) {
        const meta = await sharp(path.join(TARGET, name, file)).metadata();
        assert.equal(`${meta.width}×${meta.height}×${meta.channels}`, '32×32×3', `${name}/${file}`);
      }
    }
  });

  it('both experiment files load and name layers that exist: frozen conv1–pool2 vs everything reinit', async () => {
    const frozen = await loadExperiment(path.join(SAMPLE, 'digits-frozen-conv.finetune.json'));
    const scratch = await loadExperiment(path.join(SAMPLE, 'digits-from-scratch.finetune.json'));
    assert.deepEqual(frozen.warnings, []);
    assert.deepEqual(scratch.warnings, []);
    for (const { config } of [frozen, scratch]) {
      assert.equal(config.baseModel, MODEL_JSON);
      assert.equal(config.dataset.path, TARGET);
      assert.deepEqual(config.dataset.pixelRange, [0, 1]);
    }

    const expectedStates = {
      frozen: ['frozen', 'frozen', 'frozen', 'frozen', 'frozen', 'frozen', 'trainable', 'trainable'],
      scratch: FEATURE_LAYERS.map(() => 'reinit'),
    };
    for (const [key, { config }] of Object.entries({ frozen, scratch })) {
      const base = await tfl.loadLayersModel(fileLoadHandler(MODEL_JSON));
      const built = buildTrainingModel(base, config, 3, DIGITS.length);
      try {
        assert.equal(built.cutAt, 'flatten');
        assert.deepEqual(
          FEATURE_LAYERS.map((l) => built.states.get(`features/${l}`)),
          expectedStates[key as keyof typeof expectedStates],
          key,
        );
        assert.deepEqual(built.model.outputs[0].shape, [null, DIGITS.length]);
      } finally {
        built.dispose();
        base.dispose();
      }
    }
  });
});
