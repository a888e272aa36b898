/**
 * Sweeps on this machine, end to end with real trainers on the bundled sample: a grid run two trials at
 * a time (each an ordinary run with run.json `sweep` and its values in its config; the two overlap in
 * time), ASHA stopping a hopeless trial exactly at its rung (status stopped, end reason naming the rung,
 * model kept), a failed trial that does not stop the sweep, a cancel from another process, and a
 * controller killed twice — once alone (its trial goes on and is adopted), once with its trial's
 * trainer (the run continues from its checkpoint) — that resumes without re-running finished trials.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { isProcessAlive } from '../../src/core/runs/readRuns';
import { localTrialThreads } from '../../src/engine/sweep/prepareSweep';
import { fork } from 'node:child_process';
import {
  cliJs,
  killIfAlive,
  metricLines,
  onlySweepDir,
  readRunRecord,
  readState,
  runCli,
  spawnCli,
  tempWorkspace,
  waitFor,
  writeSweep,
} from '../helpers/sweepFixtures';

const workspaces: string[] = [];
/** Processes a failing test could leave behind (trainers are processes of their own). */
const leftovers: (number | undefined)[] = [];
after(() => {
  leftovers.forEach((pid) => killIfAlive(pid));
  workspaces.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }));
});
function workspace(prefix: string) {
  const ws = tempWorkspace(prefix);
  workspaces.push(ws.dir);
  return ws;
}

describe('local sweeps', { timeout: 600_000 }, () => {
  it('runs a grid two trials at a time; each trial is an ordinary run with its values and the sweep recorded', async () => {
    const ws = workspace('fts-sweep-local-');
    const file = writeSweep(ws.dir, 'dropout', {
      parameters: { 'head.dropout': { values: [0.1, 0.3, 0.5] }, 'training.epochs': { values: [3] } },
      parallel: 2,
    });
    const result = await runCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const sweepDir = onlySweepDir(ws.sweepsDir);
    const state = readState(sweepDir);
    assert.equal(state.status, 'completed');
    assert.equal(state.parallel, 2);
    assert.deepEqual(
      state.trials.map((t) => t.state),
      ['completed', 'completed', 'completed'],
    );
    const records = state.trials.map((t) => readRunRecord(t.runDir!));
    for (const [i, record] of records.entries()) {
      assert.deepEqual(record.sweep, {
        id: state.id,
        trial: i,
        params: state.trials[i].params,
        executor: 'local',
      });
      assert.equal(record.config.head.dropout, [0.1, 0.3, 0.5][i]);
      assert.equal(record.config.training.epochs, 3);
      assert.equal(record.status, 'completed');
      assert.equal(record.name, `dropout #${i}`);
      assert.equal(state.trials[i].score, record.best!.val_accuracy);
    }
    // Two trainers at once: trial 0 and trial 1 trained at the same time.
    const span = (r: (typeof records)[number]) => [Date.parse(r.startedAt), Date.parse(r.endedAt!)];
    const [a, b] = [span(records[0]), span(records[1])];
    assert.ok(a[0] < b[1] && b[0] < a[1], `trials 0 and 1 did not overlap: ${a} / ${b}`);
    // The best trial is the highest score; the summary names it.
    const scores = state.trials.map((t) => t.score!);
    assert.equal(state.best!.score, Math.max(...scores));
    assert.equal(state.best!.trial, scores.indexOf(Math.max(...scores)));
    assert.match(result.stdout, new RegExp(`best: trial ${state.best!.trial}, val_accuracy`));
    // The sweep folder: snapshot, one folder per trial with its experiment and log.
    assert.ok(fs.existsSync(path.join(sweepDir, 'sweep.json')));
    assert.ok(
      fs
        .readFileSync(path.join(sweepDir, 'trials', '1', 'experiment.json'), 'utf8')
        .includes('"dropout": 0.3'),
    );
    // Two trials at once share the cores: each trial's wasm backend runs on cores / 2 threads.
    for (const i of [0, 1, 2]) {
      const log = fs.readFileSync(path.join(sweepDir, 'trials', String(i), 'trial.log'), 'utf8');
      assert.match(log, new RegExp(`backend wasm: ${localTrialThreads(2)} thread\\(s\\)`));
    }
    // `finetune runs` shows each trial's sweep and trial number.
    const runs = await runCli(['runs', '--runs-dir', ws.runsDir], ws.dir);
    const header = runs.stdout.split('\n')[0];
    assert.match(header, /\bsweep\s+trial$/);
    for (const [i, t] of state.trials.entries())
      assert.match(runs.stdout, new RegExp(`${t.runId}\\s.*\\s${state.id}\\s+${i}\\n`));
    const json = JSON.parse((await runCli(['runs', '--runs-dir', ws.runsDir, '--json'], ws.dir)).stdout) as {
      id: string;
      sweep?: { trial: number };
    }[];
    assert.equal(json.find((r) => r.id === state.trials[2].runId)?.sweep?.trial, 2);
  });

  it('stops a hopeless trial at the ASHA rung, keeps its model, and counts a failed trial without stopping', async () => {
    const ws = workspace('fts-sweep-asha-');
    fs.mkdirSync(path.join(ws.dir, 'empty-dataset'));
    const file = writeSweep(ws.dir, 'asha', {
      parameters: {
        // Trial 1 can hardly learn in 3 epochs; trial 2's dataset folder is empty, so its trainer fails.
        'training.learningRate': { values: [0.005, 1e-7] },
        'training.epochs': { values: [3] },
      },
      parallel: 1,
      earlyTermination: { type: 'asha', minEpochs: 1, reductionFactor: 2 },
    });
    const failing = writeSweep(ws.dir, 'failing', {
      parameters: {
        'dataset.path': { values: ['data/target', path.join(ws.dir, 'empty-dataset')] },
        'training.epochs': { values: [1] },
      },
      parallel: 2,
    });
    const result = await runCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const state = readState(onlySweepDir(ws.sweepsDir));
    assert.deepEqual(state.asha?.rungs, [1, 2]);
    const [good, hopeless] = state.trials;
    assert.equal(good.state, 'completed');
    assert.deepEqual(good.rungsPassed, [1, 2]);
    assert.equal(hopeless.state, 'pruned');
    const record = readRunRecord(hopeless.runDir!);
    assert.equal(record.status, 'stopped');
    assert.match(
      record.endReason!,
      /^ASHA: stopped at rung 1 \(epoch 1 of 3\): val_accuracy [\d.]+ is below the rung's cutoff/,
    );
    // Stopped at the rung itself: the trial waited for the verdict instead of training on.
    assert.equal(metricLines(hopeless.runDir!), 1);
    assert.equal(record.epochsCompleted, 1);
    assert.ok(
      fs.existsSync(path.join(hopeless.runDir!, 'model', 'model.json')),
      'the stopped trial keeps its model',
    );
    assert.equal(metricLines(good.runDir!), 3);
    assert.deepEqual(
      state.asha!.recorded.map((r) => [r.rung, r.trial]),
      [
        [1, 0],
        [2, 0],
        [1, 1],
      ],
    );
    assert.match(result.stdout, /trial 1 stopped by ASHA after 1 epoch/);
    assert.equal(state.counts.pruned, 1);

    const failed = await runCli(['sweep', failing, '--runs-dir', ws.runsDir], ws.dir);
    assert.equal(failed.code, 0, 'a failed trial does not fail the sweep');
    const failedState = readState(
      path.join(
        ws.sweepsDir,
        fs.readdirSync(ws.sweepsDir).find((n) => n.endsWith('-failing'))!,
      ),
    );
    assert.equal(failedState.status, 'completed');
    assert.deepEqual(
      failedState.trials.map((t) => t.state),
      ['completed', 'failed'],
    );
    assert.match(
      failedState.trials[1].error!,
      /exited with code 2 without creating a run folder; its output ends with:\n.*empty-dataset/s,
    );
    assert.match(failed.stdout, /1 completed, 1 failed/);
    assert.match(failed.stdout, /trial 1 failed: the trainer exited with code 2/);
  });

  it('cancels from another process: running trials end stopped with their models, waiting ones never start', async () => {
    const ws = workspace('fts-sweep-cancel-');
    const file = writeSweep(ws.dir, 'cancel', {
      parameters: { 'head.dropout': { values: [0.1, 0.2, 0.3, 0.4] }, 'training.epochs': { values: [200] } },
      parallel: 2,
    });
    const controller = spawnCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    leftovers.push(controller.child.pid);
    try {
      const sweepDir = await waitFor(
        'the sweep folder',
        () => fs.existsSync(ws.sweepsDir) && onlySweepDir(ws.sweepsDir),
      );
      await waitFor('two trials training', () => {
        const state = readState(sweepDir);
        return state.trials.filter((t) => t.runDir && metricLines(t.runDir) >= 1).length === 2;
      });
      const cancel = await runCli(
        ['sweep', 'cancel', path.basename(sweepDir), '--runs-dir', ws.runsDir],
        ws.dir,
      );
      assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
      assert.match(cancel.stdout, /stopped: 4 trials — 4 stopped/);
      assert.equal(await controller.exited, 0, controller.output());
      const state = readState(sweepDir);
      assert.equal(state.status, 'stopped');
      for (const trial of state.trials.slice(0, 2)) {
        const record = readRunRecord(trial.runDir!);
        assert.equal(trial.state, 'stopped');
        assert.equal(record.status, 'stopped');
        assert.match(record.endReason!, /sweep cancelled with `finetune sweep cancel`/);
        assert.ok(fs.existsSync(path.join(trial.runDir!, 'model', 'model.json')));
      }
      for (const trial of state.trials.slice(2)) {
        assert.equal(trial.state, 'stopped');
        assert.equal(trial.runDir, undefined);
        assert.equal(trial.endReason, 'sweep cancelled before the trial started');
      }
      assert.equal(fs.readdirSync(ws.runsDir).length, 2, 'no run was started after the cancel');
    } finally {
      killIfAlive(controller.child.pid);
    }
  });

  it('stops its trials and is left interrupted when the process that started it goes away (window reload)', async () => {
    const ws = workspace('fts-sweep-parent-');
    const file = writeSweep(ws.dir, 'parent', {
      parameters: { 'head.dropout': { values: [0.1, 0.3, 0.5] }, 'training.epochs': { values: [300] } },
      parallel: 2,
    });
    // As VS Code starts it: a child process with an IPC channel.
    const child = fork(cliJs, ['sweep', file, '--runs-dir', ws.runsDir, '--json'], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    leftovers.push(child.pid);
    const sweepDir = await waitFor(
      'the sweep folder',
      () => fs.existsSync(ws.sweepsDir) && onlySweepDir(ws.sweepsDir),
    );
    await waitFor('two trials training', () =>
      readState(sweepDir).trials.filter((t) => t.runDir && metricLines(t.runDir) >= 1).length === 2
        ? true
        : undefined,
    );
    child.disconnect();
    // Waited for on disk and by pid: a disconnected child no longer holds this process's event loop open.
    await waitFor('the controller to stop its trials and exit', () =>
      readState(sweepDir).status !== 'running' && !isProcessAlive(child.pid!) ? true : undefined,
    );
    const state = readState(sweepDir);
    assert.equal(state.status, 'interrupted');
    for (const trial of state.trials.slice(0, 2)) {
      assert.equal(trial.state, 'stopped');
      assert.equal(readRunRecord(trial.runDir!).status, 'stopped');
    }
    assert.equal(state.trials[2].runDir, undefined);
    assert.equal(state.trials[2].endReason, 'sweep cancelled before the trial started');
  });

  it('resumes after its controller was killed, without re-running finished trials', async () => {
    const ws = workspace('fts-sweep-resume-');
    const file = writeSweep(ws.dir, 'resume', {
      parameters: { 'head.dropout': { values: [0.1, 0.3, 0.5] }, 'training.epochs': { values: [4] } },
      parallel: 1,
    });
    // 1. The controller dies while trial 0 trains; the trial is a process of its own and goes on.
    const first = spawnCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    const sweepDir = await waitFor(
      'the sweep folder',
      () => fs.existsSync(ws.sweepsDir) && onlySweepDir(ws.sweepsDir),
    );
    const trial0 = await waitFor('trial 0 training', () => {
      const t = readState(sweepDir).trials[0];
      return t.runDir && t.pid && metricLines(t.runDir) >= 1 ? t : undefined;
    });
    leftovers.push(first.child.pid, trial0.pid);
    first.child.kill('SIGKILL');
    await first.exited;
    // Held still until the next controller has taken it over, so it cannot finish in between.
    process.kill(trial0.pid!, 'SIGSTOP');
    assert.equal(
      (
        await runCli(['sweep', 'status', path.basename(sweepDir), '--runs-dir', ws.runsDir], ws.dir)
      ).stdout.match(/interrupted/)?.[0],
      'interrupted',
    );

    // 2. Resumed: trial 0 is adopted (same process, same run). Then the controller and trial 1's trainer die.
    const second = spawnCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    await waitFor('the second controller to resume', () => /Resuming sweep/.test(second.output()));
    process.kill(trial0.pid!, 'SIGCONT');
    const trial1 = await waitFor('trial 1 training, with a checkpoint', () => {
      const t = readState(sweepDir).trials[1];
      return t.runDir && t.pid && fs.existsSync(path.join(t.runDir, 'checkpoint', 'state.json'))
        ? t
        : undefined;
    });
    assert.match(
      second.output(),
      /Resuming sweep .*: 0 trial\(s\) already finished, 1 still running, 0 continue from their checkpoint, 2 start/,
    );
    second.child.kill('SIGKILL');
    killIfAlive(trial1.pid);
    await second.exited;
    await waitFor("trial 1's trainer to be gone", () => !isProcessAlive(trial1.pid!));
    const record0 = readRunRecord(trial0.runDir!);
    assert.equal(record0.status, 'completed');
    assert.equal(record0.pid, trial0.pid, 'trial 0 was adopted, not started again');
    assert.equal(record0.resumes, undefined);

    // 3. Resumed again: trial 0 stays finished, trial 1 continues from its checkpoint, trial 2 starts.
    const third = await runCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    assert.equal(third.code, 0, third.stdout + third.stderr);
    assert.match(
      third.stdout,
      /Resuming sweep .*: 1 trial\(s\) already finished, 0 still running, 1 continue from their checkpoint, 1 start/,
    );
    const state = readState(sweepDir);
    assert.equal(state.status, 'completed');
    assert.deepEqual(
      state.trials.map((t) => t.state),
      ['completed', 'completed', 'completed'],
    );
    assert.equal(state.trials[0].runDir, trial0.runDir);
    assert.equal(state.trials[1].runDir, trial1.runDir, 'trial 1 continued in its own run folder');
    const record1 = readRunRecord(trial1.runDir!);
    assert.equal(record1.resumes?.length, 1);
    assert.equal(record1.resumes![0].was, 'crashed');
    assert.equal(metricLines(trial1.runDir!), 4);
    assert.equal(readRunRecord(trial0.runDir!).endedAt, record0.endedAt, 'trial 0 was not touched');
    assert.equal(fs.readdirSync(ws.runsDir).filter((n) => !n.startsWith('.')).length, 3, 'one run per trial');
  });
});
