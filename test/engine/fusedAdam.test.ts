/**
 * The fused Adam step (src/engine/training/fusedAdam.ts, fusedOps/adamStep.ts) against tfjs' own
 * AdamOptimizer: the same variables, moments and iteration count after several steps, to the bit, on the
 * wasm backend (the kernel pool's SIMD loop, on the main thread alone and shared with a worker) and on
 * cpu (the float32 loop); the optimizer's weights (checkpoints) look the same.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { FusedAdamOptimizer } from '../../src/engine/training/fusedAdam';
import { ADAM_STEP } from '../../src/engine/backend/fusedOps/adamStep';
import { createRng } from '../../src/core/rng';
import { randomValues } from '../helpers/numericCompare';
import { kernelPool } from '../../src/engine/backend/wasmThreads/kernelPool';

/** Shapes with SIMD remainders, a scalar-sized one and one shared out over several items. */
const SHAPES = [[3], [7, 5], [4, 4, 3, 8], [64, 700]];

async function train(optimizer: tf.Optimizer, tag: string, kernels: string[] = []): Promise<Float32Array[]> {
  const rng = createRng('adam');
  const variables = SHAPES.map((shape, i) =>
    tf.variable(tf.tensor(randomValues(shape, rng), shape), true, `${tag}_${i}`),
  );
  for (let step = 0; step < 4; step++) {
    const grads: tf.NamedTensorMap = {};
    variables.forEach((v, i) => (grads[v.name] = tf.tensor(randomValues(SHAPES[i], rng, -3, 3), SHAPES[i])));
    const profile = await tf.profile(() => optimizer.applyGradients(grads));
    kernels.push(...profile.kernels.map((k) => k.name));
    tf.dispose(Object.values(grads));
  }
  const weights = await optimizer.getWeights();
  const out = [
    ...(await Promise.all(variables.map(async (v) => (await v.data()) as Float32Array))),
    ...(await Promise.all(weights.map(async (w) => (await w.tensor.data()) as Float32Array))),
  ];
  assert.deepEqual(
    weights.slice(1).map((w) => w.name),
    variables.flatMap((v) => [`${v.name}/m`]).concat(variables.map((v) => `${v.name}/v`)),
  );
  tf.dispose(variables);
  optimizer.dispose();
  return out;
}

describe('fused Adam', () => {
  const cases = [
    { backend: 'wasm', threads: 1 },
    { backend: 'wasm', threads: 2 },
    { backend: 'cpu', threads: undefined },
  ] as const;
  for (const { backend, threads } of cases) {
    const label = threads ? `${backend}, ${threads} thread(s)` : backend;
    it(`gives tfjs Adam's variables, moments and step count to the bit (${label})`, async () => {
      await initBackend(backend, threads ? { threads } : {});
      if (threads) assert.equal(kernelPool()?.threads, threads, 'the SIMD loop runs on the kernel pool');
      const tag = `${backend}${threads ?? ''}`;
      const kernels: string[] = [];
      const ours = await train(new FusedAdamOptimizer(0.01), `${tag}_ours`, kernels);
      assert.equal(kernels.filter((k) => k === ADAM_STEP).length, 4 * SHAPES.length, 'one fused step each');
      assert.ok(!kernels.includes('Sqrt'), `no composed Adam: ${[...new Set(kernels)].join(', ')}`);
      const theirs = await train(tf.train.adam(0.01), `${tag}_tfjs`);
      assert.equal(ours.length, theirs.length);
      ours.forEach((values, i) => assert.deepEqual(values, theirs[i], `tensor ${i}`));
    });
  }
});
