/**
 * The wasm backend on every core (src/engine/backend/wasmThreads/): tfjs-backend-wasm's multi-threaded
 * build started under Node by our own init, with our kernel pool on its heap. These fail when a new
 * tfjs-backend-wasm changes an internal the init relies on (the backend then falls back to one thread and
 * says why), when the pool's workers keep a finished process alive, or when the thread count changes a
 * training run's numbers.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { configureThreads, initBackend } from '../../src/engine/backend/selectBackend';
import { wasmThreading } from '../../src/engine/backend/wasmThreads/threadedWasm';
import { kernelPool } from '../../src/engine/backend/wasmThreads/kernelPool';
import { runExperiment } from '../../src/engine/runExperiment';
import type { EpochMetrics } from '../../src/protocol/runRecord';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { tempDir } from '../helpers/fixtureModels';
import { saveMobileNetStyle } from '../helpers/mobileNetFixture';

const listenerCount = (): number =>
  process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');

describe('threaded wasm backend', () => {
  it('starts the multi-threaded build with the threads asked for, and leaves no process handlers', async () => {
    const handlers = listenerCount();
    for (const threads of [2, 3, 1]) {
      const selection = await initBackend('wasm', { threads });
      assert.equal(selection.backend, 'wasm');
      assert.equal(wasmThreading()?.fallback, undefined, 'the threaded build started (no fallback)');
      assert.equal(selection.threads, threads);
      assert.equal(kernelPool()?.threads, threads);
      assert.equal(tf.getBackend(), 'wasm');
      // The kernels work on the new backend (a pool task runs: channels in fours, over 8192 values).
      const x = tf.randomUniform([2, 32, 32, 8], -8, 8, 'float32', 1);
      const y = tf.clipByValue(x, 0, 6);
      const [values, clipped] = [await x.data(), await y.data()];
      values.forEach((v, i) => assert.equal(clipped[i], Math.min(6, Math.max(0, v))));
      tf.dispose([x, y]);
    }
    assert.equal(
      listenerCount(),
      handlers,
      "Emscripten's uncaughtException/unhandledRejection handlers removed",
    );
    configureThreads(undefined);
  });

  it('does not keep a finished process alive (the pool workers are unref’d)', async () => {
    const selectBackend = path.join(__dirname, '..', '..', 'src', 'engine', 'backend', 'selectBackend.js');
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      require(${JSON.stringify(selectBackend)}).initBackend('wasm', { threads: 2 }).then(() => {
        const x = tf.ones([4, 32, 32, 8]);
        tf.conv2d(x, tf.ones([1, 1, 8, 8]), 1, 'same').dataSync();
        process.stdout.write('trained');
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Waits for the exit itself; the kill is only there so a regression fails instead of hanging CI.
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    assert.equal(signal, null, `the process had to be killed: it did not exit on its own (${err})`);
    assert.equal(code, 0, err);
    assert.equal(out, 'trained');
  });

  describe('training runs', () => {
    let root: string;
    before(async () => {
      root = tempDir('threads');
      await makeDataset(path.join(root, 'data'), 4, 10, 32, 7);
      await saveMobileNetStyle(path.join(root, 'base'), 32, 4);
    });

    async function train(threads: number, name: string): Promise<{ metrics: unknown[]; weights: Buffer }> {
      const file = writeExperiment(root, name, {
        baseModel: 'base/model.json',
        dataset: { path: 'data', imageSize: [32, 32], pixelRange: [-1, 1], validationSplit: 0.25, seed: 3 },
        head: { cutAt: 'global_pool', hiddenUnits: [], dropout: 0.2 },
        training: {
          epochs: 2,
          batchSize: 10,
          learningRate: 0.01,
          backend: 'wasm',
          seed: 5,
          earlyStopping: false,
        },
      });
      configureThreads(threads);
      try {
        const outcome = await runExperiment({
          experimentPath: file,
          runsDir: path.join(root, 'runs'),
          onEvent: () => {},
        });
        assert.equal(outcome.status, 'completed', outcome.error);
        assert.equal(kernelPool()?.threads, threads);
        const metrics = fs
          .readFileSync(path.join(outcome.runDir, 'metrics.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .map((line) => {
            const { time_s: _time, ...rest } = JSON.parse(line) as EpochMetrics;
            return rest;
          });
        const modelDir = path.join(outcome.runDir, 'model');
        const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as {
          weightsManifest: { paths: string[] }[];
        };
        const weights = Buffer.concat(
          manifest.weightsManifest
            .flatMap((group) => group.paths)
            .map((p) => fs.readFileSync(path.join(modelDir, p))),
        );
        return { metrics, weights };
      } finally {
        configureThreads(undefined);
      }
    }

    it('gives the same metrics and weights, to the bit, with 1, 2 and 3 threads and on a rerun', async () => {
      const one = await train(1, 'one');
      for (const [threads, name] of [
        [2, 'two'],
        [3, 'three'],
        [2, 'two-again'],
      ] as const) {
        const other = await train(threads, name);
        assert.deepEqual(other.metrics, one.metrics, `${name}: metrics`);
        assert.ok(other.weights.equals(one.weights), `${name}: the best model's weights`);
      }
    });
  });
});
