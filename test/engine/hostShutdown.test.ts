/**
 * Window reload / VS Code exit during training (issue 6, point 3): the run must end `stopped`, never stay
 * `running`. Two ways the extension host goes away, both with the real trainer (dist/trainer.js):
 * - cleanly: deactivate() → TrainingController.shutdown(), driven here through the real controller with a
 *   stand-in `vscode` module;
 * - abruptly: the extension host process is killed, and the trainer notices its IPC channel close.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { readRun } from '../../src/core/runs/readRuns';
import { TrainingController } from '../../src/host/training/trainingController';
import type { RunRecord } from '../../src/protocol/runRecord';
import * as vscode from '../helpers/fakeVscodeApi';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

const REPO = path.resolve(__dirname, '../../..');
let root: string;
let experimentFile: string;

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function runDirs(runsDir: string): string[] {
  return fs.existsSync(runsDir)
    ? fs
        .readdirSync(runsDir)
        .filter((f) => !f.startsWith('.'))
        .map((f) => path.join(runsDir, f))
    : [];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the extension host goes away during a run', () => {
  before(async () => {
    assert.ok(fs.existsSync(path.join(REPO, 'dist/trainer.js')), 'run `npm run build` first (npm test does)');
    await tf.setBackend('cpu');
    root = tempDir('shutdown');
    await saveNestedCnn(path.join(root, 'base'), 16, 2);
    await makeDataset(path.join(root, 'data'), 2, 12, 16);
    experimentFile = writeExperiment(root, 'long', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25 },
      head: { cutAt: 'flatten' },
      training: { epochs: 500, batchSize: 4, backend: 'cpu', earlyStopping: false },
    });
    vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(root), name: 'w', index: 0 }];
  });

  it(
    'deactivate → TrainingController.shutdown stops the run: run.json says stopped, the trainer is gone',
    { timeout: 60000 },
    async () => {
      const controller = new TrainingController(
        vscode.Uri.file(REPO) as never,
        vscode.createLogChannel() as never,
      );
      const runsDir = path.join(root, '.finetune', 'runs');
      const started = controller.start(vscode.Uri.file(experimentFile) as never);
      const runDir = await waitFor(
        'an epoch of the run',
        () => runDirs(runsDir).find((d) => readRun(d).metrics.length >= 1),
        30000,
      );
      const pid = (readRun(runDir).record as RunRecord).pid;
      assert.ok(controller.running);
      const began = Date.now();
      await controller.shutdown();
      const tookMs = Date.now() - began;
      await started;
      const record = readRun(runDir).record as RunRecord;
      assert.equal(record.status, 'stopped', `run.json says ${record.status}`);
      assert.match(record.endReason ?? '', /stopped by request/);
      assert.ok(!isAlive(pid), 'the trainer process has exited');
      assert.ok(tookMs < 3500, `shutdown took ${tookMs} ms (VS Code gives deactivate about 5 s)`);
      assert.ok(fs.existsSync(path.join(runDir, 'model', 'model.json')), 'the best model is saved');
      controller.dispose();
    },
  );

  it(
    'an extension host killed outright (no deactivate) still leaves the run stopped, not running',
    { timeout: 60000 },
    async () => {
      const runsDir = path.join(root, 'killed-host-runs');
      // The "extension host": a process that launches the trainer the way the controller does, then dies.
      const hostScript = path.join(root, 'host.js');
      fs.writeFileSync(
        hostScript,
        `const { TrainerProcess } = require(${JSON.stringify(path.resolve(__dirname, '../../src/host/trainerProcess'))});
      TrainerProcess.launch({ trainerScript: ${JSON.stringify(path.join(REPO, 'dist/trainer.js'))}, backend: 'cpu' }).then((t) => {
        t.onEvent((e) => { if (e.type === 'afterEpoch' && e.metrics.epoch === 1) process.send({ trainerPid: t.pid }); });
        t.start({ experimentPath: ${JSON.stringify(experimentFile)}, runsDir: ${JSON.stringify(runsDir)} });
      });`,
      );
      const host = fork(hostScript, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const trainerPid = await new Promise<number>((resolve, reject) => {
        host.once('message', (m) => resolve((m as { trainerPid: number }).trainerPid));
        host.once('exit', (code) => reject(new Error(`host exited early (${code})`)));
      });
      host.kill('SIGKILL');
      const [runDir] = runDirs(runsDir);
      const record = await waitFor(
        'run.json to leave running',
        () => {
          const r = readRun(runDir).record;
          return r && r.status !== 'running' ? r : undefined;
        },
        15000,
      );
      assert.equal(record.status, 'stopped');
      await waitFor('the trainer to exit', () => (isAlive(trainerPid) ? undefined : true), 10000);
      assert.ok(fs.existsSync(path.join(runDir, 'model', 'model.json')));
    },
  );
});
