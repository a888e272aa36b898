/**
 * The sweep file loader with good and bad input — every problem at once with file:line:col: a value the
 * experiment schema refuses for its key (dropout 1.5, a layer state that does not exist), an unknown
 * dotted path (with did-you-mean), a range that cannot be one, an empty search space, a grid larger than
 * maxTrials (saying how large), layer names the base model lacks, a combination that makes the
 * experiment fail to load — and the trial experiment file made from a trial's values.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseExperimentText } from '../../src/core/config/loadExperiment';
import { parseSweepText } from '../../src/core/sweep/loadSweep';
import { resolveParameterPath } from '../../src/core/sweep/parameterPaths';
import { applyParams, trialExperimentText } from '../../src/core/sweep/trialExperiment';
import { isUserError } from '../../src/core/userError';
import { SWEEP_SCHEMA } from '../../src/protocol/sweepSchema';

const repo = path.resolve(__dirname, '..', '..', '..');
const sampleExperiment = path.join(repo, 'samples', 'digits', 'digits-frozen-conv.finetune.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-sweep-file-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const sweepFile = path.join(tmp, 'x.sweep.json');

function sweepText(parts: Record<string, unknown>): string {
  return JSON.stringify(
    { name: 's', experiment: sampleExperiment, method: 'random', maxTrials: 4, ...parts },
    null,
    2,
  );
}

/** The loader's message lines for `text`; fails the test when it loads. */
function problems(text: string): string[] {
  try {
    parseSweepText(text, sweepFile);
  } catch (error) {
    assert.ok(isUserError(error), String(error));
    return error.message.split('\n');
  }
  assert.fail('the sweep loaded');
}

/** 1-based line:col of the first occurrence of `needle` in `text`. */
function where(text: string, needle: string): string {
  // Searched after the experiment's path, which holds the checkout's folder name: a clone in
  // /tmp/ci-193805 made "5" match there (the test failed on such a clone).
  const experiment = text.indexOf(JSON.stringify(sampleExperiment));
  const from = experiment < 0 ? 0 : experiment + JSON.stringify(sampleExperiment).length;
  const offset = text.indexOf(needle, from);
  assert.ok(offset >= 0, needle);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

describe('sweep file loader', () => {
  it('resolves a valid file: defaults, absolute experiment, goal from the metric, grid size as maxTrials', () => {
    const text = `// a comment, as in any JSONC file\n${sweepText({
      method: 'grid',
      maxTrials: undefined,
      metric: { name: 'val_loss' },
      parameters: {
        'head.dropout': { values: [0.1, 0.5] },
        freezeUpTo: { values: ['features/pool1', 'features/pool2'] },
        'layers.features/conv3': { values: ['frozen', 'trainable'] },
        'training.earlyStopping.patience': { values: [2] },
      },
    })}`;
    const { config, warnings, experiment } = parseSweepText(text, sweepFile);
    assert.deepEqual(warnings, []);
    assert.equal(config.experimentPath, sampleExperiment);
    assert.deepEqual(config.metric, { name: 'val_loss', goal: 'minimize' });
    assert.equal(config.maxTrials, 8);
    assert.equal(config.seed, 1);
    assert.deepEqual(config.executor, { type: 'local' });
    assert.equal(experiment.name, 'digits-frozen-conv');
  });

  it('refuses a value the experiment schema refuses for its key, at the value, with the key’s own hint', () => {
    const text = sweepText({ parameters: { 'head.dropout': { values: [0.1, 1.5] } } });
    const [line] = problems(text);
    assert.ok(line.startsWith(`${sweepFile}:${where(text, '1.5')}: `), line);
    assert.match(
      line,
      /head\.dropout must be < 1 \(got 1\.5\)\. Use a fraction from 0 up to \(not including\) 1/,
    );
  });

  it('refuses a range end outside the key’s bounds, and values of the wrong type', () => {
    const text = sweepText({
      parameters: {
        'head.dropout': { min: 0, max: 1 },
        'training.batchSize': { values: [16, 'big'] },
        'layers.features/conv1': { values: ['frozen', 'melted'] },
      },
    });
    const lines = problems(text);
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0], /max of parameters\["head\.dropout"\]: head\.dropout must be < 1 \(got 1\)/);
    assert.match(lines[1], /training\.batchSize must be a whole number \(got "big"\)/);
    assert.match(
      lines[2],
      /layers\["features\/conv1"\] must be one of "frozen", "trainable", "reinit" \(got "melted"\)/,
    );
  });

  it('refuses an unknown path with a suggestion, and keys that set nothing', () => {
    const text = sweepText({
      parameters: {
        'head.dropuot': { values: [0.1] },
        'training.lr': { values: [0.1] },
        name: { values: ['a'] },
      },
    });
    const lines = problems(text);
    assert.ok(lines[0].startsWith(`${sweepFile}:${where(text, '"head.dropuot"')}:`));
    assert.match(
      lines[0],
      /"head\.dropuot" is not a key of the experiment file: "head" has no key "dropuot" \(did you mean "head\.dropout"\?\)/,
    );
    assert.match(lines[1], /"training" has no key "lr"/);
    assert.match(lines[2], /"name" is not a setting a run trains with/);
    assert.equal(resolveParameterPath('layers').ok, false);
    assert.equal(resolveParameterPath('training.earlyStopping.patience').ok, true);
  });

  it('refuses an empty search space, and an empty values list', () => {
    assert.match(
      problems(sweepText({ parameters: {} }))[0],
      /parameters is empty: there is nothing to search/,
    );
    assert.match(
      problems(sweepText({ parameters: { 'head.dropout': { values: [] } } }))[0],
      /must have at least 1 items/,
    );
  });

  it('says how large a grid is that does not fit maxTrials', () => {
    const text = sweepText({
      method: 'grid',
      maxTrials: 5,
      parameters: {
        'head.dropout': { values: [0.1, 0.2, 0.3] },
        'training.batchSize': { values: [8, 16, 32, 64] },
      },
    });
    const [line] = problems(text);
    assert.ok(line.startsWith(`${sweepFile}:${where(text, '5')}:`), line);
    assert.match(line, /the grid has 12 combinations \(3 × 4\) but maxTrials is 5\. Raise maxTrials to 12/);
  });

  it('refuses ranges that cannot be drawn from', () => {
    const lines = problems(
      sweepText({
        parameters: {
          'training.learningRate': { min: 0, max: 0.1, distribution: 'log_uniform' },
          'regularization.l2': { min: 0.1, max: 0.01 },
          'training.epochs': { min: 2, max: 8 },
          'head.hiddenUnits': { min: 1, max: 3 },
          'head.dropout': { values: [0.1], min: 0, max: 0.5 },
        },
      }),
    );
    const all = lines.join('\n');
    assert.match(all, /a log_uniform range needs min > 0 \(got 0\)/);
    assert.match(all, /min \(0\.1\) is above max \(0\.01\)/);
    assert.match(all, /training\.epochs takes whole numbers — use "distribution": "int_uniform"/);
    assert.match(all, /head\.hiddenUnits takes lists, not numbers/);
    assert.match(all, /must have either "values" or "min" and "max", not both/);
  });

  it('refuses a continuous range in a grid', () => {
    const [line] = problems(
      sweepText({ method: 'grid', maxTrials: 99, parameters: { 'head.dropout': { min: 0.1, max: 0.5 } } }),
    );
    assert.match(line, /is a continuous range, which has no grid/);
  });

  it('refuses layer names the base model does not have', () => {
    const text = sweepText({
      parameters: {
        freezeUpTo: { values: ['features/pool2', 'features/pool9'] },
        'layers.conv9': { values: ['frozen'] },
      },
    });
    const lines = problems(text);
    assert.ok(lines[0].startsWith(`${sweepFile}:${where(text, '"features/pool9"')}:`));
    assert.match(
      lines[0],
      /the base model has no layer "features\/pool9" \(did you mean "features\/pool1"\?\)/,
    );
    assert.match(lines[1], /the base model has no layer "conv9"/);
  });

  it('reports schema problems and unknown keys the way experiment files do', () => {
    const text = sweepText({ method: 'bayes', parameters: { 'head.dropout': { values: [0.1] } } });
    assert.match(problems(text)[0], /method must be one of "grid", "random" \(got "bayes"\)/);
    const loaded = parseSweepText(
      sweepText({ parallell: 2, parameters: { 'head.dropout': { values: [0.1] } } }),
      sweepFile,
    );
    assert.match(
      loaded.warnings[0],
      /unknown key "parallell" at the top level — ignored \(did you mean "parallel"\?\)/,
    );
    assert.match(problems('{ "name": "s", ')[0], /^.*x\.sweep\.json:1:16: .* — fix the JSON syntax$/);
  });

  it('refuses combinations that make the experiment fail to load, naming the trial', () => {
    const [first, ...rest] = problems(
      sweepText({
        method: 'grid',
        parameters: {
          'dataset.pixelRange': {
            values: [
              [0, 1],
              [1, 0],
            ],
          },
        },
      }),
    );
    assert.match(first, /these parameters make an experiment that does not load/);
    assert.match(
      rest.join('\n'),
      /trial 1 \(dataset\.pixelRange=\[1,0\]\): .*dataset\.pixelRange must be \[lo, hi\] with lo < hi/,
    );
  });

  it('warns when ASHA can never stop a trial', () => {
    const { warnings } = parseSweepText(
      sweepText({
        parameters: { 'training.epochs': { values: [3, 4] } },
        earlyTermination: { type: 'asha', minEpochs: 4, reductionFactor: 3 },
      }),
      sweepFile,
    );
    assert.match(
      warnings[0],
      /minEpochs is 4 but trials train at most 4 epochs: ASHA will never stop a trial/,
    );
  });

  it('has a schema that only uses what ajv’s strict mode and editors understand', () => {
    assert.equal(SWEEP_SCHEMA.type, 'object');
    assert.deepEqual(SWEEP_SCHEMA.required, ['name', 'experiment', 'method', 'parameters']);
  });
});

describe('trial experiment file', () => {
  const text = fs.readFileSync(sampleExperiment, 'utf8');

  it('writes the values in, keeps the comments, and points its paths where the original’s pointed', () => {
    const trialDir = path.join(tmp, 'sweeps', 's', 'trials', '3');
    fs.mkdirSync(trialDir, { recursive: true });
    const params = {
      'head.dropout': 0.1,
      'training.learningRate': 0.0042,
      'layers.features/conv1': 'reinit',
      'training.earlyStopping.patience': 2,
      'regularization.l2sp': 0.01,
    };
    const trialText = trialExperimentText({
      experimentText: text,
      experimentPath: sampleExperiment,
      trialDir,
      params,
      name: 's #3',
      header: 'Trial 3 of sweep s',
    });
    assert.ok(trialText.startsWith('// Trial 3 of sweep s\n'));
    assert.ok(trialText.includes('// Light augmentation: digits must not be flipped'), 'comments kept');
    const file = path.join(trialDir, 'experiment.json');
    fs.writeFileSync(file, trialText);
    const { config } = parseExperimentText(trialText, file);
    const original = parseExperimentText(text, sampleExperiment).config;
    assert.equal(config.name, 's #3');
    assert.equal(config.baseModel, original.baseModel);
    assert.equal(config.dataset.path, original.dataset.path);
    assert.equal(config.head.dropout, 0.1);
    assert.equal(config.training.learningRate, 0.0042);
    assert.equal(config.layers['features/conv1'], 'reinit');
    assert.equal((config.training.earlyStopping as { patience: number }).patience, 2);
    assert.equal(config.regularization.l2sp, 0.01);
    // Everything not searched is the experiment's.
    assert.deepEqual(config.augmentation, original.augmentation);
    assert.equal(config.freezeUpTo, original.freezeUpTo);
  });

  it('turns "earlyStopping": false into an object when a trial sets one of its settings', () => {
    const off = text.replace(/"earlyStopping": \{[^}]*\}/, '"earlyStopping": false');
    assert.ok(off.includes('"earlyStopping": false'));
    const { config } = parseExperimentText(
      applyParams(off, { 'training.earlyStopping.patience': 5 }),
      sampleExperiment,
    );
    assert.equal((config.training.earlyStopping as { patience: number }).patience, 5);
  });
});
