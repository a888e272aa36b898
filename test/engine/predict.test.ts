/**
 * A real (tiny) run, then its model used outside training: `finetune predict` must classify the
 * validation images exactly as the run's own evaluation did (summary.json), the exported folder must hold
 * a model that loads and a predict.js that really runs and agrees, and the metrics exports must match
 * metrics.jsonl.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { CliIO } from '../../src/cli/io';
import { main } from '../../src/cli/program';
import { classifyImages } from '../../src/engine/export/classifyImages';
import { exportRunModel } from '../../src/core/export/exportModel';
import { readRunModel } from '../../src/core/export/runModel';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment } from '../../src/engine/runExperiment';
import type { EpochMetrics, RunSummary } from '../../src/protocol/runRecord';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

let root: string;
let runDir: string;
let runId: string;
let summary: RunSummary;
const dataDir = (): string => path.join(root, 'data');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), cwd: root, env: {} };
  const code = await main(['node', 'finetune', ...args], io);
  return { code, stdout, stderr };
}

before(async () => {
  await tf.setBackend('cpu');
  root = tempDir('predict');
  await saveNestedCnn(path.join(root, 'base'), 16, 4);
  await makeDataset(dataDir(), 3, 8, 16, 7);
  const experiment = writeExperiment(root, 'predict-demo', {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], pixelRange: [-1, 1], validationSplit: 0.25, seed: 2 },
    head: { cutAt: 'flatten', hiddenUnits: [8] },
    training: { epochs: 2, batchSize: 8, learningRate: 0.01, backend: 'cpu', seed: 3 },
  });
  const outcome = await runExperiment({
    experimentPath: experiment,
    runsDir: path.join(root, '.finetune', 'runs'),
    onEvent: () => {},
  });
  runDir = outcome.runDir;
  runId = path.basename(runDir);
  summary = JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
});

describe("a run's model outside training", () => {
  it('reads what feeding the model takes from the run: classes, size, pixel range, channels', () => {
    const model = readRunModel(runDir);
    assert.deepEqual(model.classNames, ['class_a', 'class_b', 'class_c']);
    assert.deepEqual(model.imageSize, [16, 16]);
    assert.deepEqual(model.pixelRange, [-1, 1]);
    assert.equal(model.channels, 3);
    assert.equal(model.weightFiles.length, 1);
    assert.throws(() => readRunModel(path.join(root, 'nope')), /has no saved model/);
  });

  it('classifies the validation images exactly as the run evaluated them (summary.json)', async () => {
    const model = readRunModel(runDir);
    const files = summary.predictions.map((p) => path.join(dataDir(), p.file));
    const results = await classifyImages(model, files, { topK: 3 });
    assert.equal(results.length, summary.predictions.length);
    summary.predictions.forEach((expected, i) => {
      const top = results[i].predictions![0];
      assert.equal(top.className, model.classNames[expected.predictedIndex], expected.file);
      assert.ok(
        Math.abs(top.probability - expected.confidence) < 1e-5,
        `${top.probability} vs ${expected.confidence}`,
      );
      const sum = results[i].predictions!.reduce((s, p) => s + p.probability, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, 'top 3 of 3 classes sum to 1');
    });
  });

  it('finetune predict --json: per image the top K classes; an unreadable image is reported, exit code 2', async () => {
    const image = path.join('data', summary.predictions[0].file);
    fs.writeFileSync(path.join(root, 'broken.png'), 'not a png');
    const { code, stdout, stderr } = await cli([
      'predict',
      runId.slice(0, 10),
      image,
      'broken.png',
      '--top',
      '2',
      '--json',
      '--backend',
      'cpu',
    ]);
    assert.equal(code, 2, stderr);
    const out = JSON.parse(stdout) as {
      run: string;
      backend: string;
      results: { file: string; predictions?: unknown[]; error?: string }[];
    };
    assert.equal(out.run, runId);
    assert.equal(out.backend, 'cpu');
    assert.equal(out.results[0].file, image);
    assert.equal(out.results[0].predictions!.length, 2);
    assert.match(out.results[1].error!, /Cannot read image .*broken\.png/);
  });

  it('finetune predict prints a table', async () => {
    const image = path.join('data', summary.predictions[0].file);
    const { code, stdout } = await cli(['predict', runId, image, '--backend', 'cpu']);
    assert.equal(code, 0);
    assert.match(stdout, /image\s+class\s+probability/);
    assert.match(stdout, new RegExp(`1 of 1 image classified with run ${runId} \\(16×16, cpu\\)`));
  });

  it('exports model.json + weights + labels + README + predict.js; the model loads; predict.js runs and agrees', async () => {
    const out = path.join(root, 'exported');
    const result = exportRunModel(runDir, out);
    assert.deepEqual(fs.readdirSync(out).sort(), [
      'README.md',
      'labels.json',
      'model.json',
      'predict.js',
      'preprocessing.json',
      'weights.bin',
    ]);
    assert.equal(result.model.runId, runId);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'preprocessing.json'), 'utf8')), {
      imageSize: [16, 16],
      channels: 3,
      pixelRange: [-1, 1],
      resize: 'stretch',
    });
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(readme, /\*\*Input\*\*: 16×16 pixels, 3 channels \(RGB\), values in\n\[-1, 1\]/);
    assert.ok(
      readme.includes(fs.readFileSync(path.join(out, 'predict.js'), 'utf8')),
      'the README shows predict.js',
    );

    const model = await tfl.loadLayersModel(fileLoadHandler(path.join(out, 'model.json')));
    assert.deepEqual(model.outputs[0].shape, [null, 3]);
    model.dispose();

    // predict.js as a user runs it: `@tensorflow/tfjs` is stood in for by the same tfjs packages.
    const shim = path.join(root, 'shim', 'node_modules', '@tensorflow', 'tfjs');
    fs.mkdirSync(shim, { recursive: true });
    fs.writeFileSync(
      path.join(shim, 'index.js'),
      `require(${JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'))});
       const core = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))});
       core.env().set('PROD', true);
       module.exports = { ...core, ...require(${JSON.stringify(require.resolve('@tensorflow/tfjs-layers'))}) };`,
    );
    const files = summary.predictions.slice(0, 3).map((p) => path.join(dataDir(), p.file));
    const printed = execFileSync(process.execPath, [path.join(out, 'predict.js'), ...files], {
      env: {
        ...process.env,
        NODE_PATH: [
          path.join(root, 'shim', 'node_modules'),
          path.resolve(require.resolve('sharp'), '../../..'),
        ].join(path.delimiter),
      },
      encoding: 'utf8',
    });
    const lines = printed.trim().split('\n');
    assert.equal(lines.length, 3, printed);
    summary.predictions.slice(0, 3).forEach((p, i) => {
      const label = result.model.classNames[p.predictedIndex];
      assert.equal(lines[i], `${files[i]}: ${label} (${(100 * p.confidence).toFixed(1)}%)`);
    });
  });

  it('refuses to overwrite an exported model unless told to', () => {
    const out = path.join(root, 'exported-twice');
    exportRunModel(runDir, out);
    assert.throws(() => exportRunModel(runDir, out), /is not empty/);
    assert.ok(exportRunModel(runDir, out, { overwrite: true }).files.length > 0);
  });

  it('finetune export and export-metrics (CSV, TensorBoard) from the command line', async () => {
    const exported = await cli(['export', runId, 'cli-export', '--json']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(fs.existsSync(path.join(root, 'cli-export', 'model.json')));

    const csv = await cli(['export-metrics', runId]);
    assert.equal(csv.code, 0, csv.stderr);
    const metrics = fs
      .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpochMetrics);
    const rows = fs.readFileSync(path.join(runDir, 'metrics.csv'), 'utf8').trim().split('\r\n');
    assert.equal(
      rows[0],
      'epoch,loss,accuracy,val_loss,val_accuracy,gap,overfitting,lr,lr_base,reg_loss,time_s',
    );
    assert.equal(rows.length, metrics.length + 1);
    rows.slice(1).forEach((row, i) => {
      const cells = row.split(',');
      assert.equal(Number(cells[0]), metrics[i].epoch);
      assert.equal(Number(cells[1]), metrics[i].loss);
      assert.equal(Number(cells[4]), metrics[i].val_accuracy);
    });

    const tb = await cli(['export-metrics', runId, '--format', 'tensorboard', '--json']);
    assert.equal(tb.code, 0, tb.stderr);
    const [written] = JSON.parse(tb.stdout) as { path: string; files: string[]; epochs: number }[];
    assert.equal(written.path, path.join(runDir, 'tensorboard'));
    assert.equal(written.epochs, metrics.length);

    const bad = await cli(['export-metrics', runId, '--format', 'xml']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Allowed choices are csv, tensorboard/);
  });
});

// tfjs keeps tensors alive across tests; make sure the predictions above did not leak per image.
it('classifying leaves no tensors behind', async () => {
  const model = readRunModel(runDir);
  await classifyImages(model, [path.join(dataDir(), summary.predictions[0].file)]);
  const before = tf.memory().numTensors;
  await classifyImages(model, [path.join(dataDir(), summary.predictions[0].file)]);
  assert.equal(tf.memory().numTensors, before);
});
