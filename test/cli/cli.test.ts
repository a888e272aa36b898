import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { main } from '../../src/cli/program';
import type { CliIO } from '../../src/cli/io';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { RunRecord } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn } from '../helpers/fixtureModels';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], cwd = os.tmpdir()): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    cwd,
    env: {},
  };
  const code = await main(['node', 'finetune', ...args], io);
  return { code, stdout, stderr };
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

async function writePng(file: string, shade: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: shade, g: shade, b: shade } } })
    .png()
    .toFile(file);
}

/** cat: 3 images, dog: 2 images + a text file + an empty "image", bird: no images. */
async function flatDataset(): Promise<string> {
  const root = tempDir('finetune-scan-');
  for (let i = 0; i < 3; i++) await writePng(path.join(root, 'cat', `${i}.png`), 10 * i);
  for (let i = 0; i < 2; i++) await writePng(path.join(root, 'dog', `${i}.png`), 100 + i);
  fs.writeFileSync(path.join(root, 'dog', 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(root, 'dog', 'broken.png'), '');
  fs.mkdirSync(path.join(root, 'bird'));
  return root;
}

/** A Sequential model with a nested Sequential, saved as model.json + weights. */
async function nestedModel(): Promise<string> {
  await tf.setBackend('cpu');
  const inner = tfl.sequential({
    name: 'inner',
    layers: [tfl.layers.dense({ inputShape: [8], units: 4, name: 'inner_dense' })],
  });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, name: 'conv1' }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.flatten({ name: 'flatten' }),
      inner,
      tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
    ],
  });
  const dir = tempDir('finetune-layers-');
  await model.save(atomicDirSaveHandler(dir));
  model.dispose();
  return path.join(dir, 'model.json');
}

test('scan prints classes with counts, empty classes, ignored files and warnings', async () => {
  const root = await flatDataset();
  const result = await run(['scan', root]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /2 classes, 5 images/);
  assert.match(result.stdout, /^cat\s+3$/m);
  assert.match(result.stdout, /^dog\s+2$/m);
  assert.match(result.stdout, /^bird \(empty, left out\)\s+0$/m);
  assert.match(result.stdout, /ignored files \(not images\) \(1\):\n {2}dog\/notes\.txt/);
  assert.match(result.stdout, /warning: dog\/broken\.png is empty/);
});

test('scan --json prints the scan as JSON, relative paths resolved against the working folder', async () => {
  const root = await flatDataset();
  const result = await run(['scan', path.basename(root), '--json'], path.dirname(root));
  assert.equal(result.code, 0, result.stderr);
  const scan = JSON.parse(result.stdout);
  assert.deepEqual(scan.classNames, ['cat', 'dog']);
  assert.equal(scan.root, root);
  assert.deepEqual(scan.emptyClasses, ['bird']);
  assert.equal(scan.countsByClass.cat.total, 3);
});

test('scan of a split dataset shows counts per split', async () => {
  const root = tempDir('finetune-split-');
  for (const [split, n] of [
    ['train', 3],
    ['val', 1],
  ] as const) {
    for (const cls of ['a', 'b'])
      for (let i = 0; i < n; i++) await writePng(path.join(root, split, cls, `${i}.png`), i);
  }
  const result = await run(['scan', root]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^class\s+train\s+val\s+total$/m);
  assert.match(result.stdout, /^a\s+3\s+1\s+4$/m);
  assert.match(result.stdout, /^\(all\)\s+6\s+2\s+8$/m);
});

test('layers prints the tree indented by nesting, with shapes, params and totals', async () => {
  const modelPath = await nestedModel();
  const result = await run(['layers', modelPath]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^conv1\s+Conv2D\s+\[\?, 2, 2, 2\]\s+20\s+0$/m);
  assert.match(result.stdout, /^bn1\s+BatchNormalization\s+\[\?, 2, 2, 2\]\s+4\s+4$/m);
  assert.match(result.stdout, /^inner\s+Sequential\s+\[\?, 4\]\s+36\s+0$/m);
  assert.match(result.stdout, /^ {2}inner\/inner_dense\s+Dense\s+\[\?, 4\]\s+36\s+0$/m);
  // 20 + 4 + 36 + 15 trainable, 4 (moving mean/variance) non-trainable; nested params counted once.
  assert.match(result.stdout, /total params: 79 \(75 trainable, 4 non-trainable\)/);

  const json = await run(['layers', modelPath, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const nodes = JSON.parse(json.stdout) as LayerNode[];
  assert.deepEqual(
    nodes.map((n) => n.path),
    ['conv1', 'bn1', 'flatten', 'inner', 'out'],
  );
  assert.equal(nodes[3].children?.[0].path, 'inner/inner_dense');
});

test('bad --epochs and --backend exit 2 with one line on stderr and nothing on stdout', async () => {
  for (const bad of [
    ['--epochs', '0'],
    ['--epochs', 'ten'],
    ['--epochs', '2.5'],
    ['--backend', 'tpu'],
  ]) {
    const result = await run(['train', 'x.finetune.json', ...bad]);
    assert.equal(result.code, 2, `${bad.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, /^error: /);
  }
});

test('a missing input file exits 2 with a readable message and no stack trace', async () => {
  const cwd = tempDir('finetune-missing-');
  const cases: [string[], RegExp][] = [
    [['layers', 'nope/model.json'], /^error: Model file not found: .*nope\/model\.json\.$/],
    [['scan', 'no-such-dataset'], /^error: Dataset folder not found/],
    [['train', 'missing.finetune.json', '--epochs', '1'], /^error: Experiment file not found/],
  ];
  for (const [args, message] of cases) {
    const result = await run(args, cwd);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], message);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});

function writeRun(runsDir: string, id: string, record: Record<string, unknown>, metrics: object[]): void {
  const dir = path.join(runsDir, id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), metrics.map((m) => JSON.stringify(m) + '\n').join(''));
}

function record(id: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    id,
    name: 'digits',
    status: 'completed',
    backend: 'cpu',
    epochsPlanned: 3,
    epochsCompleted: 2,
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:02:00.000Z',
    pid: process.pid,
    hostname: os.hostname(),
    config: { name: 'digits', training: { learningRate: 0.001, batchSize: 32 }, layers: {} },
    ...extra,
  };
}

const m = (epoch: number, valLoss: number, valAcc: number) => ({
  epoch,
  loss: 0.5,
  accuracy: 0.8,
  val_loss: valLoss,
  val_accuracy: valAcc,
  lr: 0.001,
  time_s: 1,
});

test('runs lists runs newest first, marks a dead trainer crashed, and shows unreadable runs', async () => {
  const runsDir = tempDir('finetune-cli-runs-');
  writeRun(runsDir, 'run-old', record('run-old', { bestEpoch: 1 }), [m(1, 0.4, 0.9), m(2, 0.6, 0.85)]);
  // Above Linux's PID_MAX_LIMIT (2^22), so no process can have it.
  writeRun(
    runsDir,
    'run-dead',
    record('run-dead', {
      status: 'running',
      pid: 2 ** 22 + 12345,
      startedAt: new Date(Date.now() - 30_000).toISOString(),
      endedAt: undefined,
      epochsCompleted: 1,
    }),
    [m(1, 0.5, 0.8)],
  );
  fs.mkdirSync(path.join(runsDir, 'run-broken'));
  fs.writeFileSync(path.join(runsDir, 'run-broken', 'run.json'), '{"status":');

  const result = await run(['runs', '--runs-dir', runsDir]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /run-dead .*crashed/);
  const lines = result.stdout.split('\n');
  assert.match(
    lines[0],
    /^id\s+name\s+status\s+epochs\s+best epoch\s+best val_acc\s+best val_loss\s+backend\s+duration$/,
  );
  // Without a readable start time the broken run sorts by its folder's mtime: just now, so first.
  assert.match(lines[1], /^run-broken\s+—\s+unreadable\s/);
  assert.match(result.stdout, /^run-broken: run\.json is not valid JSON/m);
  assert.match(lines[2], /^run-dead\s+digits\s+crashed\s+1\/3\s+1\s+0\.8000\s+0\.5000\s+cpu\s+\d+(\.\d)?s$/);
  assert.match(lines[3], /^run-old\s+digits\s+completed\s+2\/3\s+1\s+0\.9000\s+0\.4000\s+cpu\s+2m 00s$/);

  const json = await run(['runs', '--runs-dir', runsDir, '--json']);
  const items = JSON.parse(json.stdout) as { id: string; status: string }[];
  assert.deepEqual(
    items.map((i) => [i.id, i.status]).filter(([id]) => id !== 'run-broken'),
    [
      ['run-dead', 'crashed'],
      ['run-old', 'completed'],
    ],
  );
  const empty = await run(['runs', '--runs-dir', path.join(runsDir, 'none')]);
  assert.equal(empty.code, 0);
  assert.match(empty.stdout, /^No runs in /);
});

test('compare shows outcome columns and only the parameters that differ', async () => {
  const runsDir = tempDir('finetune-cli-compare-');
  writeRun(runsDir, 'a-1', record('a-1', {}), [m(1, 0.4, 0.9), m(2, 0.6, 0.85)]);
  const fast = {
    name: 'digits',
    training: { learningRate: 0.01, batchSize: 32 },
    layers: { conv1: 'reinit' },
  };
  writeRun(runsDir, 'b-2', record('b-2', { config: fast }), [m(1, 0.7, 0.7), m(2, 0.5, 0.8)]);

  const result = await run(['compare', 'a', 'b', '--runs-dir', runsDir]);
  assert.equal(result.code, 0, result.stderr);
  const [header, rowA, rowB] = result.stdout.split('\n');
  assert.match(
    header,
    /^run\s+status\s+best val_acc\s+best val_loss\s+best epoch\s+final gap\s+since best\s+duration\s+backend\s+training\.learningRate\s+layers\.conv1$/,
  );
  assert.doesNotMatch(header, /batchSize/);
  assert.match(rowA, /^a-1\s+completed\s+0\.9000\s+0\.4000\s+1\s+\+0\.1000\s+1\s+2m 00s\s+cpu\s+0\.001\s+—$/);
  assert.match(
    rowB,
    /^b-2\s+completed\s+0\.8000\s+0\.5000\s+2\s+\+0\.0000\s+0\s+2m 00s\s+cpu\s+0\.01\s+reinit$/,
  );

  const json = JSON.parse((await run(['compare', 'a-1', 'b-2', '--runs-dir', runsDir, '--json'])).stdout);
  assert.deepEqual(
    json.parameters.map((p: { key: string }) => p.key),
    ['training.learningRate', 'layers.conv1'],
  );
  assert.equal(json.rows.length, 2);

  const unknown = await run(['compare', 'zzz', '--runs-dir', runsDir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^error: No run "zzz" .*Runs, newest first: /);
});

test('--version prints the package version; an unknown command exits 2', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), pkg.version);
  const unknown = await run(['trian']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'trian'/);
});

/** A nested CNN, a 3-class dataset and an experiment file in a fresh folder. */
async function trainableExperiment(): Promise<{ dir: string; file: string }> {
  const dir = tempDir('finetune-cli-train-');
  await tf.setBackend('cpu');
  await saveNestedCnn(path.join(dir, 'base'), 16, 4);
  await makeDataset(path.join(dir, 'data'), 3, 8, 16, 1);
  const file = writeExperiment(dir, 'tiny', {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
    head: { cutAt: 'flatten', hiddenUnits: [8] },
    training: { epochs: 5, batchSize: 8, learningRate: 0.01, seed: 5 },
  });
  return { dir, file };
}

test('train --json prints only JSON events, one per line, and leaves a completed run folder', async () => {
  const { dir, file } = await trainableExperiment();
  const runsDir = path.join(dir, 'my-runs');
  const result = await run(
    ['train', path.basename(file), '--epochs', '1', '--json', '--backend', 'cpu', '--runs-dir', 'my-runs'],
    dir,
  );
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trimEnd().split('\n');
  const events = lines.map((line) => JSON.parse(line) as TrainingEvent);
  const types = events.map((e) => e.type);
  assert.ok(types.includes('beforeFit') && types.includes('afterBatch'), types.join(' '));
  assert.equal(types.filter((t) => t === 'afterEpoch').length, 1, "--epochs 1 overrides the file's 5");
  const last = events[events.length - 1];
  assert.equal(last.type, 'afterFit');
  assert.ok(last.type === 'afterFit' && last.status === 'completed');

  const runDir = last.type === 'afterFit' ? last.runDir : '';
  assert.equal(path.dirname(runDir), runsDir, '--runs-dir is resolved against the working folder');
  const record = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as RunRecord;
  assert.equal(record.status, 'completed');
  assert.equal(record.backend, 'cpu');
  assert.equal(fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 1);
  assert.ok(fs.existsSync(path.join(runDir, 'model', 'model.json')));

  // The run is visible to `runs` right away.
  const listed = await run(['runs', '--runs-dir', runsDir]);
  assert.match(listed.stdout, new RegExp(`^${record.id}\\s+tiny\\s+completed\\s+1/1\\s+1\\s`, 'm'));
});

test('train without a terminal prints one plain line per epoch and the outcome, in the default runs folder', async () => {
  const { dir, file } = await trainableExperiment();
  const result = await run(['train', file, '--epochs', '2', '--backend', 'cpu'], dir);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^run \S+: 3 classes, 18 train \/ 6 validation images, 3 batches per epoch, backend cpu$/m,
  );
  assert.match(
    result.stdout,
    /^epoch 1\/2 {2}loss \d\.\d{4} {2}acc \d\.\d{4} {2}val_loss \d\.\d{4} {2}val_acc \d\.\d{4} {2}lr 0\.01 /m,
  );
  assert.match(result.stdout, /^epoch 2\/2 /m);
  assert.match(result.stdout, /^run \S+ completed, 2 epochs/m);
  assert.ok(!result.stdout.includes('\u001b['), 'no cursor control codes without a terminal');
  const folder = /^folder: (.*)$/m.exec(result.stdout)?.[1] ?? '';
  assert.equal(path.dirname(folder), path.join(dir, '.finetune', 'runs'));
  assert.ok(fs.existsSync(path.join(folder, 'run.json')));
});

test('train --no-cache and --memory-budget: the log says the cache is off and images are streamed', async () => {
  const { dir } = await trainableExperiment();
  const file = writeExperiment(dir, 'frozen', {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
    freezeUpTo: 'backbone/pool2',
    head: { cutAt: 'flatten', hiddenUnits: [8] },
    training: { epochs: 1, batchSize: 8, learningRate: 0.01, seed: 5, backend: 'cpu' },
  });
  const logs = async (args: string[]): Promise<string[]> => {
    const result = await run(['train', file, '--json', ...args], dir);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as TrainingEvent)
      .flatMap((e) => (e.type === 'log' ? [e.message] : []));
  };
  const cached = await logs([]);
  assert.ok(
    cached.some((m) => m.startsWith('Activation cache: activations of')),
    cached.join('\n'),
  );
  // 24 images of 16×16×3 floats take 72 KiB: a 0.05 MiB budget cannot hold them.
  const plain = await logs(['--no-cache', '--memory-budget', '0.05']);
  assert.ok(
    plain.some((m) => /Activation cache off: turned off by the settings/.test(m)),
    plain.join('\n'),
  );
  assert.ok(
    plain.some((m) => /decoded per batch on a worker thread/.test(m)),
    plain.join('\n'),
  );
  const bad = await run(['train', file, '--memory-budget', 'lots'], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Give a size in MiB above 0/);
});
