/**
 * Resource limits (issue 6, point 7): the trainer's memory cap and what running out of it looks like, and
 * a disk that fills up while the best model or a checkpoint is being saved. (A dataset larger than the memory budget
 * streams from disk instead of being loaded: see prefetch.test.ts, "over-budget dataset streams".)
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
// The module object itself (a default import), whose functions can be replaced for the disk-full tests.
import nodeFs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { readRun } from '../../src/core/runs/readRuns';
import { CHECKPOINT_DIR } from '../../src/engine/training/checkpoint';
import { readCheckpoint } from '../../src/engine/training/checkpointFiles';
import { runExperiment } from '../../src/engine/runExperiment';
import { describeTrainerDeath, TrainerProcess } from '../../src/host/trainerProcess';
import type { RunRecord } from '../../src/protocol/runRecord';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

const trainerScript = path.resolve(__dirname, '../../../dist/trainer.js');
let root: string;
let experimentFile: string;

/**
 * A stand-in trainer that does what the real one does up to its first epoch (ready, a run folder marked
 * running with its pid, beforeFit) and then needs more memory than its cap: a real V8 heap exhaustion,
 * without depending on how much memory TensorFlow.js happens to need on this machine.
 */
const HUNGRY_TRAINER = `
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
process.send({ type: 'ready', backend: 'cpu', available: ['cpu'], pid: process.pid });
process.on('message', (message) => {
  if (message.type !== 'start') return;
  const runDir = path.join(message.runsDir, 'hungry');
  fs.mkdirSync(runDir, { recursive: true });
  const record = { id: 'hungry', name: 'hungry', status: 'running', pid: process.pid, hostname: os.hostname(),
    startedAt: new Date().toISOString(), epochsCompleted: 0, warnings: [] };
  fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(record));
  process.send({ type: 'event', event: { type: 'beforeFit', runId: 'hungry', runDir } }, () => {
    const hoard = [];
    setInterval(() => { for (let i = 0; i < 200; i++) hoard.push(new Array(1000).fill({ i })); }, 1);
  });
});
`;

describe('trainer memory cap', () => {
  before(async () => {
    root = tempDir('limits');
    await initBackend('cpu');
    await saveNestedCnn(path.join(root, 'base'), 16, 2);
    await makeDataset(path.join(root, 'data'), 2, 8, 16);
    experimentFile = writeExperiment(root, 'limits', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25 },
      head: { cutAt: 'flatten' },
      training: { epochs: 6, batchSize: 4, learningRate: 0.01, backend: 'cpu' },
    });
  });

  it(
    'a trainer that outgrows its cap is a crashed run whose message says memory ran out and what to do',
    { timeout: 30000 },
    async () => {
      const script = path.join(root, 'hungry-trainer.js');
      fs.writeFileSync(script, HUNGRY_TRAINER);
      const trainer = await TrainerProcess.launch({ trainerScript: script, memoryLimitMB: 32 });
      trainer.start({ experimentPath: experimentFile, runsDir: path.join(root, 'oom-runs') });
      const exit = await trainer.finished;
      assert.equal(exit.kind, 'crashed');
      assert.ok(exit.kind === 'crashed');
      assert.match(exit.stderrTail, /heap out of memory|Reached heap limit/i, 'a real V8 heap exhaustion');
      assert.match(exit.message, /ran out of memory .*fineTune\.trainerMemoryMB = 32 MB/);
      assert.match(exit.message, /lower training\.batchSize or dataset\.imageSize/);
      const record = readRun(exit.runDir!).record as RunRecord;
      assert.equal(record.status, 'crashed');
      assert.equal(record.error, exit.message, 'run.json carries the same explanation');
    },
  );

  it(
    'the cap reaches the real trainer as --max-old-space-size and a normal run is unaffected',
    { timeout: 30000 },
    async () => {
      assert.ok(fs.existsSync(trainerScript), 'run `npm run build` first (npm test does)');
      const trainer = await TrainerProcess.launch({ trainerScript, backend: 'cpu', memoryLimitMB: 384 });
      const cmdline = fs.readFileSync(`/proc/${trainer.pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes('--max-old-space-size=384'), cmdline.join(' '));
      trainer.start({ experimentPath: experimentFile, runsDir: path.join(root, 'capped-runs') });
      const exit = await trainer.finished;
      assert.ok(exit.kind === 'done' && exit.result.status === 'completed', JSON.stringify(exit));
    },
  );

  it('describes deaths without memory trouble plainly', () => {
    assert.match(
      describeTrainerDeath(null, 'SIGKILL', ''),
      /killed by SIGKILL\) \(by hand, or by the system/,
    );
    assert.match(describeTrainerDeath(3, null, 'boom'), /exit code 3\)\. Its last output: boom/);
    assert.match(
      describeTrainerDeath(null, 'SIGABRT', 'FATAL ERROR: Reached heap limit Allocation failed'),
      /ran out of memory .*Node's default memory limit \(set fineTune\.trainerMemoryMB/,
    );
  });
});

/**
 * Runs `body` on a disk that fills up at the `nth` write of a file matching `pattern`: half of that file's
 * bytes reach the disk, then ENOSPC. fs is patched rather than a tiny file system mounted: the moment the
 * disk fills is what matters, and mounting needs privileges tests do not have.
 */
async function withDiskFullAt<T>(
  pattern: RegExp,
  nth: number,
  body: () => Promise<T>,
): Promise<{ result: T; injected: boolean }> {
  const realFs = nodeFs;
  const openSync = realFs.openSync;
  const writeFileSync = realFs.writeFileSync;
  const paths = new Map<number, string>();
  let seen = 0;
  let injected = false;
  realFs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...a: unknown[]) => number)(file, ...rest);
    paths.set(fd, String(file));
    return fd;
  }) as typeof fs.openSync;
  realFs.writeFileSync = ((target: unknown, data: unknown, ...rest: unknown[]) => {
    const file = typeof target === 'number' ? paths.get(target) : String(target);
    if (file && pattern.test(file) && ++seen === nth) {
      const bytes = data as Uint8Array;
      (writeFileSync as (...a: unknown[]) => void)(target, bytes.subarray(0, bytes.length >> 1));
      injected = true;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return (writeFileSync as (...a: unknown[]) => void)(target, data, ...rest);
  }) as typeof fs.writeFileSync;
  try {
    return { result: await body(), injected };
  } finally {
    realFs.openSync = openSync;
    realFs.writeFileSync = writeFileSync;
  }
}

const withoutTime = (dir: string): unknown[] => readRun(dir).metrics.map(({ time_s: _t, ...rest }) => rest);

describe('disk full while saving', () => {
  let reference: unknown[];
  before(async () => {
    const outcome = await runExperiment({
      experimentPath: experimentFile,
      runsDir: path.join(root, 'reference'),
      onEvent: () => {},
    });
    reference = withoutTime(outcome.runDir);
  });

  it(
    'while saving the best model: the previous one stays intact and loadable, the run fails saying so, no half files; resumed once there is space, it ends as if nothing happened',
    { timeout: 30000 },
    async () => {
      let firstBest: string | undefined;
      let runDir = '';
      const { result: outcome, injected } = await withDiskFullAt(/weights-.*\.bin$/, 2, () =>
        runExperiment({
          experimentPath: experimentFile,
          runsDir: path.join(root, 'full-runs'),
          onEvent: (event) => {
            if (event.type === 'beforeFit') runDir = event.runDir;
            if (event.type === 'afterEpoch' && event.isBest && !firstBest) {
              // A byte copy of the first best model, to compare with what is left at the end.
              firstBest = path.join(root, 'first-best');
              fs.cpSync(path.join(runDir, 'model'), firstBest, { recursive: true });
            }
          },
        }),
      );
      assert.ok(injected, 'a second best epoch was saved (and failed)');
      assert.equal(outcome.status, 'failed');
      const record = readRun(outcome.runDir).record as RunRecord;
      assert.equal(record.status, 'failed');
      assert.match(record.error ?? '', /Cannot save the model to .*model: the disk is full \(ENOSPC\)/);
      assert.match(record.error ?? '', /the model saved before \(epoch 1\) is kept as it was/);
      assert.match(record.error ?? '', /Free some space .*then resume the run/);
      assert.equal(record.bestEpoch, 1, 'run.json still names the model that is on disk');
      const modelDir = path.join(outcome.runDir, 'model');
      assert.deepEqual(
        fs
          .readdirSync(modelDir)
          .filter((f) => !/^weights-.*\.bin$/.test(f))
          .sort(),
        ['labels.json', 'model.json'],
        'no temporary files left',
      );
      assert.equal(
        fs.readdirSync(modelDir).filter((f) => f.endsWith('.bin')).length,
        1,
        'no half weights file',
      );
      for (const f of fs.readdirSync(firstBest!))
        assert.ok(
          fs.readFileSync(path.join(modelDir, f)).equals(fs.readFileSync(path.join(firstBest!, f))),
          f,
        );
      const model = await tfl.loadLayersModel(fileLoadHandler(path.join(modelDir, 'model.json')));
      assert.deepEqual(model.outputs[0].shape, [null, 2]);
      model.dispose();

      const resumed = await runExperiment({
        experimentPath: '',
        runsDir: root,
        resume: outcome.runDir,
        onEvent: () => {},
      });
      assert.equal(resumed.status, 'completed');
      assert.deepEqual(withoutTime(outcome.runDir), reference);
    },
  );

  it(
    'while saving a checkpoint: the previous checkpoint stays, the run fails saying so, and resumes from it',
    { timeout: 30000 },
    async () => {
      const { result: outcome, injected } = await withDiskFullAt(/tensors-.*\.bin$/, 3, () =>
        runExperiment({
          experimentPath: experimentFile,
          runsDir: path.join(root, 'full-ckpt'),
          onEvent: () => {},
        }),
      );
      assert.ok(injected);
      assert.equal(outcome.status, 'failed');
      const record = readRun(outcome.runDir).record as RunRecord;
      assert.match(
        record.error ?? '',
        /Cannot save the checkpoint of epoch 3 in .*: the disk is full \(ENOSPC\); the previous checkpoint is kept/,
      );
      const checkpointDir = path.join(outcome.runDir, CHECKPOINT_DIR);
      const { tensorsFiles } = JSON.parse(
        fs.readFileSync(path.join(checkpointDir, 'state.json'), 'utf8'),
      ) as {
        tensorsFiles: string[];
      };
      assert.deepEqual(
        fs.readdirSync(checkpointDir).sort(),
        ['state.json', ...tensorsFiles].sort(),
        'one complete checkpoint (the files its state.json names), no half file',
      );
      assert.equal(readCheckpoint(outcome.runDir)?.epoch, 2);
      const resumed = await runExperiment({
        experimentPath: '',
        runsDir: root,
        resume: outcome.runDir,
        onEvent: () => {},
      });
      assert.equal(resumed.status, 'completed');
      assert.deepEqual(withoutTime(outcome.runDir), reference);
    },
  );
});
