/**
 * Crash safety (issue 6, points 1 and 2) with the real trainer process (dist/trainer.js) behind the host's
 * TrainerProcess: a kill loop SIGKILLs trainers at random moments of a run and checks, after every kill,
 * that nothing on disk is lost or half-written and that the host noticed at once; a stop is measured
 * against the length of a batch. Needs `npm run build`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { createRng } from '../../src/core/rng';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { markRunCrashed, readRun } from '../../src/core/runs/readRuns';
import { RUN_LOCK_FILE } from '../../src/core/runs/runLock';
import { resumeProblem } from '../../src/core/runs/resumable';
import { HOST_TAG } from '../../src/core/files/writerId';
import { spawn } from 'node:child_process';
import { runExperiment } from '../../src/engine/runExperiment';
import { readCheckpoint } from '../../src/engine/training/checkpointFiles';
import { TrainerProcess, type TrainerExit } from '../../src/host/trainerProcess';
import type { RunRecord, RunSummary } from '../../src/protocol/runRecord';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';

const trainerScript = path.resolve(__dirname, '../../../dist/trainer.js');
/** Kill points: enough to land in every phase of a run (start-up, batches, evaluation, saving, the end). */
const KILLS = 16;
/** The host must report a killed trainer as crashed within this long. */
const DETECT_MS = 1000;
/** Killed runs that are also resumed and compared with an uninterrupted one (each costs a partial run). */
const RESUMES = 2;

let root: string;
let experimentFile: string;

async function launch(): Promise<TrainerProcess> {
  return TrainerProcess.launch({ trainerScript, backend: 'cpu', readyTimeoutMs: 30000 });
}

/** Everything a killed run must satisfy on disk; returns what it found, for the report. */
async function checkRunFolder(
  runDir: string,
  killedPid: number,
): Promise<{ epochs: number; model: boolean; tornLine: boolean; checkpoint: boolean }> {
  const text = fs.readFileSync(path.join(runDir, 'run.json'), 'utf8');
  const record = JSON.parse(text) as RunRecord; // throws (fails the test) when it is not valid JSON
  assert.equal(record.pid, killedPid);
  assert.equal(record.status, 'crashed', 'the host recorded the death in run.json');
  assert.match(record.error ?? '', /killed by SIGKILL/);
  assert.match(record.error ?? '', /Completed epochs and the best model so far are kept/);
  assert.equal(readRun(runDir).effectiveStatus, 'crashed');

  const lines = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n');
  const last = lines.pop(); // '' when the file ends with a newline; a torn line otherwise
  const parsed = lines.map((line, i) => {
    try {
      return JSON.parse(line) as { epoch: number };
    } catch {
      return assert.fail(`metrics.jsonl line ${i + 1} of ${lines.length} is not JSON: ${line}`);
    }
  });
  assert.deepEqual(
    parsed.map((m) => m.epoch),
    parsed.map((_, i) => i + 1),
    'whole epochs, in order',
  );
  const tornLine = last !== '';
  assert.ok(record.epochsCompleted <= parsed.length, 'run.json never claims more epochs than are written');
  const checkpoint = readCheckpoint(runDir);
  if (checkpoint) {
    assert.ok(
      checkpoint.epoch === parsed.length || checkpoint.epoch === parsed.length - 1,
      `the checkpoint (epoch ${checkpoint.epoch}) is the last epoch written (${parsed.length}) or the one before`,
    );
  } else {
    assert.ok(parsed.length <= 1, 'no checkpoint only before the first one was written');
  }

  const modelJson = path.join(runDir, 'model', 'model.json');
  const model = fs.existsSync(modelJson);
  if ((record.bestEpoch ?? 0) >= 1)
    assert.ok(model, `run.json names best epoch ${record.bestEpoch}: its model exists`);
  if (model) {
    const loaded = await tfl.loadLayersModel(fileLoadHandler(modelJson));
    assert.deepEqual(loaded.outputs[0].shape, [null, 3]);
    loaded.dispose();
    const labels = JSON.parse(fs.readFileSync(path.join(runDir, 'model', 'labels.json'), 'utf8')) as string[];
    assert.equal(labels.length, 3);
  }
  return { epochs: parsed.length, model, tornLine, checkpoint: checkpoint !== undefined };
}

/** The bytes of the weights a model folder's model.json names, in manifest order. */
function modelWeightBytes(modelDir: string): Buffer {
  const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[] }[];
  };
  return Buffer.concat(
    json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(modelDir, p)))),
  );
}

function readSummary(runDir: string): RunSummary {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as RunSummary;
}

describe('crash safety of the trainer process', () => {
  before(async () => {
    assert.ok(fs.existsSync(trainerScript), 'run `npm run build` first (npm test does)');
    await initBackend('cpu');
    root = tempDir('crash');
    await saveNestedCnn(path.join(root, 'base'), 16, 3);
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
    experimentFile = writeExperiment(root, 'crash', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25 },
      head: { cutAt: 'flatten', hiddenUnits: [8] },
      training: { epochs: 12, batchSize: 4, backend: 'cpu', earlyStopping: false },
    });
  });

  it(
    `survives ${KILLS} SIGKILLs at random moments: whole epochs, loadable best model, valid run.json, crash noticed within ${DETECT_MS} ms`,
    { timeout: 120000 },
    async () => {
      // One uninterrupted run gives the length of a run, so the kill points cover all of it.
      const calibration = await launch();
      const began = Date.now();
      calibration.start({ experimentPath: experimentFile, runsDir: path.join(root, 'calibration') });
      const done = await calibration.finished;
      assert.ok(done.kind === 'done');
      // The first trainer of the test runs cold (file cache, compiled code): timed alone it can be
      // slower than every later run, whose kill points would then fall after their end. A second run
      // times the length; the shorter of the two counts.
      const first = Date.now() - began;
      const timing = await launch();
      const again = Date.now();
      timing.start({ experimentPath: experimentFile, runsDir: path.join(root, 'calibration-timing') });
      assert.equal((await timing.finished).kind, 'done');
      const runMs = Math.min(first, Date.now() - again);
      const uninterrupted = readRun(done.result.runDir).metrics.map(({ time_s: _t, ...m }) => m);
      let resumed = 0;

      const rng = createRng('kill-points');
      const report: { atMs: number; detectMs: number; epochs: number; model: boolean; torn: boolean }[] = [];
      let ranOut = 0;
      for (let k = 0; k < KILLS; k++) {
        const runsDir = path.join(root, `kill-${k}`);
        const trainer = await launch();
        const pid = trainer.pid!;
        const atMs = Math.round(300 + rng.next() * (runMs * 0.9 - 300));
        const events: TrainingEvent['type'][] = [];
        trainer.onEvent((e) => events.push(e.type));
        trainer.start({ experimentPath: experimentFile, runsDir });
        let killedAt = 0;
        const timer = setTimeout(() => {
          killedAt = Date.now();
          process.kill(pid, 'SIGKILL');
        }, atMs);
        const exit: TrainerExit = await trainer.finished;
        const detectMs = Date.now() - killedAt;
        clearTimeout(timer);
        if (exit.kind !== 'crashed') {
          // The run ended before its kill point (a loaded machine runs slower than the calibration): not a kill.
          ranOut++;
          continue;
        }
        assert.ok(killedAt > 0, 'the trainer died only because it was killed');
        assert.ok(detectMs <= DETECT_MS, `crash reported ${detectMs} ms after the kill`);
        assert.equal(exit.signal, 'SIGKILL');
        assert.match(exit.message, /killed by SIGKILL/);
        const runs = fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((f) => !f.startsWith('.')) : [];
        assert.ok(runs.length <= 1, 'at most the one run folder');
        if (runs.length === 0) {
          // Killed before the run folder existed (start-up, validation, decoding): nothing to lose.
          assert.equal(exit.runDir, undefined);
          report.push({ atMs, detectMs, epochs: 0, model: false, torn: false });
          continue;
        }
        const runDir = path.join(runsDir, runs[0]);
        assert.equal(exit.runDir, runDir, 'the host knew which run died');
        const found = await checkRunFolder(runDir, pid);
        report.push({ atMs, detectMs, epochs: found.epochs, model: found.model, torn: found.tornLine });
        if (found.checkpoint && resumed < RESUMES) {
          // Nothing was lost: the killed run, resumed, ends exactly as the uninterrupted one did.
          resumed++;
          const outcome = await runExperiment({
            experimentPath: '',
            runsDir,
            resume: runDir,
            onEvent: () => {},
          });
          assert.equal(outcome.status, 'completed');
          assert.deepEqual(
            readRun(runDir).metrics.map(({ time_s: _t, ...m }) => m),
            uninterrupted,
          );
          // …and so do run.json's best epoch, summary.json and the weights in model/.
          const calibrated: RunRecord = readRun(done.result.runDir).record!;
          assert.equal(readRun(runDir).record!.bestEpoch, calibrated.bestEpoch);
          assert.equal(readSummary(runDir).epoch, calibrated.bestEpoch);
          assert.ok(
            modelWeightBytes(path.join(runDir, 'model')).equals(
              modelWeightBytes(path.join(done.result.runDir, 'model')),
            ),
            "model/ holds the uninterrupted run's best weights",
          );
        }
      }
      const withFolder = report.filter((r) => r.epochs > 0 || r.model);
      console.log(
        `crash safety: ${report.length} kill points survived of ${KILLS} tried (${ranOut} runs ended before their kill point); ` +
          `run length ${runMs} ms; kills at ${report.map((r) => r.atMs).join(', ')} ms; ` +
          `${withFolder.length} with completed epochs (${report.map((r) => r.epochs).join(', ')}); ` +
          `crash noticed after ${Math.max(...report.map((r) => r.detectMs))} ms at most; torn last lines: ${report.filter((r) => r.torn).length}; ` +
          `${resumed} killed runs resumed to the uninterrupted run's metrics`,
      );
      assert.ok(
        report.length >= KILLS - 3,
        `most kill points landed in a run (${report.length} of ${KILLS})`,
      );
      assert.ok(withFolder.length >= KILLS / 2, 'most kills hit a run with finished epochs');
      assert.equal(resumed, RESUMES);
    },
  );

  it(
    "a kill during the checkpoint write after a new best epoch: the resumed run's run.json, summary.json and model/ name one epoch",
    { timeout: 120000 },
    async () => {
      // The folder a kill during epoch N's checkpoint write leaves: model/ and run.json at the new best
      // epoch N, metrics.jsonl with N lines, the checkpoint still epoch N-1's. It is rebuilt exactly from
      // an in-process run (events arrive synchronously, so each copy is what was on disk at that moment):
      // the folder after epoch N with the checkpoint folder as it was after epoch N-1.
      const runsDir = path.join(root, 'checkpoint-kill');
      const before = path.join(root, 'checkpoint-kill-epoch-before');
      const killed = path.join(runsDir, 'killed-in-checkpoint');
      let runDir = '';
      let snapshot: { epoch: number; bestEpoch: number } | undefined;
      let killedAt: number | undefined;
      const abort = new AbortController();
      await runExperiment({
        experimentPath: experimentFile,
        runsDir,
        signal: abort.signal,
        onEvent: (event) => {
          if (event.type === 'beforeFit') runDir = event.runDir;
          if (event.type !== 'afterEpoch' || killedAt !== undefined) return;
          if (snapshot && event.isBest) {
            killedAt = event.metrics.epoch;
            fs.cpSync(runDir, killed, { recursive: true });
            fs.rmSync(path.join(killed, 'checkpoint'), { recursive: true });
            fs.cpSync(path.join(before, 'checkpoint'), path.join(killed, 'checkpoint'), { recursive: true });
            abort.abort();
            return;
          }
          fs.rmSync(before, { recursive: true, force: true });
          for (const sub of ['checkpoint', 'model'])
            fs.cpSync(path.join(runDir, sub), path.join(before, sub), { recursive: true });
          snapshot = { epoch: event.metrics.epoch, bestEpoch: event.bestEpoch };
        },
      });
      assert.ok(killedAt !== undefined && snapshot, 'a new best epoch followed another epoch');
      // The trainer died: its lock stays behind with a dead pid (here: removed), the host marks it crashed.
      fs.rmSync(path.join(killed, RUN_LOCK_FILE));
      assert.ok(markRunCrashed(killed, 'killed by SIGKILL (test)'));
      assert.equal(readRun(killed).record!.bestEpoch, killedAt, 'before resuming, run.json names epoch N');
      assert.equal(readCheckpoint(killed)!.epoch, snapshot.epoch, 'the checkpoint is one epoch behind');

      // Resumed from epoch N-1 and stopped during epoch N again, before it can become the best once more.
      const stop = new AbortController();
      const outcome = await runExperiment({
        experimentPath: '',
        runsDir,
        resume: killed,
        signal: stop.signal,
        onEvent: (event) => {
          if (event.type === 'afterBatch') stop.abort();
        },
      });
      assert.equal(outcome.status, 'stopped');
      const record = readRun(killed).record!;
      assert.equal(record.epochsCompleted, snapshot.epoch);
      assert.equal(record.bestEpoch, snapshot.bestEpoch, "run.json names the checkpoint's best epoch");
      assert.equal(readSummary(killed).epoch, snapshot.bestEpoch, 'summary.json evaluates that epoch');
      assert.ok(
        modelWeightBytes(path.join(killed, 'model')).equals(modelWeightBytes(path.join(before, 'model'))),
        `model/ holds epoch ${snapshot.bestEpoch}'s weights, not epoch ${killedAt}'s`,
      );
      assert.ok(!fs.existsSync(path.join(killed, RUN_LOCK_FILE)), 'the stopped run gave its lock back');

      // Two windows cannot resume it at once: a live writer's lock refuses the second.
      const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      try {
        fs.writeFileSync(
          path.join(killed, RUN_LOCK_FILE),
          JSON.stringify({
            host: 'this',
            hostTag: HOST_TAG,
            pid: holder.pid,
            since: new Date().toISOString(),
          }),
        );
        assert.match(resumeProblem(killed) ?? '', /being written by another trainer \(process \d+/);
        await assert.rejects(
          runExperiment({ experimentPath: '', runsDir, resume: killed, onEvent: () => {} }),
          /being written by another trainer/,
        );
      } finally {
        holder.kill('SIGKILL');
        await new Promise((resolve) => holder.once('exit', resolve));
      }
      // Its holder gone, the lock is abandoned: Resume takes it over.
      assert.equal(resumeProblem(killed), undefined);
    },
  );

  it(
    'stop ends the trainer within 2 s of the current batch: status stopped, best model saved',
    { timeout: 60000 },
    async () => {
      const trainer = await launch();
      const batchEnds: number[] = [];
      let stopAt = 0;
      trainer.onEvent((e) => {
        if (e.type === 'afterBatch') {
          batchEnds.push(Date.now());
          // Mid-epoch 2: the stop arrives while a batch is being computed.
          if (e.epoch === 2 && e.batch === 3 && stopAt === 0) {
            stopAt = Date.now();
            void trainer.stop();
          }
        }
      });
      trainer.start({ experimentPath: experimentFile, runsDir: path.join(root, 'stop') });
      const exit = await trainer.finished;
      const exitedAt = Date.now();
      assert.ok(exit.kind === 'done', JSON.stringify(exit));
      assert.equal(exit.result.status, 'stopped');
      const gaps = batchEnds
        .slice(1)
        .map((t, i) => t - batchEnds[i])
        .sort((a, b) => a - b);
      const batchMs = gaps[Math.floor(gaps.length * 0.9)];
      const stopMs = exitedAt - stopAt;
      console.log(`stop: process ended ${stopMs} ms after the stop request; a batch takes ~${batchMs} ms`);
      assert.ok(stopMs <= batchMs + 2000, `ended ${stopMs} ms after the stop (batch ${batchMs} ms)`);
      const record = JSON.parse(
        fs.readFileSync(path.join(exit.result.runDir, 'run.json'), 'utf8'),
      ) as RunRecord;
      assert.equal(record.status, 'stopped');
      assert.equal(record.epochsCompleted, 1, 'the interrupted epoch is discarded');
      assert.equal(record.bestEpoch, 1);
      const model = await tfl.loadLayersModel(
        fileLoadHandler(path.join(exit.result.runDir, 'model', 'model.json')),
      );
      assert.deepEqual(model.outputs[0].shape, [null, 3]);
      model.dispose();
    },
  );
});
