import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { DEFAULTS, DEFAULT_EARLY_STOPPING, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import { EXPERIMENT_SCHEMA, type JsonSchema } from '../../src/protocol/experimentSchema';
import { loadExperiment, parseExperimentText } from '../../src/core/config/loadExperiment';
import { readModelInputSize } from '../../src/core/config/modelInputShape';
import { UserError } from '../../src/core/userError';

const FILE = 'digits.finetune.json';
const size28 = (): [number, number] => [28, 28];
const noModel = (): undefined => undefined;

function parse(text: string, modelInputSize: (p: string) => [number, number] | undefined = size28) {
  return parseExperimentText(text, FILE, modelInputSize);
}

/** The UserError message for `text`; fails the test when it parses or throws anything else. */
function errorOf(text: string, modelInputSize: (p: string) => [number, number] | undefined = size28): string {
  try {
    parse(text, modelInputSize);
  } catch (error) {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a UserError');
}

/** A valid document with `body` spliced in; keeps line numbers predictable for position checks. */
const doc = (body: string): string =>
  `{
  "name": "digits",
  "baseModel": "models/base/model.json",
  "dataset": { "path": "data/target", "imageSize": [32, 32] }${body ? `,\n${body}` : ''}
}`;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'load-experiment-'));
  tempDirs.push(dir);
  return dir;
}
after(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

// ---- defaults, JSONC, paths ---------------------------------------------------------------------------

test('a minimal file gets every default, absolute paths and the model input size', () => {
  const file = path.join(os.tmpdir(), 'exp', 'minimal.finetune.json');
  const seen: string[] = [];
  const { config, warnings } = parseExperimentText(
    '{ "name": "m", "baseModel": "../models/base/model.json", "dataset": { "path": "data" } }',
    file,
    (modelPath) => {
      seen.push(modelPath);
      return [96, 64];
    },
  );
  const expected: ExperimentConfig = {
    name: 'm',
    baseModel: path.join(os.tmpdir(), 'models', 'base', 'model.json'),
    dataset: {
      path: path.join(os.tmpdir(), 'exp', 'data'),
      imageSize: [96, 64],
      pixelRange: [0, 1],
      validationSplit: 0.2,
      seed: 1,
    },
    layers: {},
    head: { hiddenUnits: [], dropout: 0, batchNorm: false },
    regularization: { l1: 0, l2: 0, l2sp: 0 },
    augmentation: { flipHorizontal: false, rotation: 0, zoom: 0, translate: 0, brightness: 0, contrast: 0 },
    training: {
      epochs: 10,
      batchSize: 32,
      optimizer: 'adam',
      learningRate: 0.001,
      momentum: 0.9,
      fineTuneLearningRateMultiplier: 0.1,
      seed: 1,
      earlyStopping: { monitor: 'val_loss', patience: 3, minDelta: 0, restoreBestWeights: true },
      overfitPatience: 3,
      backend: 'auto',
      schedule: {
        type: 'constant',
        warmupEpochs: 0,
        stepEpochs: 5,
        gamma: 0.1,
        minLearningRate: 0,
        pctStart: 0.3,
        patience: 2,
        factor: 0.5,
      },
      labelSmoothing: 0,
      mixup: 0,
      cutmix: 0,
      weightDecay: 0,
      gradualUnfreezing: false,
      discriminativeLr: { mode: 'single' },
    },
  };
  assert.deepEqual(config, expected);
  assert.deepEqual(warnings, []);
  assert.deepEqual(seen, [expected.baseModel]);
});

test('a partial gradualUnfreezing object gets its defaults; a schedule merges with the default', () => {
  const { config } = parse(
    doc('"training": { "gradualUnfreezing": { "everyEpochs": 3 }, "schedule": { "type": "cosine" } }'),
  );
  assert.deepEqual(config.training.gradualUnfreezing, { headEpochs: 2, everyEpochs: 3, blocks: 'auto' });
  assert.equal(config.training.schedule.type, 'cosine');
  assert.equal(config.training.schedule.pctStart, 0.3);
});

test('the returned config shares nothing with DEFAULTS', () => {
  const before = JSON.stringify(DEFAULTS);
  const { config } = parse(doc(''));
  config.dataset.pixelRange[0] = 99;
  config.head.hiddenUnits.push(7);
  (config.training.earlyStopping as { patience: number }).patience = 42;
  assert.equal(JSON.stringify(DEFAULTS), before);
  assert.deepEqual(parse(doc('')).config.head.hiddenUnits, []);
});

test('comments and trailing commas are accepted; given values override defaults, arrays are replaced', () => {
  const { config, warnings } = parse(`// experiment
{
  /* block comment */
  "name": "c", // trailing comment
  "description": "tries things",
  "baseModel": "m.json",
  "dataset": { "path": "d", "imageSize": [32, 48], "pixelRange": [-1, 1], },
  "freezeUpTo": "pool2",
  "layers": { "conv1": "frozen", "outer/inner/conv_pw_1": "reinit", },
  "head": { "cutAt": "flatten", "hiddenUnits": [128, 64], "dropout": 0.5 },
  "training": { "optimizer": "sgd", "momentum": 0.8, "earlyStopping": { "patience": 5 }, },
}`);
  assert.deepEqual(warnings, []);
  assert.equal(config.description, 'tries things');
  assert.equal(config.freezeUpTo, 'pool2');
  assert.deepEqual(config.dataset.imageSize, [32, 48]);
  assert.deepEqual(config.dataset.pixelRange, [-1, 1]);
  assert.deepEqual(config.layers, { conv1: 'frozen', 'outer/inner/conv_pw_1': 'reinit' });
  assert.deepEqual(config.head, { cutAt: 'flatten', hiddenUnits: [128, 64], dropout: 0.5, batchNorm: false });
  assert.equal(config.training.optimizer, 'sgd');
  assert.equal(config.training.momentum, 0.8);
  assert.deepEqual(config.training.earlyStopping, { ...DEFAULT_EARLY_STOPPING, patience: 5 });
});

test('earlyStopping: false stays false', () => {
  const { config } = parse(doc('  "training": { "earlyStopping": false }'));
  assert.equal(config.training.earlyStopping, false);
  assert.equal(config.training.epochs, DEFAULTS.training.epochs);
});

test('a byte-order mark is ignored, also in reported columns', () => {
  assert.equal(parse('\ufeff' + doc('')).config.name, 'digits');
  assert.match(errorOf('\ufeff{ "name": 5 }'), /^digits\.finetune\.json:1:11: name must be a string/m);
});

// ---- syntax errors ---------------------------------------------------------------------------------------

test('malformed JSON reports the line and column of the problem', () => {
  const missingComma = '{\n  "name": "x"\n  "baseModel": "m.json"\n}';
  assert.equal(
    errorOf(missingComma),
    'digits.finetune.json:3:3: a comma is expected between entries (found "\\"baseModel\\"") — fix the JSON syntax',
  );
  // Windows line endings count as one line break.
  assert.match(
    errorOf('{\r\n  "name": "x",\r\n  "baseModel": ]\r\n}'),
    /^digits\.finetune\.json:3:16: a value is expected/,
  );
  assert.match(
    errorOf('{ "name": "x'),
    /^digits\.finetune\.json:1:11: the string is never closed — fix the JSON syntax$/,
  );
  assert.match(errorOf(''), /^digits\.finetune\.json:1:1: a value is expected — fix the JSON syntax$/);
  assert.match(errorOf('{ "name": NaN }'), /^digits\.finetune\.json:1:11: unexpected character/);
});

test('absurdly deep nesting is a syntax error, not a stack overflow', () => {
  const deep = '{"x":'.repeat(100_000) + '1' + '}'.repeat(100_000);
  assert.match(errorOf(deep), /^digits\.finetune\.json:1:\d+: nested more than 64 levels deep/);
});

// ---- schema errors ---------------------------------------------------------------------------------------

test('a negative learning rate names the key, the position, the value and the fix', () => {
  const text = doc('  "training": {\n    "epochs": 3,\n    "learningRate": -0.1\n  }');
  assert.equal(
    errorOf(text),
    'digits.finetune.json:7:21: training.learningRate must be > 0 (got -0.1). Use a small positive number such as 0.001.',
  );
});

test('dropout 1, a wrong enum and wrong types are each reported with key, line and value', () => {
  const message = errorOf(
    doc(
      [
        '  "head": { "dropout": 1 },',
        '  "training": { "optimizer": "adamw", "epochs": "10", "batchSize": 2.5 },',
        '  "augmentation": { "flipHorizontal": "yes" },',
        '  "layers": { "conv1": "froze" }',
      ].join('\n'),
    ),
  );
  const lines = message.split('\n');
  assert.deepEqual(lines, [
    'digits.finetune.json:5:24: head.dropout must be < 1 (got 1). Use a fraction from 0 up to (not including) 1, such as 0.5: the share of units dropped while training.',
    'digits.finetune.json:6:30: training.optimizer must be one of "adam", "sgd", "rmsprop" (got "adamw"). Did you mean "adam"?',
    'digits.finetune.json:6:49: training.epochs must be a whole number (got "10"). Use a whole number of at least 1, such as 10.',
    'digits.finetune.json:6:68: training.batchSize must be a whole number (got 2.5). Use a whole number of at least 1, such as 32.',
    'digits.finetune.json:7:39: augmentation.flipHorizontal must be true or false (got "yes"). Use true or false (without quotes).',
    'digits.finetune.json:8:24: layers.conv1 must be one of "frozen", "trainable", "reinit" (got "froze"). Did you mean "frozen"?',
  ]);
});

test('errors inside arrays and nested objects use indexed, dotted keys', () => {
  const message = errorOf(
    doc(
      '  "head": { "hiddenUnits": [128, 0] },\n  "training": { "earlyStopping": { "patience": -1, "monitor": "val_acc" } }',
    ),
  );
  assert.match(message, /:5:34: head\.hiddenUnits\[1\] must be ≥ 1 \(got 0\)/);
  assert.match(message, /:6:48: training\.earlyStopping\.patience must be ≥ 0 \(got -1\)/);
  assert.match(
    message,
    /training\.earlyStopping\.monitor must be one of "val_loss", .* \(got "val_acc"\)\. Did you mean "val_accuracy"\?/,
  );
});

test('earlyStopping that is neither an object nor false says both options', () => {
  for (const value of ['true', '"no"', '3']) {
    const message = errorOf(doc(`  "training": { "earlyStopping": ${value} }`));
    assert.ok(
      message.startsWith(
        `digits.finetune.json:5:34: training.earlyStopping must be an object { … } or false (got ${value}). Use false`,
      ),
      message,
    );
  }
});

test('missing required keys say what to add, where', () => {
  const message = errorOf('{ "dataset": {} }');
  assert.deepEqual(message.split('\n'), [
    'digits.finetune.json:1:1: missing required key "name" at the top level — add "name": "digits-frozen-conv".',
    'digits.finetune.json:1:1: missing required key "baseModel" at the top level — add "baseModel": "models/base/model.json".',
    'digits.finetune.json:1:14: missing required key "path" in dataset — add "path": "data/target".',
  ]);
  assert.match(
    errorOf('[1, 2]'),
    /^digits\.finetune\.json:1:1: the experiment file must be an object \{ … \} \(got \[1, 2\]\)/,
  );
});

test('imageSize and pixelRange need exactly two values; pixelRange needs lo < hi', () => {
  assert.match(
    errorOf(doc('').replace('[32, 32]', '[32]')),
    /dataset\.imageSize must be a list of exactly 2 items \(got \[32\]\)/,
  );
  assert.match(
    errorOf(doc('').replace('[32, 32] }', '[32, 32], "pixelRange": [1, -1] }')),
    /:4:76: dataset\.pixelRange must be \[lo, hi\] with lo < hi \(got \[1, -1\]\)/,
  );
});

test('numbers too large for a double are rejected, not turned into Infinity', () => {
  assert.match(
    errorOf(doc('  "training": { "learningRate": 1e999 }')),
    /training\.learningRate must be a number \(got 1e999\)/,
  );
});

// ---- warnings -----------------------------------------------------------------------------------------------

test('unknown keys are warnings with a suggestion, and are dropped from the config', () => {
  const { config, warnings } = parse(
    doc('  "training": { "epoch": 3 },\n  "learningRate": 0.01,\n  "fooBar": 1'),
  );
  assert.deepEqual(warnings, [
    'digits.finetune.json:5:17: unknown key "epoch" in training — ignored (did you mean "epochs"?)',
    'digits.finetune.json:6:3: unknown key "learningRate" at the top level — ignored (did you mean "training.learningRate"? it belongs there)',
    'digits.finetune.json:7:3: unknown key "fooBar" at the top level — ignored',
  ]);
  assert.equal('epoch' in config.training, false);
  assert.equal(config.training.epochs, DEFAULTS.training.epochs);
  assert.equal('fooBar' in config, false);
});

test('an unknown key inside earlyStopping is a warning, not an error', () => {
  const { config, warnings } = parse(doc('  "training": { "earlyStopping": { "patienc": 1 } }'));
  assert.deepEqual(warnings, [
    'digits.finetune.json:5:36: unknown key "patienc" in training.earlyStopping — ignored (did you mean "patience"?)',
  ]);
  assert.deepEqual(config.training.earlyStopping, DEFAULT_EARLY_STOPPING);
});

test('validationSplit 0 is allowed with a warning; duplicates and adam momentum warn too', () => {
  const { config, warnings } = parse(
    doc('  "training": { "epochs": 2, "epochs": 4, "momentum": 0.5 }').replace(
      '"imageSize"',
      '"validationSplit": 0, "imageSize"',
    ),
  );
  assert.equal(config.dataset.validationSplit, 0);
  assert.equal(config.training.epochs, 4);
  assert.equal(warnings.length, 3);
  assert.match(
    warnings[0],
    /^digits\.finetune\.json:4:58: dataset\.validationSplit is 0 — no validation set.*train\/ and val\//,
  );
  assert.match(
    warnings[1],
    /^digits\.finetune\.json:5:17: duplicate key "epochs" in training — only the last one is used$/,
  );
  assert.match(warnings[2], /training\.momentum is ignored by the "adam" optimizer/);
});

test('a layer named __proto__ is an ordinary key', () => {
  const { config } = parse(doc('  "layers": { "__proto__": "frozen" }'));
  assert.deepEqual(Object.keys(config.layers), ['__proto__']);
  assert.equal(Object.getPrototypeOf(config.layers), Object.prototype);
});

// ---- image size from the model -----------------------------------------------------------------------------

const inputLayer = (name: string, shape: unknown[]) => ({
  class_name: 'InputLayer',
  config: { batch_input_shape: shape, dtype: 'float32', name },
});
const conv = { class_name: 'Conv2D', config: { name: 'conv1', filters: 8, kernel_size: [3, 3] } };
const sequential = {
  class_name: 'Sequential',
  config: {
    name: 'seq',
    layers: [{ class_name: 'Conv2D', config: { name: 'conv1', batch_input_shape: [null, 28, 28, 1] } }],
  },
};
const functional = {
  class_name: 'Model',
  config: {
    name: 'fun',
    layers: [conv, { ...inputLayer('img', [null, 64, 48, 3]), name: 'img', inbound_nodes: [] }],
    input_layers: [['img', 0, 0]],
    output_layers: [['conv1', 0, 0]],
  },
};
const nested = {
  class_name: 'Sequential',
  config: {
    name: 'outer',
    layers: [functional, { class_name: 'Dense', config: { name: 'head', units: 2 } }],
  },
};

function writeModel(dir: string, name: string, modelJson: unknown): string {
  const file = path.join(dir, name, 'model.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(modelJson));
  return file;
}

test('readModelInputSize reads sequential, functional, nested and Keras-exported topologies', () => {
  const dir = tempDir();
  const sizeOf = (name: string, modelJson: unknown) => readModelInputSize(writeModel(dir, name, modelJson));
  assert.deepEqual(sizeOf('seq', { modelTopology: sequential, format: 'layers-model' }), [28, 28]);
  assert.deepEqual(sizeOf('fun', { modelTopology: functional }), [64, 48]);
  assert.deepEqual(sizeOf('nested', { modelTopology: nested }), [64, 48]);
  assert.deepEqual(
    sizeOf('keras', { modelTopology: { model_config: nested, training_config: {} } }),
    [64, 48],
  );
  assert.deepEqual(
    sizeOf('input-layer-first', {
      modelTopology: {
        class_name: 'Sequential',
        config: { layers: [inputLayer('in', [null, 10, 12, 3]), conv] },
      },
    }),
    [10, 12],
  );
  assert.deepEqual(
    sizeOf('keras3', {
      modelTopology: {
        class_name: 'Functional',
        config: {
          layers: [{ class_name: 'InputLayer', name: 'x', config: { batch_shape: [null, 7, 9, 1] } }],
          input_layers: ['x', 0, 0],
        },
      },
    }),
    [7, 9],
  );
  // A flexible size (null) is not a size; unreadable and non-JSON files give undefined, never throw.
  assert.equal(
    sizeOf('flexible', {
      modelTopology: {
        class_name: 'Sequential',
        config: { layers: [inputLayer('in', [null, null, null, 3])] },
      },
    }),
    undefined,
  );
  assert.equal(readModelInputSize(path.join(dir, 'missing', 'model.json')), undefined);
  fs.writeFileSync(path.join(dir, 'broken.json'), '{ not json');
  assert.equal(readModelInputSize(path.join(dir, 'broken.json')), undefined);
});

test('loadExperiment reads the file, resolves paths next to it and takes imageSize from the model', async () => {
  const dir = tempDir();
  writeModel(path.join(dir, 'models'), 'base', { modelTopology: nested });
  const file = path.join(dir, 'exp.finetune.json');
  fs.writeFileSync(
    file,
    '{ "name": "e", "baseModel": "models/base/model.json", "dataset": { "path": "data" } }',
  );
  const { config } = await loadExperiment(file);
  assert.equal(config.baseModel, path.join(dir, 'models', 'base', 'model.json'));
  assert.equal(config.dataset.path, path.join(dir, 'data'));
  assert.deepEqual(config.dataset.imageSize, [64, 48]);
});

test('without imageSize and without a readable model the error says to set dataset.imageSize', () => {
  const text = '{ "name": "e", "baseModel": "nowhere/model.json",\n  "dataset": { "path": "data" } }';
  assert.match(
    errorOf(text, noModel),
    /^digits\.finetune\.json:2:14: dataset\.imageSize is not set .*Add "imageSize": \[height, width\] to "dataset"/,
  );
  assert.match(
    errorOf(text, () => {
      throw new Error('boom');
    }),
    /dataset\.imageSize is not set/,
  );
  assert.match(
    errorOf(text, () => [0, 5] as [number, number]),
    /dataset\.imageSize is not set/,
  );
});

test('a missing file is a UserError naming the path', async () => {
  const missing = path.join(tempDir(), 'nope.finetune.json');
  await assert.rejects(loadExperiment(missing), (error: unknown) => {
    assert.ok(error instanceof UserError);
    assert.match(error.message, /^Experiment file not found: .*nope\.finetune\.json/);
    return true;
  });
  await assert.rejects(loadExperiment(os.tmpdir()), /is a folder/);
});

// ---- the schema itself ----------------------------------------------------------------------------------------

test('the schema is plain JSON that ajv compiles in strict mode', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(EXPERIMENT_SCHEMA)), EXPERIMENT_SCHEMA);
  assert.doesNotThrow(() => new Ajv({ strict: true }).compile(EXPERIMENT_SCHEMA));
});

test('every property has a description, and the schema defaults are DEFAULTS', () => {
  const missing: string[] = [];
  const visit = (schema: JsonSchema, where: string): void => {
    for (const [key, child] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
      if (typeof child.description !== 'string' || child.description === '') missing.push(`${where}${key}`);
      visit(child, `${where}${key}.`);
      for (const branch of (child.anyOf ?? []) as JsonSchema[]) visit(branch, `${where}${key}.`);
    }
  };
  visit(EXPERIMENT_SCHEMA, '');
  assert.deepEqual(missing, []);
  const props = (schema: unknown) => (schema as { properties: Record<string, JsonSchema> }).properties;
  const top = props(EXPERIMENT_SCHEMA);
  for (const section of ['dataset', 'head', 'regularization', 'augmentation', 'training'] as const) {
    for (const [key, value] of Object.entries(DEFAULTS[section])) {
      assert.deepEqual(props(top[section])[key].default, value, `${section}.${key}`);
    }
  }
  assert.deepEqual(top.layers.default, {});
});
