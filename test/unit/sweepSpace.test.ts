/**
 * The pure parts of sweeps: grid expansion (order, size, integer ranges), seeded random sampling
 * (reproducible, every distribution inside its range, log-uniform spread evenly in log space), ASHA on
 * scripted metric curves (rungs, who stops, ties, minimize, records kept for a resume), the sweep's best
 * trial, and the Slurm text (array specification, batch script, squeue parsing).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Asha, ashaRungs, ashaStopReason, quantile } from '../../src/core/sweep/asha';
import { drawParameter, gridSize, gridTrials, randomTrials } from '../../src/core/sweep/sampleTrials';
import {
  arraySpec,
  batchScript,
  parseSqueue,
  sbatchArgs,
  shellQuote,
} from '../../src/core/sweep/slurmScript';
import { bestTrial, metricHistory } from '../../src/core/sweep/trialOutcome';
import { createRng } from '../../src/core/rng';
import type { RunListing } from '../../src/core/runs/readRuns';
import type { SweepParameter, TrialRecord } from '../../src/protocol/sweepConfig';

describe('grid', () => {
  const parameters: Record<string, SweepParameter> = {
    'head.dropout': { values: [0.1, 0.3, 0.5] },
    freezeUpTo: { values: ['features/pool1', 'features/pool2'] },
    'training.epochs': { min: 2, max: 3, distribution: 'int_uniform' },
  };

  it('is every combination, the first parameter varying slowest', () => {
    const trials = gridTrials(parameters);
    assert.equal(trials.length, 12);
    assert.deepEqual(gridSize(parameters), { size: 12, factors: [3, 2, 2] });
    assert.deepEqual(trials[0], { 'head.dropout': 0.1, freezeUpTo: 'features/pool1', 'training.epochs': 2 });
    assert.deepEqual(trials[1], { 'head.dropout': 0.1, freezeUpTo: 'features/pool1', 'training.epochs': 3 });
    assert.deepEqual(trials[2], { 'head.dropout': 0.1, freezeUpTo: 'features/pool2', 'training.epochs': 2 });
    assert.deepEqual(trials[11], { 'head.dropout': 0.5, freezeUpTo: 'features/pool2', 'training.epochs': 3 });
    assert.equal(new Set(trials.map((t) => JSON.stringify(t))).size, 12, 'no combination twice');
  });

  it('has no finite size with a continuous range, and refuses to expand it', () => {
    const continuous = { 'training.learningRate': { min: 0.001, max: 0.1 } };
    assert.equal(gridSize(continuous).size, Infinity);
    assert.throws(() => gridTrials(continuous), /continuous range/);
  });

  it('copies list and object values, so trials never share one', () => {
    const trials = gridTrials({ 'head.hiddenUnits': { values: [[64], [128, 64]] } });
    (trials[0]['head.hiddenUnits'] as number[]).push(1);
    assert.deepEqual(
      gridTrials({ 'head.hiddenUnits': { values: [[64], [128, 64]] } })[0]['head.hiddenUnits'],
      [64],
    );
  });
});

describe('random sampling', () => {
  const parameters: Record<string, SweepParameter> = {
    'training.learningRate': { min: 1e-5, max: 1e-1, distribution: 'log_uniform' },
    'head.dropout': { min: 0, max: 0.6 },
    'training.batchSize': { min: 8, max: 12, distribution: 'int_uniform' },
    'head.hiddenUnits': { values: [[32], [64], [128]] },
  };

  it('is reproducible from the seed, and trial k does not depend on how many follow', () => {
    assert.deepEqual(randomTrials(parameters, 20, 7), randomTrials(parameters, 20, 7));
    assert.deepEqual(randomTrials(parameters, 5, 7), randomTrials(parameters, 20, 7).slice(0, 5));
    assert.notDeepEqual(randomTrials(parameters, 5, 7), randomTrials(parameters, 5, 8));
  });

  it('keeps every draw inside its range, integers whole, values from the list', () => {
    const trials = randomTrials(parameters, 2000, 3);
    for (const t of trials) {
      const lr = t['training.learningRate'] as number;
      const dropout = t['head.dropout'] as number;
      const batch = t['training.batchSize'] as number;
      assert.ok(lr >= 1e-5 && lr <= 1e-1, `lr ${lr}`);
      assert.ok(dropout >= 0 && dropout <= 0.6, `dropout ${dropout}`);
      assert.ok(Number.isInteger(batch) && batch >= 8 && batch <= 12, `batch ${batch}`);
      assert.ok([32, 64, 128].includes((t['head.hiddenUnits'] as number[])[0]));
    }
    const batches = new Set(trials.map((t) => t['training.batchSize']));
    assert.deepEqual([...batches].sort(), [10, 11, 12, 8, 9], 'both ends of an int range are drawn');
  });

  it('spreads log_uniform evenly over the decades (each of the 4 gets about a quarter)', () => {
    const lrs = randomTrials(parameters, 4000, 11).map((t) => t['training.learningRate'] as number);
    const perDecade = [0, 0, 0, 0];
    for (const lr of lrs) perDecade[Math.min(3, Math.floor(Math.log10(lr) + 5))] += 1;
    for (const count of perDecade) assert.ok(count > 850 && count < 1150, `decade counts ${perDecade}`);
    // Uniform draws over the same range would put ~90% in the top decade.
    const uniform = randomTrials({ x: { min: 1e-5, max: 1e-1 } }, 4000, 11).map((t) => t.x as number);
    assert.ok(uniform.filter((v) => v >= 1e-2).length > 3500);
  });

  it('stays inside a log range even at the generator extremes', () => {
    const edge = { next: () => 1 - Number.EPSILON, uniform: () => 0, int: () => 0 };
    const p: SweepParameter = { min: 0.1, max: 0.3, distribution: 'log_uniform' };
    assert.ok((drawParameter(p, edge) as number) <= 0.3);
    const low = drawParameter(p, { ...edge, next: () => 0 }) as number;
    assert.ok(low >= 0.1 && low < 0.1 + 1e-12, `${low}`);
    assert.ok(typeof drawParameter(p, createRng(1)) === 'number');
  });
});

describe('ASHA', () => {
  it('puts rungs at minEpochs·η^k below the epoch budget', () => {
    assert.deepEqual(ashaRungs({ minEpochs: 1, reductionFactor: 3 }, 27), [1, 3, 9]);
    assert.deepEqual(ashaRungs({ minEpochs: 2, reductionFactor: 3 }, 15), [2, 6]);
    assert.deepEqual(ashaRungs({ minEpochs: 5, reductionFactor: 2 }, 5), []);
  });

  it('computes quantiles as numpy does', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([3, 1, 2], 1), 3);
    assert.ok(Math.abs(quantile([0.7], 2 / 3) - 0.7) < 1e-12);
  });

  it('stops, on scripted curves, the trials below the best 1/η of those that reached the rung before', () => {
    const asha = new Asha({ reductionFactor: 2 }, 'maximize', [1, 2]);
    // Trial 0 arrives first: nothing to compare with at either rung.
    assert.deepEqual(
      asha.observe(0, [0.5, 0.6, 0.7]).map((d) => d.stop),
      [false, false],
    );
    // Trial 1 is better at rung 1 and worse at rung 2: one decision per rung, it stops at rung 2.
    const t1 = asha.observe(1, [0.55, 0.58]);
    assert.deepEqual(
      t1.map((d) => [d.rung, d.stop]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.equal(t1[1].cutoff, 0.6);
    // Trial 2 is worse at rung 1 than the median of [0.5, 0.55]: stopped there, rung 2 never judged.
    const t2 = asha.observe(2, [0.51]);
    assert.equal(t2.length, 1);
    assert.equal(t2[0].stop, true);
    assert.ok(Math.abs(t2[0].cutoff! - 0.525) < 1e-12);
    // A tie with the cutoff goes on; a trial already judged at a rung is not judged again.
    assert.deepEqual(
      asha.observe(3, [0.55]).map((d) => d.stop),
      [false],
    );
    assert.deepEqual(asha.observe(3, [0.55]), []);
    // Best-so-far counts, not the last epoch: a dip at the rung does not stop a trial that was good before.
    const dip = new Asha({ reductionFactor: 2 }, 'maximize', [2], [{ rung: 2, trial: 9, value: 0.8 }]);
    assert.equal(dip.observe(1, [0.9, 0.4])[0].stop, false);
  });

  it('minimizes losses, and a resumed ASHA decides from the records it is given', () => {
    const asha = new Asha({ reductionFactor: 3 }, 'minimize', [2]);
    asha.observe(0, [1.0, 0.5]);
    asha.observe(1, [1.0, 0.4]);
    const resumed = new Asha({ reductionFactor: 3 }, 'minimize', [2], asha.recorded);
    const decision = resumed.observe(2, [0.9, 0.6])[0];
    assert.equal(decision.stop, true); // 0.6 > the best third of [0.5, 0.4]
    assert.equal(resumed.observe(3, [0.3, 0.3])[0].stop, false);
    const reason = ashaStopReason(decision, 'val_loss', 'minimize', 3, 15);
    assert.match(
      reason,
      /^ASHA: stopped at rung 1 \(epoch 2 of 15\): val_loss 0\.6 is above the rung's cutoff/,
    );
  });
});

describe('scores and the best trial', () => {
  const listing = (metrics: object[], best?: object): RunListing =>
    ({ metrics, record: best ? { best } : undefined }) as unknown as RunListing;

  it('reads the metric per epoch in epoch order and stops at a gap', () => {
    const run = listing([
      { epoch: 2, val_accuracy: 0.6 },
      { epoch: 1, val_accuracy: 0.5 },
      { epoch: 4, val_accuracy: 0.9 },
    ]);
    assert.deepEqual(metricHistory(run, { name: 'val_accuracy', goal: 'maximize' }), [0.5, 0.6]);
  });

  it('picks the best score by the goal; ties go to the earlier trial; unscored trials never win', () => {
    const trials = [
      { trial: 0, params: { a: 1 }, state: 'completed', score: 0.8 },
      { trial: 1, params: { a: 2 }, state: 'pruned', score: 0.9, runId: 'r1' },
      { trial: 2, params: { a: 3 }, state: 'completed', score: 0.9 },
      { trial: 3, params: { a: 4 }, state: 'failed' },
    ] as TrialRecord[];
    assert.deepEqual(bestTrial(trials, { name: 'val_accuracy', goal: 'maximize' }), {
      trial: 1,
      score: 0.9,
      params: { a: 2 },
      runId: 'r1',
    });
    assert.equal(bestTrial(trials, { name: 'val_loss', goal: 'minimize' })?.trial, 0);
    assert.equal(bestTrial([trials[3]], { name: 'val_loss', goal: 'minimize' }), undefined);
  });
});

describe('Slurm text', () => {
  it('writes array specifications with ranges and the %parallel throttle', () => {
    assert.equal(arraySpec([0, 1, 2, 3, 4, 5, 6, 7], 2), '0-7%2');
    assert.equal(arraySpec([7, 1, 3, 4, 5], 8), '1,3-5,7');
    assert.equal(arraySpec([3], 1), '3');
    assert.deepEqual(sbatchArgs({ type: 'slurm', sbatchArgs: ['--mem=2G'] }, [0, 1, 2], 2, '/s.sbatch'), [
      '--parsable',
      '--array=0-2%2',
      '--mem=2G',
      '/s.sbatch',
    ]);
  });

  it('puts the file settings in #SBATCH lines and quotes paths for bash', () => {
    const script = batchScript({
      sweepId: 's1',
      sweepDir: "/shared/it's here/sweeps/s1",
      runsDir: '/shared/runs',
      executor: {
        type: 'slurm',
        partition: 'gpu',
        time: '01:00:00',
        cpusPerTask: 4,
        gpus: 'a100:1',
        command: 'npx finetune',
      },
      trainArgs: ['--backend', 'tensorflow-gpu'],
    });
    assert.match(script, /^#!\/bin\/bash\n/);
    for (const line of [
      '#SBATCH --partition=gpu',
      '#SBATCH --time=01:00:00',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --gpus=a100:1',
    ])
      assert.ok(script.includes(line), line);
    assert.ok(script.includes(`SWEEP_DIR='/shared/it'\\''s here/sweeps/s1'`));
    assert.match(
      script,
      /#SBATCH --output='\/shared\/it'\\''s here\/sweeps\/s1\/trials\/%a\/slurm-%A_%a\.log'/,
    );
    assert.match(
      script,
      /exec npx finetune train "\$TRIAL_DIR\/experiment\.json" --runs-dir "\$RUNS_DIR" --sweep-trial "\$TRIAL_DIR\/trial\.json" --backend tensorflow-gpu\n/,
    );
    assert.match(script, /command -v npx/);
    assert.equal(shellQuote('plain/path-1.json'), 'plain/path-1.json');
    assert.equal(shellQuote('a b'), "'a b'");
  });

  it('parses squeue task lines; what is not listed has ended', () => {
    const tasks = parseSqueue(
      '12_0|RUNNING|None\n12_1|PENDING|JobArrayTaskLimit\n12_2|COMPLETING|None\n\n13|CANCELLED|x\n',
    );
    assert.deepEqual(tasks.get('12_0')?.state, 'running');
    assert.deepEqual(tasks.get('12_1'), {
      state: 'waiting',
      slurmState: 'PENDING',
      reason: 'JobArrayTaskLimit',
    });
    assert.equal(tasks.get('12_2')?.state, 'running');
    assert.equal(tasks.get('13')?.state, 'ended');
    assert.equal(tasks.get('12_3'), undefined);
  });
});
