/**
 * The schema validators generated at build time (scripts/precompileValidators.mjs →
 * src/core/config/precompiledValidators.ts): in use after a build, the same errors as ajv compiling the
 * schema now, the same options, and a schema changed since the build validated by a compiled one instead.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import Ajv from 'ajv';
import { parse } from 'jsonc-parser';
import { EXPERIMENT_SCHEMA } from '../../src/protocol/experimentSchema';
import { SWEEP_SCHEMA } from '../../src/protocol/sweepSchema';
import {
  VALIDATOR_OPTIONS,
  schemaValidator,
  schemaValidatorSource,
  validatorFor,
} from '../../src/core/config/schemaValidators';

const REPO = path.resolve(__dirname, '../../..');
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

const sample = (name: string): unknown =>
  parse(fs.readFileSync(path.join(REPO, 'samples', 'digits', name), 'utf8')) as unknown;

/** Valid files and files with every kind of mistake a person makes. */
const EXPERIMENTS: unknown[] = [
  sample('digits-frozen-conv.finetune.json'),
  sample('digits-from-scratch.finetune.json'),
  {},
  { baseModel: 7, dataset: { path: '' } },
  { name: 'x', baseModel: 'm.json', dataset: { path: 'd', imageSize: [0, 'a'], pixelRange: [1] } },
  {
    baseModel: 'm.json',
    dataset: { path: 'd' },
    training: { epochs: -3, batchSize: 1.5, optimizer: 'lion' },
  },
  { baseModel: 'm.json', dataset: { path: 'd' }, head: { dropout: 2, hiddenUnits: ['64'] }, extra: true },
  { baseModel: 'm.json', dataset: { path: 'd' }, layers: { conv1: 'melt' }, augmentation: { rotation: 400 } },
  { baseModel: 'm.json', dataset: { path: 'd' }, training: { schedule: { type: 'cosine', gamma: 'x' } } },
  [],
  'text',
];

const SWEEPS: unknown[] = [
  {},
  { experiment: 'a.finetune.json', parameters: {} },
  { experiment: 3, parameters: { 'training.learningRate': { values: [] } }, executor: 'cloud' },
  { experiment: 'a.finetune.json', parameters: { x: { distribution: 'normal', min: 1 } }, trials: -1 },
];

function errorsOf(validate: ReturnType<typeof schemaValidator>, data: unknown): unknown {
  validate(data);
  return validate.errors ?? null;
}

describe('precompiled schema validators', () => {
  it('are the ones in use after a build (run `npm run build` when this fails after a schema change)', () => {
    assert.equal(schemaValidatorSource('experiment'), 'precompiled');
    assert.equal(schemaValidatorSource('sweep'), 'precompiled');
  });

  it('report exactly the errors ajv gives when it compiles the schema now', () => {
    for (const [name, schema, documents] of [
      ['experiment', EXPERIMENT_SCHEMA, EXPERIMENTS],
      ['sweep', SWEEP_SCHEMA, SWEEPS],
    ] as const) {
      const precompiled = schemaValidator(name);
      const compiled = new Ajv({ ...VALIDATOR_OPTIONS }).compile(schema);
      let invalid = 0;
      for (const [i, document] of documents.entries()) {
        const expected = errorsOf(compiled, document);
        if (expected !== null) invalid++;
        assert.deepEqual(errorsOf(precompiled, document), expected, `${name} ${i}`);
      }
      assert.ok(invalid >= documents.length - 2, `${name}: the mistakes are found (${invalid})`);
    }
  });

  it('are generated with the options used at run time', async () => {
    const script = (await importEsm(
      pathToFileURL(path.join(REPO, 'scripts', 'precompileValidators.mjs')).href,
    )) as {
      VALIDATOR_OPTIONS: object;
    };
    assert.deepEqual(script.VALIDATOR_OPTIONS, VALIDATOR_OPTIONS);
  });

  it('are not used for a schema that changed since the build: that one is compiled', () => {
    const changed = { ...EXPERIMENT_SCHEMA, required: ['baseModel', 'dataset', 'name'] };
    const { validate, source } = validatorFor('experiment', changed);
    assert.equal(source, 'compiled');
    assert.equal(
      validate({ baseModel: 'm.json', dataset: { path: 'd' } }),
      false,
      'the changed schema applies',
    );
    assert.equal(validatorFor('experiment', EXPERIMENT_SCHEMA).source, 'precompiled');
  });
});
