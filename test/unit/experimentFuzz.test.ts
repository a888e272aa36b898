/**
 * Fuzzes parseExperimentText with random and mutated documents. Whatever a user (or a half-finished edit
 * in the editor) puts in the file, the loader must either return a config that satisfies the schema or
 * throw a UserError whose every line points at a place in the file — never a TypeError, RangeError or
 * a raw ajv/jsonc error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { createRng, type Rng } from '../../src/core/rng';
import { parseExperimentText } from '../../src/core/config/loadExperiment';
import { EXPERIMENT_SCHEMA } from '../../src/protocol/experimentSchema';
import { UserError } from '../../src/core/userError';

const FILE = 'fuzz.finetune.json';

const VALID = `{
  "$schema": "./finetune.schema.json",
  "name": "digits-frozen-conv",
  "description": "fuzz base",
  "baseModel": "models/base/model.json", // tfjs LayersModel
  "dataset": { "path": "data/target", "imageSize": [32, 32], "pixelRange": [0, 1],
               "validationSplit": 0.2, "seed": 1 },
  "freezeUpTo": "pool2",
  "layers": { "conv1": "frozen", "dense_1": "reinit" },
  "head": { "cutAt": "flatten", "hiddenUnits": [128], "dropout": 0.5, "batchNorm": false },
  "regularization": { "l1": 0, "l2": 0.0001, "l2sp": 0 },
  "augmentation": { "flipHorizontal": false, "rotation": 0, "zoom": 0, "translate": 0,
                    "brightness": 0, "contrast": 0 },
  "training": { "epochs": 10, "batchSize": 32, "optimizer": "adam", "learningRate": 0.001,
                "fineTuneLearningRateMultiplier": 0.1, "seed": 1,
                "earlyStopping": { "monitor": "val_loss", "patience": 3, "minDelta": 0,
                                   "restoreBestWeights": true } },
}`;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)];

const ODD_STRINGS = [
  'NaN',
  'Infinity',
  '-Infinity',
  'null',
  'true',
  '',
  ' ',
  '0x10',
  '1e999',
  '__proto__',
  'constructor',
  'adam ',
  'FROZEN',
  '\u0000',
  '../../etc/passwd',
  'é🙂',
  'x'.repeat(5000),
];
const ODD_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  0.999999,
  1.0000001,
  180,
  181,
  1e308,
  -1e308,
  5e-324,
  2 ** 53,
  2 ** 53 + 2,
  1e21,
  -0.1,
];

function randomValue(rng: Rng, depth: number): unknown {
  switch (rng.int(depth > 3 ? 5 : 8)) {
    case 0:
      return pick(rng, ODD_NUMBERS);
    case 1:
      return rng.uniform(-1000, 1000);
    case 2:
      return pick(rng, ODD_STRINGS);
    case 3:
      return pick(rng, [true, false, null]);
    case 4:
      return rng.int(100);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    case 6: {
      const object: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        object[pick(rng, [...KNOWN_KEYS, ...ODD_STRINGS])] = randomValue(rng, depth + 1);
      return object;
    }
    default:
      return deepNesting(rng);
  }
}

/** Nesting around the depth limit (64), on both sides of it. */
function deepNesting(rng: Rng): unknown {
  let value: unknown = 1;
  for (let i = 40 + rng.int(50); i > 0; i--) value = rng.next() < 0.5 ? [value] : { a: value };
  return value;
}

const KNOWN_KEYS = [
  'name',
  'baseModel',
  'dataset',
  'path',
  'imageSize',
  'pixelRange',
  'validationSplit',
  'seed',
  'freezeUpTo',
  'layers',
  'head',
  'cutAt',
  'hiddenUnits',
  'dropout',
  'batchNorm',
  'regularization',
  'l1',
  'l2',
  'l2sp',
  'augmentation',
  'rotation',
  'zoom',
  'training',
  'epochs',
  'batchSize',
  'optimizer',
  'learningRate',
  'momentum',
  'earlyStopping',
  'monitor',
  'patience',
  'backend',
  'overfitPatience',
  'description',
  '$schema',
];

/** Every [path] to an object-valued or leaf key in a JSON value. */
function keyPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => keyPaths(child, [...prefix, key]))];
}

function parentAndKey(root: unknown, keyPath: string[]): [Record<string, unknown>, string] | undefined {
  if (keyPath.length === 0) return undefined;
  let parent = root as Record<string, unknown>;
  for (const key of keyPath.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  return [parent, keyPath[keyPath.length - 1]];
}

/** A structurally mutated copy of the valid document: a key set to a random value, deleted, or added. */
function mutateStructure(rng: Rng): string {
  const root = JSON.parse(VALID.replace(/\/\/.*$/gm, '').replace(/,(\s*})\s*$/, '$1')) as unknown;
  for (let edits = 1 + rng.int(3); edits > 0; edits--) {
    const target = parentAndKey(root, pick(rng, keyPaths(root)));
    if (target === undefined) continue;
    const [parent, key] = target;
    const action = rng.int(3);
    if (action === 0) parent[key] = randomValue(rng, 0);
    else if (action === 1 && !Array.isArray(parent)) delete parent[key];
    else if (typeof parent[key] === 'object' && parent[key] !== null && !Array.isArray(parent[key])) {
      (parent[key] as Record<string, unknown>)[pick(rng, [...KNOWN_KEYS, ...ODD_STRINGS])] = randomValue(
        rng,
        0,
      );
    }
  }
  return rng.next() < 0.5 ? JSON.stringify(root) : JSON.stringify(root, null, 2);
}

const SYNTAX_CHARS = '{}[]:,"\\/*\n\r\t 0123456789-+.eEtruefalsnl\u00a0\ufeff';

/** The valid text with a few characters deleted, inserted or replaced. */
function mutateText(rng: Rng, text: string): string {
  let out = text;
  for (let edits = 1 + rng.int(4); edits > 0; edits--) {
    const at = rng.int(out.length + 1);
    const char = SYNTAX_CHARS[rng.int(SYNTAX_CHARS.length)];
    const action = rng.int(3);
    if (action === 0) out = out.slice(0, at) + out.slice(at + 1 + rng.int(3));
    else if (action === 1) out = out.slice(0, at) + char + out.slice(at);
    else out = out.slice(0, at) + char + out.slice(at + 1);
  }
  return out;
}

function randomDocument(rng: Rng, index: number): string {
  switch (index % 6) {
    case 0:
    case 1:
      return mutateText(rng, VALID);
    case 2:
    case 3:
      return mutateStructure(rng);
    case 4:
      return mutateText(rng, mutateStructure(rng));
    default:
      return rng.next() < 0.5
        ? JSON.stringify(randomValue(rng, 0))
        : Array.from({ length: rng.int(60) }, () => SYNTAX_CHARS[rng.int(SYNTAX_CHARS.length)]).join('');
  }
}

const LOOKUPS: Array<(modelJsonPath: string) => [number, number] | undefined> = [
  () => [32, 32],
  () => undefined,
  () => {
    throw new TypeError('model lookup failed');
  },
];

test('parseExperimentText only ever returns a schema-valid config or throws a located UserError', () => {
  const rng = createRng('experiment-fuzz');
  const validConfig = new Ajv({ strict: true }).compile(EXPERIMENT_SCHEMA);
  const started = Date.now();
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 2000; i++) {
    const text = randomDocument(rng, i);
    const context = `document #${i}:\n${text.slice(0, 500)}`;
    try {
      const { config, warnings } = parseExperimentText(text, FILE, LOOKUPS[i % LOOKUPS.length]);
      accepted++;
      assert.ok(
        validConfig(config),
        `${context}\nreturned config violates the schema: ${JSON.stringify(validConfig.errors)}`,
      );
      assert.ok(config.dataset.pixelRange[0] < config.dataset.pixelRange[1], context);
      for (const warning of warnings) assert.match(warning, /^fuzz\.finetune\.json:\d+:\d+: \S/, context);
    } catch (error) {
      if (!(error instanceof UserError)) {
        assert.fail(`${context}\nthrew ${error instanceof Error ? error.stack : String(error)}`);
      }
      rejected++;
      for (const line of error.message.split('\n')) {
        assert.match(line, /^fuzz\.finetune\.json:\d+:\d+: \S/, `${context}\nmessage line: ${line}`);
      }
    }
  }
  // The mix must exercise both outcomes, or the fuzzing proves nothing about one of them.
  assert.ok(accepted > 200, `only ${accepted} documents were accepted`);
  assert.ok(rejected > 200, `only ${rejected} documents were rejected`);
  assert.ok(Date.now() - started < 15_000, `fuzzing took ${Date.now() - started} ms`);
});
