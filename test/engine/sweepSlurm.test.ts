/**
 * The Slurm executor against a real one-node Slurm cluster (slurm-wlm 22.05 + munge), which
 * scripts/slurm-setup.sh installs and starts (idempotent; CI runs it too): the sweep is one
 * `sbatch --array=…%parallel` job, trials run as its tasks into the shared runs folder and record their
 * `<job id>_<index>`, the throttle holds, `finetune sweep cancel` stops running tasks cleanly and cancels
 * pending ones, and an unknown partition or a missing sbatch is a clear message with no sweep left behind.
 * Without root (the cluster cannot start) the cluster tests are skipped with the reason — except on CI,
 * where that fails.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  killIfAlive,
  metricLines,
  onlySweepDir,
  readRunRecord,
  readState,
  repo,
  runCli,
  spawnCli,
  tempWorkspace,
  waitFor,
  writeSweep,
} from '../helpers/sweepFixtures';

const setup = spawnSync('bash', [path.join(repo, 'scripts', 'slurm-setup.sh')], { encoding: 'utf8' });
const clusterProblem =
  setup.status === 0
    ? undefined
    : `${setup.stdout}${setup.stderr}`.trim() || `slurm-setup.sh exited with ${setup.status}`;
if (clusterProblem && process.env.CI === 'true')
  throw new Error(`The Slurm tests need the one-node cluster, and it did not start: ${clusterProblem}`);
const skip = clusterProblem ? `the one-node Slurm cluster cannot start here: ${clusterProblem}` : false;

const trialCommand = `${process.execPath} ${path.join(repo, 'bin', 'finetune.js')}`;
const workspaces: string[] = [];
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

const squeue = (job: string): string =>
  execFileSync('squeue', ['-h', '-r', '-j', job, '-o', '%i|%T'], { encoding: 'utf8' }).trim();

describe('Slurm sweeps on a real one-node cluster', { skip, timeout: 600_000 }, () => {
  before(() => {
    assert.match(execFileSync('sinfo', ['-h', '-o', '%P %a'], { encoding: 'utf8' }), /debug\* up/);
  });

  it('submits one array job; trials run as its tasks, two at a time, and record their job ids', async () => {
    const ws = workspace('fts-sweep-slurm-');
    const file = writeSweep(ws.dir, 'slurm', {
      parameters: { 'head.dropout': { values: [0.1, 0.3, 0.5] }, 'training.epochs': { values: [2] } },
      parallel: 2,
      executor: {
        type: 'slurm',
        partition: 'debug',
        time: '00:10:00',
        cpusPerTask: 1,
        command: trialCommand,
      },
    });
    const result = await runCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const sweepDir = onlySweepDir(ws.sweepsDir);
    const state = readState(sweepDir);
    assert.equal(state.executor, 'slurm');
    assert.equal(state.status, 'completed');
    assert.equal(state.slurmJobs?.length, 1);
    const job = state.slurmJobs![0];
    assert.match(result.stdout, new RegExp(`on Slurm \\(array job ${job}\\), 2 at a time`));
    const script = fs.readFileSync(path.join(sweepDir, 'slurm', 'array-1.sbatch'), 'utf8');
    assert.match(script, /#SBATCH --partition=debug\n#SBATCH --time=00:10:00\n#SBATCH --cpus-per-task=1\n/);
    const records = state.trials.map((t) => readRunRecord(t.runDir!));
    for (const [i, trial] of state.trials.entries()) {
      assert.equal(trial.state, 'completed');
      assert.equal(trial.jobId, `${job}_${i}`);
      assert.deepEqual(records[i].sweep, {
        id: state.id,
        trial: i,
        params: trial.params,
        executor: 'slurm',
        jobId: `${job}_${i}`,
      });
      assert.equal(records[i].config.head.dropout, [0.1, 0.3, 0.5][i]);
      assert.ok(fs.existsSync(path.join(sweepDir, 'trials', String(i), `slurm-${job}_${i}.log`)));
    }
    // %2: the third task started only after one of the first two had ended.
    const firstEnd = Math.min(Date.parse(records[0].endedAt!), Date.parse(records[1].endedAt!));
    assert.ok(Date.parse(records[2].startedAt) >= firstEnd - 1000, 'the third trial waited for a free slot');
    assert.equal(squeue(job), '', 'nothing of the job is left in the queue');
  });

  it('cancels: running tasks stop cleanly with their models, the pending one never starts', async () => {
    const ws = workspace('fts-sweep-slurm-cancel-');
    const file = writeSweep(ws.dir, 'slurmcancel', {
      parameters: { 'head.dropout': { values: [0.1, 0.3, 0.5] }, 'training.epochs': { values: [500] } },
      parallel: 2,
      executor: { type: 'slurm', command: trialCommand },
    });
    const controller = spawnCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    leftovers.push(controller.child.pid);
    let job: string | undefined;
    try {
      const sweepDir = await waitFor(
        'the sweep folder',
        () => fs.existsSync(ws.sweepsDir) && onlySweepDir(ws.sweepsDir),
      );
      await waitFor('two tasks training', () => {
        const state = readState(sweepDir);
        job = state.slurmJobs?.[0];
        return state.trials.filter((t) => t.runDir && metricLines(t.runDir) >= 1).length === 2;
      });
      assert.match(squeue(job!), new RegExp(`${job}_2\\|PENDING`));
      const cancel = await runCli(
        ['sweep', 'cancel', path.basename(sweepDir), '--runs-dir', ws.runsDir],
        ws.dir,
      );
      assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
      assert.equal(await controller.exited, 0, controller.output());
      const state = readState(sweepDir);
      assert.equal(state.status, 'stopped');
      for (const trial of state.trials.slice(0, 2)) {
        const record = readRunRecord(trial.runDir!);
        assert.equal(record.status, 'stopped', JSON.stringify(record.endReason));
        assert.match(record.endReason!, /sweep cancelled with `finetune sweep cancel`/);
        assert.equal(record.sweep?.jobId, trial.jobId);
        assert.ok(fs.existsSync(path.join(trial.runDir!, 'model', 'model.json')));
      }
      assert.equal(state.trials[2].state, 'stopped');
      assert.equal(state.trials[2].runDir, undefined, 'the pending task never ran');
      await waitFor('the job to leave the queue', () => squeue(job!) === '', 60_000);
    } finally {
      if (job) spawnSync('scancel', [job]);
    }
  });

  it('refuses an unknown partition before anything is submitted, naming the ones there are', async () => {
    const ws = workspace('fts-sweep-slurm-partition-');
    const file = writeSweep(ws.dir, 'badpartition', {
      parameters: { 'head.dropout': { values: [0.1] } },
      executor: { type: 'slurm', partition: 'gpu-a100', command: trialCommand },
    });
    const result = await runCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /Slurm has no partition "gpu-a100" \(executor\.partition in the sweep file\)\. This cluster has: debug\./,
    );
    assert.equal(fs.existsSync(ws.sweepsDir) ? fs.readdirSync(ws.sweepsDir).length : 0, 0, 'no sweep folder');
  });
});

describe('Slurm executor without Slurm', () => {
  it('says sbatch is not on the PATH and leaves no sweep behind', async () => {
    const ws = workspace('fts-sweep-nosbatch-');
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-node-only-'));
    workspaces.push(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const file = writeSweep(ws.dir, 'nosbatch', {
      parameters: { 'head.dropout': { values: [0.1] } },
      executor: { type: 'slurm' },
    });
    const cli = spawnCli(['sweep', file, '--runs-dir', ws.runsDir], ws.dir, { ...process.env, PATH: bin });
    assert.equal(await cli.exited, 2);
    assert.match(
      cli.output(),
      /error: sbatch is not on the PATH: the slurm executor submits trials with Slurm's sbatch, squeue and scancel/,
    );
    assert.equal(fs.existsSync(ws.sweepsDir) ? fs.readdirSync(ws.sweepsDir).length : 0, 0);
    // --executor local runs the same file on this machine instead.
    const local = await runCli(['sweep', file, '--runs-dir', ws.runsDir, '--executor', 'local'], ws.dir);
    assert.equal(local.code, 0, local.stdout + local.stderr);
    assert.equal(readState(onlySweepDir(ws.sweepsDir)).executor, 'local');
  });
});
