/**
 * The pieces Resume rests on: generator states that continue the exact sequence (without changing the
 * numbers drawn), an early-stopping tracker that continues where it was, optimizer states that continue
 * training bit for bit (the files on disk: checkpointFiles.test.ts).
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import type { OptimizerName } from '../../src/protocol/experimentConfig';
import { createRng, seedMathRandom } from '../../src/core/rng';
import {
  captureOptimizer,
  loadTensor,
  restoreOptimizer,
  saveTensor,
  type FitCheckpoint,
} from '../../src/engine/training/checkpoint';
import { readCheckpoint, writeCheckpoint } from '../../src/engine/training/checkpointFiles';
import { BestEpochTracker } from '../../src/engine/training/earlyStopping';
import { makeOptimizer } from '../../src/engine/training/optimizers';
import { tempDir } from '../helpers/fixtureModels';

const draws = (next: () => number, n: number): number[] => Array.from({ length: n }, next);

describe('generator states', () => {
  it('createRng and seedMathRandom draw the same numbers as before states were kept', () => {
    const plain = seedrandom.alea('train:5');
    assert.deepEqual(
      draws(createRng('train:5').next, 50),
      draws(() => plain.quick(), 50),
    );
    const restore = seedMathRandom('fit:5');
    try {
      const math = seedrandom.alea('math-random:fit:5');
      assert.deepEqual(
        draws(Math.random, 50),
        draws(() => math.quick(), 50),
      );
    } finally {
      restore();
    }
  });

  it('a saved state (through JSON) continues the very same sequence', () => {
    const rng = createRng('s');
    draws(rng.next, 37);
    const saved = JSON.parse(JSON.stringify(rng.state())) as ReturnType<typeof rng.state>;
    const continued = createRng('s', saved);
    assert.deepEqual(draws(continued.next, 100), draws(rng.next, 100));

    const original = Math.random;
    const first = seedMathRandom('m');
    draws(Math.random, 11);
    const state = JSON.parse(JSON.stringify(first.state())) as ReturnType<typeof first.state>;
    const expected = draws(Math.random, 40);
    first();
    assert.equal(Math.random, original, 'restored');
    const second = seedMathRandom('m', state);
    try {
      assert.deepEqual(draws(Math.random, 40), expected);
    } finally {
      second();
    }
  });
});

describe('early-stopping tracker state', () => {
  it('restored mid-run, it gives the verdicts the uninterrupted tracker gives', () => {
    const config = { monitor: 'val_loss' as const, patience: 2, minDelta: 0.01, restoreBestWeights: true };
    const values = [NaN, 1.0, 0.8, 0.805, 0.9, 0.7, 0.72, 0.71, 0.75];
    for (let cut = 0; cut <= values.length; cut++) {
      const whole = new BestEpochTracker(config);
      const verdicts = values.map((v, i) => whole.update(i + 1, v));
      const first = new BestEpochTracker(config);
      values.slice(0, cut).forEach((v, i) => first.update(i + 1, v));
      const resumed = new BestEpochTracker(config);
      resumed.restore(JSON.parse(JSON.stringify(first.state())));
      const rest = values.slice(cut).map((v, i) => resumed.update(cut + i + 1, v));
      assert.deepEqual(rest, verdicts.slice(cut), `cut after ${cut} epochs`);
    }
  });
});

/** A tiny regression with the given optimizer: steps on fixed data; returns the weights' values. */
function makeProblem(seed: number) {
  const x = tf.randomNormal([16, 5], 0, 1, 'float32', seed);
  const y = tf.randomNormal([16, 3], 0, 1, 'float32', seed + 1);
  const fresh = (): tf.Variable[] => [
    tf.variable(tf.randomNormal([5, 3], 0, 0.5, 'float32', seed + 2)),
    tf.variable(tf.zeros([3])),
  ];
  const step = (vars: tf.Variable[], optimizer: tf.Optimizer): void => {
    const { grads, value } = tf.variableGrads(
      () => tf.losses.meanSquaredError(y, tf.add(tf.matMul(x, vars[0]), vars[1])) as tf.Scalar,
      vars,
    );
    optimizer.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  };
  return { fresh, step };
}

describe('optimizer state through a checkpoint on disk', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of ['adam', 'sgd', 'rmsprop'] as OptimizerName[]) {
    for (const momentum of name === 'adam' ? [0] : [0, 0.9]) {
      it(`${name}${momentum ? ' with momentum' : ''}: after 50 steps, continuing after a restore matches continuing in place, bit for bit`, async () => {
        const dir = tempDir('ckpt');
        const { fresh, step } = makeProblem(3);
        const vars = fresh();
        const optimizer = makeOptimizer(name, 0.05, momentum);
        for (let i = 0; i < 50; i++) step(vars, optimizer);
        const checkpoint: FitCheckpoint = {
          epoch: 50,
          history: [],
          tracker: { bestScore: null, bestEpoch: 0, wait: 0 },
          rng: createRng('x').state(),
          extra: { note: 'kept' },
          weights: await Promise.all(vars.map((v) => saveTensor(v))),
          bestWeights: null,
          optimizers: [await captureOptimizer(optimizer)],
        };
        writeCheckpoint(dir, checkpoint);
        for (let i = 0; i < 9; i++) step(vars, optimizer);
        const inPlace = vars.map((v) => Array.from(v.dataSync()));

        const loaded = readCheckpoint(dir)!;
        assert.deepEqual(loaded.extra, { note: 'kept' });
        const again = fresh();
        loaded.weights.forEach((w, i) => again[i].assign(loadTensor(w)));
        const resumed = makeOptimizer(name, 0.05, momentum);
        await restoreOptimizer(resumed, loaded.optimizers[0]);
        for (let i = 0; i < 9; i++) step(again, resumed);
        assert.deepEqual(
          again.map((v) => Array.from(v.dataSync())),
          inPlace,
        );
        tf.dispose([...vars, ...again]);
        optimizer.dispose();
        resumed.dispose();
      });
    }
  }
});
