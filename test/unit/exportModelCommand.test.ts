/**
 * "Fine-Tune: Export Model" through the real host code with the stand-in `vscode` module: the format quick
 * pick, the ONNX export running in a child process (dist/cli.js — the host never loads TensorFlow.js), a
 * folder with the user's files getting a new sub-folder instead of being written into, a previous export
 * replaced only after confirmation, the refusal of an unsupported layer shown as an error with nothing
 * written, and ONNX export waiting for Workspace Trust while the TensorFlow.js copy does not.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, beforeEach, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerExportModelCommand } from '../../src/host/commands/exportModel';
import * as vscode from '../helpers/fakeVscodeApi';
import { tempDir } from '../helpers/fixtureModels';
import { residualConcat, saveFixtureRun, withUnsupportedLayer } from '../helpers/onnxFixtureModels';
import { runOnnx } from '../helpers/onnxRuntimeCompare';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'dist', 'cli.js');

let root: string;
let runDir: string;
let badRunDir: string;
let log: ReturnType<typeof vscode.createLogChannel> & { lines: string[] };

function exportCommand(): (...args: unknown[]) => Promise<void> {
  const handler = vscode.commands.registered.get('fineTune.exportModel');
  assert.ok(handler, 'the command is registered');
  return handler as (...args: unknown[]) => Promise<void>;
}

function pickFormat(label: string): void {
  vscode.answers.quickPick = (items) => items.find((i) => i.label === label);
}

function pickFolder(dir: string): void {
  vscode.answers.openDialog = [vscode.Uri.file(dir)];
}

before(async () => {
  assert.ok(fs.existsSync(CLI), 'run `npm run build` first (npm test does)');
  await tf.setBackend('cpu');
  root = tempDir('export-command');
  const runs = path.join(root, '.finetune', 'runs');
  const model = residualConcat(8, 2);
  runDir = await saveFixtureRun(runs, 'run-good', model, { classNames: ['cat', 'dog'], pixelRange: [-1, 1] });
  model.dispose();
  const bad = withUnsupportedLayer(8, 2);
  badRunDir = await saveFixtureRun(runs, 'run-bad', bad, { classNames: ['a', 'b'], pixelRange: [0, 1] });
  bad.dispose();
  log = vscode.createLogChannel() as typeof log;
  registerExportModelCommand({ log: log as never, cliScript: CLI });
});

beforeEach(() => {
  vscode.recorded.errors.length = 0;
  vscode.recorded.warnings.length = 0;
  vscode.recorded.infos.length = 0;
  vscode.prompts.quickPicks.length = 0;
  vscode.prompts.openDialogs.length = 0;
  vscode.workspace.isTrusted = true;
});

describe('Export Model', () => {
  it('from the Runs view: asks the format, exports ONNX in a child process into the empty folder picked', async () => {
    const out = path.join(root, 'onnx-out');
    fs.mkdirSync(out);
    pickFormat('ONNX');
    pickFolder(out);
    await exportCommand()({ run: { dir: runDir } });
    assert.deepEqual(vscode.recorded.errors, []);
    assert.deepEqual(vscode.prompts.quickPicks[0].labels, ['ONNX', 'TensorFlow.js']);
    assert.notEqual(
      vscode.prompts.openDialogs[0].defaultUri?.fsPath,
      root,
      'the picker does not start in the workspace',
    );
    assert.deepEqual(fs.readdirSync(out).sort(), [
      'README.md',
      'labels.json',
      'model.onnx',
      'preprocessing.json',
    ]);
    assert.match(
      vscode.recorded.infos[0],
      /exported run-good's best model as ONNX \(\d+ KiB\) to .*onnx-out/,
    );
    // A real ONNX model: ONNX Runtime runs it.
    const probabilities = await runOnnx(
      path.join(out, 'model.onnx'),
      new Float32Array(8 * 8 * 3).fill(128),
      [1, 8, 8, 3],
    );
    assert.equal(probabilities.length, 2);
    assert.ok(Math.abs(probabilities[0] + probabilities[1] - 1) < 1e-5);
  });

  it("a folder with the user's files gets a new sub-folder; their files stay as they were", async () => {
    const mine = path.join(root, 'projects');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'README.md'), 'my project');
    pickFolder(mine);
    await exportCommand()(runDir, 'onnx');
    assert.deepEqual(vscode.prompts.quickPicks, [], 'the format came with the command');
    assert.deepEqual(vscode.recorded.errors, []);
    assert.equal(fs.readFileSync(path.join(mine, 'README.md'), 'utf8'), 'my project');
    assert.ok(fs.existsSync(path.join(mine, 'run-good-onnx', 'model.onnx')));
  });

  it('a previous export is replaced only when the user confirms', async () => {
    const out = path.join(root, 'again');
    pickFolder(out);
    await exportCommand()(runDir, 'tfjs');
    assert.ok(fs.existsSync(path.join(out, 'model.json')));

    pickFolder(out);
    await exportCommand()(runDir, 'onnx'); // the warning is dismissed
    assert.match(vscode.recorded.warnings[0], /holds an earlier export\. Replace it/);
    assert.ok(fs.existsSync(path.join(out, 'model.json')), 'kept');

    pickFolder(out);
    vscode.answers.next = 'Replace';
    vscode.trash.dir = path.join(root, 'trash');
    await exportCommand()(runDir, 'onnx');
    assert.deepEqual(fs.readdirSync(out).sort(), [
      'README.md',
      'labels.json',
      'model.onnx',
      'preprocessing.json',
    ]);
    // The replaced TensorFlow.js export went to the trash, whole, and nothing is left beside the folder.
    const trashed = fs.readdirSync(vscode.trash.dir);
    assert.equal(trashed.length, 1);
    assert.ok(fs.existsSync(path.join(vscode.trash.dir, trashed[0], 'model.json')));
    assert.ok(fs.existsSync(path.join(vscode.trash.dir, trashed[0], 'predict.js')));
    assert.deepEqual(
      fs.readdirSync(root).filter((name) => name.startsWith('.again.export-')),
      [],
      'no staging or replaced folder left beside the target',
    );

    // No trash on this machine: the replaced export is kept until the user says to delete it for good.
    vscode.trash.dir = undefined;
    pickFolder(out);
    vscode.answers.next = 'Replace';
    await exportCommand()(runDir, 'tfjs');
    assert.ok(fs.existsSync(path.join(out, 'model.json')), 'the new export is in place');
    assert.match(
      vscode.recorded.warnings.at(-1)!,
      /could not be moved to the trash\. It is kept as .*\.again\.export-/,
    );
    const kept = fs.readdirSync(root).filter((name) => name.startsWith('.again.export-'));
    assert.equal(kept.length, 1);
    assert.ok(fs.existsSync(path.join(root, kept[0], 'model.onnx')), 'the previous (ONNX) export, whole');
  });

  it("an unsupported layer: the export's refusal as an error message, nothing written", async () => {
    const out = path.join(root, 'refused');
    pickFolder(out);
    await exportCommand()(badRunDir, 'onnx');
    assert.equal(vscode.recorded.errors.length, 1);
    assert.match(
      vscode.recorded.errors[0],
      /^Fine-Tune: Cannot export run run-bad to ONNX: layer "decoder\/upsample" \(UpSampling2D\) has no ONNX conversion/,
    );
    assert.equal(fs.existsSync(out), false);
    assert.ok(log.lines.some((l) => l.startsWith('error export of run-bad (onnx) failed')));
  });

  it('Restricted Mode: ONNX (TensorFlow.js reads the model) waits for trust; the TensorFlow.js copy does not', async () => {
    vscode.workspace.isTrusted = false;
    const out = path.join(root, 'untrusted');
    pickFolder(out);
    await exportCommand()(runDir, 'onnx');
    assert.match(
      vscode.recorded.warnings[0],
      /Exporting run-good's model to ONNX is disabled in Restricted Mode/,
    );
    assert.deepEqual(vscode.prompts.openDialogs, [], 'no folder asked for');
    assert.equal(fs.existsSync(out), false);

    pickFolder(out);
    await exportCommand()(runDir, 'tfjs');
    assert.ok(fs.existsSync(path.join(out, 'model.json')));
  });
});
