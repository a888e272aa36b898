/** The trainer child process through the host's TrainerProcess wrapper: handshake, run, stop, crash. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { RunRecord } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { TrainerProcess } from '../../src/host/trainerProcess';
import { ModelDescriber } from '../../src/host/modelDescriber';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

const trainerScript = path.resolve(__dirname, '../../../dist/trainer.js');
let root: string;

function experiment(name: string, epochs: number): string {
  return writeExperiment(root, name, {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25 },
    freezeUpTo: 'backbone',
    head: { cutAt: 'flatten' },
    training: { epochs, batchSize: 4, backend: 'cpu' },
  });
}

async function launch(): Promise<TrainerProcess> {
  return TrainerProcess.launch({ trainerScript, backend: 'cpu', readyTimeoutMs: 30000 });
}

describe('trainer child process', () => {
  before(async () => {
    assert.ok(fs.existsSync(trainerScript), 'run `npm run build` first (npm test does)');
    await tf.setBackend('cpu');
    root = tempDir('trainer');
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 2, 8, 16);
  });

  it('says ready with its backend, runs, streams events and reports done', async () => {
    const trainer = await launch();
    assert.equal(trainer.backend, 'cpu');
    const events: TrainingEvent[] = [];
    trainer.onEvent((e) => events.push(e));
    trainer.start({ experimentPath: experiment('ok', 2), runsDir: path.join(root, 'runs') });
    const exit = await trainer.finished;
    assert.equal(exit.kind, 'done');
    assert.ok(exit.kind === 'done' && exit.result.status === 'completed');
    const types = events.map((e) => e.type);
    assert.ok(types.indexOf('beforeFit') < types.indexOf('beforeEpoch'));
    assert.equal(types.filter((t) => t === 'afterEpoch').length, 2);
    assert.equal(types[types.length - 1], 'afterFit');
  });

  it('stop ends the run after the current batch and still saves', async () => {
    const trainer = await launch();
    let stopAt = 0;
    trainer.onEvent((e) => {
      if (e.type === 'afterEpoch' && stopAt === 0) {
        stopAt = Date.now();
        void trainer.stop();
      }
    });
    trainer.start({ experimentPath: experiment('stop', 50), runsDir: path.join(root, 'runs') });
    const exit = await trainer.finished;
    assert.ok(exit.kind === 'done', JSON.stringify(exit));
    assert.equal(exit.result.status, 'stopped');
    assert.ok(Date.now() - stopAt < 5000, 'stopped promptly');
    const record = JSON.parse(
      fs.readFileSync(path.join(exit.result.runDir, 'run.json'), 'utf8'),
    ) as RunRecord;
    assert.equal(record.status, 'stopped');
    assert.ok(fs.existsSync(path.join(exit.result.runDir, 'model', 'model.json')));
  });

  it('a killed trainer is reported as crashed with its run folder, not hung on', async () => {
    const trainer = await launch();
    trainer.onEvent((e) => {
      if (e.type === 'afterBatch') process.kill(trainer.pid!, 'SIGKILL');
    });
    trainer.start({ experimentPath: experiment('crash', 50), runsDir: path.join(root, 'runs') });
    const exit = await trainer.finished;
    assert.equal(exit.kind, 'crashed');
    assert.ok(exit.kind === 'crashed' && exit.signal === 'SIGKILL');
    assert.ok(exit.kind === 'crashed' && exit.runDir);
    const record = JSON.parse(fs.readFileSync(path.join(exit.runDir, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(record.status, 'crashed');
    assert.match(record.error ?? '', /SIGKILL/);
  });

  it('--describe answers with the layer tree (how the host reads models without TensorFlow.js)', async () => {
    const describer = new ModelDescriber(trainerScript);
    const { layers, inputShape } = await describer.describe(path.join(root, 'base', 'model.json'));
    assert.deepEqual(inputShape, [16, 16, 3]);
    assert.deepEqual(
      layers.map((l) => l.path),
      ['backbone', 'flatten', 'dense_1', 'dense_2'],
    );
    assert.equal(layers[0].children?.[0].children?.[0].path, 'backbone/block1/conv1');
    await assert.rejects(describer.describe(path.join(root, 'missing', 'model.json')), /not found/);
  });

  it('bad input is reported as failed with the message', async () => {
    const trainer = await launch();
    trainer.start({
      experimentPath: path.join(root, 'nope.finetune.json'),
      runsDir: path.join(root, 'runs'),
    });
    const exit = await trainer.finished;
    assert.equal(exit.kind, 'failed');
    assert.ok(exit.kind === 'failed' && /nope\.finetune\.json/.test(exit.error));
  });
});
