/**
 * Resume (issue 6, point 2): a stopped or crashed run continues from its last epoch checkpoint and ends
 * with the same metrics, best epoch, saved model and summary as a run with the same seed that was never
 * interrupted — with dropout, augmentation, mixup, two learning rates and a reduce-on-plateau schedule, so
 * every generator, optimizer and schedule state has to come back exactly. Stopped in-process, crashed
 * with SIGKILL in the real trainer process, from the CLI and through the extension's Resume Run (the
 * training controller); refused when there is nothing to resume or the dataset changed.
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
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { readRun } from '../../src/core/runs/readRuns';
import { runExperiment } from '../../src/engine/runExperiment';
import { CHECKPOINT_DIR } from '../../src/engine/training/checkpoint';
import { UserError } from '../../src/core/userError';
import { TrainerProcess } from '../../src/host/trainerProcess';
import { TrainingController } from '../../src/host/training/trainingController';
import type { EpochMetrics, RunRecord, RunSummary } from '../../src/protocol/runRecord';
import * as vscode from '../helpers/fakeVscodeApi';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

const trainerScript = path.resolve(__dirname, '../../../dist/trainer.js');
const EPOCHS = 7;
let root: string;
let experimentFile: string;

interface Finished {
  dir: string;
  record: RunRecord;
  metrics: Omit<EpochMetrics, 'time_s'>[];
  summary: RunSummary;
  weights: number[][];
}

async function finished(dir: string): Promise<Finished> {
  const run = readRun(dir);
  const model = await tfl.loadLayersModel(fileLoadHandler(path.join(dir, 'model', 'model.json')));
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  model.dispose();
  return {
    dir,
    record: run.record as RunRecord,
    metrics: run.metrics.map(({ time_s: _t, ...rest }) => rest),
    summary: JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as RunSummary,
    weights,
  };
}

/** The resumed run ends exactly where the uninterrupted one did. */
function assertSameRun(resumed: Finished, reference: Finished): void {
  assert.equal(resumed.record.status, 'completed');
  assert.equal(resumed.metrics.length, EPOCHS);
  assert.deepEqual(resumed.metrics, reference.metrics, 'every epoch’s metrics');
  assert.equal(resumed.record.bestEpoch, reference.record.bestEpoch);
  assert.deepEqual(resumed.weights, reference.weights, 'the saved best model, weight for weight');
  assert.deepEqual(resumed.summary.confusion, reference.summary.confusion);
  assert.equal(resumed.summary.val_loss, reference.summary.val_loss);
  assert.equal(
    fs.existsSync(path.join(resumed.dir, CHECKPOINT_DIR)),
    false,
    'a completed run keeps no checkpoint',
  );
}

describe('resume', () => {
  let reference: Finished;

  before(async () => {
    await initBackend('cpu');
    root = tempDir('resume');
    await saveNestedCnn(path.join(root, 'base'), 16, 3);
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
    experimentFile = writeExperiment(root, 'resume', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 2 },
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'flatten', hiddenUnits: [8], dropout: 0.3 },
      augmentation: { flipHorizontal: true, rotation: 10 },
      training: {
        epochs: EPOCHS,
        batchSize: 4,
        learningRate: 0.01,
        backend: 'cpu',
        seed: 9,
        mixup: 0.2,
        schedule: { type: 'plateau', patience: 1, factor: 0.5 },
        earlyStopping: { monitor: 'val_loss', patience: 20, restoreBestWeights: true },
      },
    });
    const outcome = await runExperiment({
      experimentPath: experimentFile,
      runsDir: path.join(root, 'reference'),
      onEvent: () => {},
    });
    reference = await finished(outcome.runDir);
    assert.equal(reference.record.status, 'completed');
  });

  it('a stopped run, resumed, ends with the metrics, best epoch, model and summary of an uninterrupted one', async () => {
    const controller = new AbortController();
    const stopped = await runExperiment({
      experimentPath: experimentFile,
      runsDir: path.join(root, 'stopped'),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'afterBatch' && e.epoch === 4 && e.batch === 3) controller.abort();
      },
    });
    assert.equal(stopped.status, 'stopped');
    const before = readRun(stopped.runDir);
    assert.equal(before.metrics.length, 3, 'the interrupted 4th epoch is discarded');
    assert.ok(fs.existsSync(path.join(stopped.runDir, CHECKPOINT_DIR, 'state.json')));

    const events: string[] = [];
    const resumed = await runExperiment({
      experimentPath: 'ignored when resuming',
      runsDir: path.join(root, 'elsewhere'),
      resume: stopped.runDir,
      onEvent: (e) => events.push(e.type === 'afterEpoch' ? `epoch ${e.metrics.epoch}` : e.type),
    });
    assert.equal(resumed.runDir, stopped.runDir, 'the same run folder continues');
    assert.equal(resumed.runId, stopped.runId);
    assert.ok(events.includes('epoch 4') && !events.includes('epoch 3'), 'training went on from epoch 4');
    const result = await finished(resumed.runDir);
    assertSameRun(result, reference);
    assert.deepEqual(
      result.record.resumes?.map((r) => ({ afterEpoch: r.afterEpoch, was: r.was })),
      [{ afterEpoch: 3, was: 'stopped' }],
    );
    assert.equal(result.record.endedAt !== undefined && result.record.error === undefined, true);
    assert.equal(fs.existsSync(path.join(root, 'elsewhere')), false, 'no new run folder');
  });

  it(
    'a trainer killed mid-epoch, resumed through the trainer process, ends the same as an uninterrupted run',
    { timeout: 60000 },
    async () => {
      assert.ok(fs.existsSync(trainerScript), 'run `npm run build` first (npm test does)');
      const runsDir = path.join(root, 'crashed');
      const first = await TrainerProcess.launch({ trainerScript, backend: 'cpu' });
      first.onEvent((e) => {
        if (e.type === 'afterBatch' && e.epoch === 6 && e.batch === 2) process.kill(first.pid!, 'SIGKILL');
      });
      first.start({ experimentPath: experimentFile, runsDir });
      const crash = await first.finished;
      assert.equal(crash.kind, 'crashed');
      const runDir = crash.runDir!;
      assert.equal(readRun(runDir).record?.status, 'crashed');
      assert.match(crash.kind === 'crashed' ? crash.message : '', /Resume Run continues from the last epoch/);

      const second = await TrainerProcess.launch({ trainerScript, backend: 'cpu' });
      second.start({ experimentPath: experimentFile, runsDir, resume: runDir });
      const done = await second.finished;
      assert.ok(done.kind === 'done' && done.result.status === 'completed', JSON.stringify(done));
      const result = await finished(runDir);
      assertSameRun(result, reference);
      assert.deepEqual(
        result.record.resumes?.map((r) => ({ afterEpoch: r.afterEpoch, was: r.was })),
        [{ afterEpoch: 5, was: 'crashed' }],
      );
    },
  );

  it('finetune train --resume continues a stopped run; a completed run or a changed dataset is refused with the reason', async () => {
    const runsDir = path.join(root, 'cli');
    const controller = new AbortController();
    const stopped = await runExperiment({
      experimentPath: experimentFile,
      runsDir,
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'afterEpoch' && e.metrics.epoch === 2) controller.abort();
      },
    });
    let out = '';
    const io: CliIO = { out: (t) => void (out += t), err: (t) => void (out += t), cwd: root, env: {} };
    const cli = (...args: string[]): Promise<number> => main(['node', 'finetune', 'train', ...args], io);

    assert.equal(await cli(experimentFile, '--resume', stopped.runId, '--runs-dir', runsDir), 2);
    assert.match(out, /experiment file or --resume <run>, not both/);
    assert.equal(await cli('--resume', stopped.runId.slice(0, 17), '--runs-dir', runsDir), 0, out);
    assertSameRun(await finished(stopped.runDir), reference);

    out = '';
    assert.equal(await cli('--resume', stopped.runId, '--runs-dir', runsDir), 2);
    assert.match(out, new RegExp(`Run ${stopped.runId} completed .*nothing to resume`));

    // A second stopped run, then the dataset changes under it.
    const again = new AbortController();
    const other = await runExperiment({
      experimentPath: experimentFile,
      runsDir: path.join(root, 'changed'),
      signal: again.signal,
      onEvent: (e) => {
        if (e.type === 'afterEpoch') again.abort();
      },
    });
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 9, g: 9, b: 9 } } })
      .png()
      .toFile(path.join(root, 'data', 'class_a', 'new.png'));
    try {
      await assert.rejects(
        runExperiment({
          experimentPath: experimentFile,
          runsDir: root,
          resume: other.runDir,
          onEvent: () => {},
        }),
        (e: unknown) => e instanceof UserError && /dataset .* changed since run .* started/.test(e.message),
      );
      assert.equal(readRun(other.runDir).record?.status, 'stopped', 'the refused run is left as it was');
    } finally {
      fs.rmSync(path.join(root, 'data', 'class_a', 'new.png'));
    }
  });

  it(
    'Resume Run in VS Code (TrainingController.resume) continues the run in its folder; a completed run is explained',
    { timeout: 60000 },
    async () => {
      const runsDir = path.join(root, '.finetune', 'runs');
      vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(root), name: 'w', index: 0 }];
      const controller = new AbortController();
      const stopped = await runExperiment({
        experimentPath: experimentFile,
        runsDir,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'afterEpoch' && e.metrics.epoch === 3) controller.abort();
        },
      });
      const training = new TrainingController(
        vscode.Uri.file(path.resolve(__dirname, '../../..')) as never,
        vscode.createLogChannel() as never,
      );
      try {
        await training.resume(stopped.runDir);
        assertSameRun(await finished(stopped.runDir), reference);
        assert.deepEqual(fs.readdirSync(runsDir), [stopped.runId], 'no other run folder');
        vscode.recorded.infos.length = 0;
        await training.resume(stopped.runDir);
        assert.match(vscode.recorded.infos[0] ?? '', /completed .*there is nothing to resume/);
      } finally {
        training.dispose();
      }
    },
  );
});
