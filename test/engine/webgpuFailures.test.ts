/**
 * The webgpu backend when things go wrong, for real: `auto` passes over a software adapter; a machine
 * without any adapter (simulated with the loaders' own variables: no EGL vendor library, a Vulkan ICD
 * path that does not exist) gets the message that says what to install; a GPU device destroyed in the
 * middle of a run ends it `failed` with the adapter and the cause, its last checkpoint kept and resumable
 * (and the resume completes on a new device); a buffer beyond the GPU's limit and a synchronous read
 * fail with their messages instead of giving garbage.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend/selectBackend';
import {
  SYNC_READ_MESSAGE,
  webgpuDevice,
  webgpuFailure,
} from '../../src/engine/backend/webgpu/webgpuBackend';
import { readRun } from '../../src/core/runs/readRuns';
import { resumeProblem } from '../../src/core/runs/resumable';
import { runExperiment } from '../../src/engine/runExperiment';
import { CHECKPOINT_DIR } from '../../src/engine/training/checkpoint';
import { adapterLabel } from '../../src/protocol/gpuAdapter';
import type { RunRecord } from '../../src/protocol/runRecord';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import { webgpuOutcomes, webgpuSkip, webgpuSoftwareOnly } from '../helpers/webgpuAvailable';

const execFileAsync = promisify(execFile);
const cli = path.resolve(__dirname, '../../../dist/cli.js');
let root: string;
let experiment: string;

describe('webgpu failures', { skip: webgpuSkip, timeout: 5 * 60_000 }, () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('webgpu-fail');
    await saveNestedCnn(path.join(root, 'base'), 16, 3);
    await makeDataset(path.join(root, 'data'), 3, 12, 16);
    experiment = writeExperiment(root, 'lost', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25, seed: 3 },
      freezeUpTo: 'backbone/block1',
      head: { cutAt: 'flatten', hiddenUnits: [8] },
      training: {
        epochs: 4,
        batchSize: 8,
        learningRate: 0.01,
        seed: 5,
        backend: 'webgpu',
        earlyStopping: false,
      },
    });
  });

  it('auto never takes a software adapter (and takes a hardware one where there is one)', async () => {
    const selection = await initBackend('auto');
    if (webgpuSoftwareOnly) {
      assert.notEqual(selection.backend, 'webgpu');
      assert.ok(
        selection.notes.some((n) => /^webgpu: only a software adapter \(.*\), which auto never uses/.test(n)),
        selection.notes.join('\n'),
      );
      assert.equal(selection.adapter, undefined);
    } else {
      const hardware = webgpuOutcomes.find(
        (o) => o.adapter && !o.adapter.software && o.adapter.featureLevel === 'core',
      );
      assert.equal(selection.backend, hardware ? 'webgpu' : selection.backend);
    }
    const explicit = await initBackend('webgpu');
    assert.equal(explicit.backend, 'webgpu');
    if (webgpuSoftwareOnly) assert.match(explicit.warning ?? '', /software adapter .*meant for testing/);
  });

  it('a machine without any adapter: `finetune train --backend webgpu` says what to install, and writes no run', async () => {
    const env = {
      ...process.env,
      // No EGL vendor library (no OpenGL ES adapter) and a Vulkan ICD that does not exist (no Vulkan one).
      __EGL_VENDOR_LIBRARY_DIRS: path.join(root, 'no-egl-vendors'),
      VK_DRIVER_FILES: path.join(root, 'none_icd.json'),
      VK_ICD_FILENAMES: path.join(root, 'none_icd.json'),
    };
    const runsDir = path.join(root, 'no-adapter-runs');
    const failure = await execFileAsync(process.execPath, [cli, 'train', experiment, '--runs-dir', runsDir], {
      env,
      cwd: root,
    }).then(
      () => assert.fail('the run should not start'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failure.code, 2, 'bad input: exit code 2');
    const message = failure.stderr;
    assert.match(message, /Backend "webgpu": no GPU adapter \(vulkan \(core\): no adapter; opengles/);
    if (process.platform === 'linux') {
      assert.match(message, /libvulkan1/);
      assert.match(message, /nvidia_icd\.json/);
      assert.match(message, /no Vulkan ICD file \(from VK_DRIVER_FILES=/);
      assert.match(message, /Dawn said: .*(vkCreateInstance|Found no drivers)/);
    }
    assert.doesNotMatch(message, /\n\s+at /, 'no stack trace');
    assert.equal(fs.existsSync(runsDir) && fs.readdirSync(runsDir).length > 0, false, 'no run folder');
  });

  it('a GPU device destroyed mid-run: the run ends failed with the adapter and the cause, keeps its checkpoint, and resumes', async () => {
    const runsDir = path.join(root, 'lost-runs');
    let destroyedAt: number | undefined;
    const outcome = await runExperiment({
      experimentPath: experiment,
      runsDir,
      onEvent: (e) => {
        // After epoch 2 is checkpointed (afterEpoch comes after the checkpoint), the GPU goes away.
        if (e.type === 'afterEpoch' && e.metrics.epoch === 2) {
          destroyedAt = e.metrics.epoch;
          webgpuDevice()!.destroy();
        }
      },
    });
    assert.equal(destroyedAt, 2);
    assert.equal(outcome.status, 'failed');
    const listing = readRun(outcome.runDir);
    const record = listing.record as RunRecord;
    assert.equal(record.status, 'failed');
    assert.ok(record.adapter);
    const error = record.error ?? '';
    assert.match(error, /^The GPU device was lost \(/);
    assert.ok(error.includes(adapterLabel(record.adapter)), `the adapter in: ${error}`);
    assert.match(error, /destroyed/, 'the cause');
    assert.match(error, /The checkpoint of epoch 2 is kept: Resume Run .*finetune train --resume/);
    assert.equal(listing.metrics.length, 2, 'the completed epochs are kept');
    assert.ok(fs.existsSync(path.join(outcome.runDir, CHECKPOINT_DIR, 'state.json')));
    assert.ok(fs.existsSync(path.join(outcome.runDir, 'model', 'model.json')), 'the best model so far');
    assert.equal(resumeProblem(outcome.runDir), undefined, 'Resume is offered');

    const resumed = await runExperiment({
      experimentPath: 'ignored when resuming',
      runsDir,
      resume: outcome.runDir,
      onEvent: () => {},
    });
    assert.equal(resumed.status, 'completed', resumed.error);
    const after = readRun(outcome.runDir);
    assert.equal(after.metrics.length, 4);
    assert.deepEqual(
      after.record?.resumes?.map((r) => ({ afterEpoch: r.afterEpoch, was: r.was })),
      [{ afterEpoch: 2, was: 'failed' }],
    );
  });

  it('a tensor beyond the GPU buffer limit fails its read with the batch-size advice; a synchronous read says what to use', async () => {
    await initBackend('webgpu');
    const limit = webgpuDevice()!.limits.maxBufferSize;
    const tooBig = tf.zeros([Math.floor(limit / 4) + 1024]);
    const sum = tf.sum(tooBig);
    await assert.rejects(sum.data(), (error: Error) => {
      assert.match(error.message, /^A tensor is larger than this GPU allows \(.*\): .*exceeds/);
      assert.match(error.message, /Lower training\.batchSize or dataset\.imageSize/);
      return true;
    });
    assert.equal(webgpuFailure()?.kind, 'too-large');
    tf.dispose([tooBig, sum]);
    // The next run starts on a new, healthy device: the failure belonged to the last one.
    const failed = webgpuDevice();
    await initBackend('webgpu');
    assert.notEqual(webgpuDevice(), failed);
    assert.equal(webgpuFailure(), undefined);
    // Large enough to be computed on the GPU (tfjs keeps small results of CPU-held inputs on the CPU).
    const onGpu = tf.tidy(() => tf.add(tf.ones([4096]), 1));
    assert.throws(
      () => onGpu.dataSync(),
      (error: Error) => error.message === SYNC_READ_MESSAGE,
    );
    assert.ok(
      (await onGpu.data()).every((v) => v === 2),
      'await data() works',
    );
    const onCpu = tf.tensor1d([1, 2, 3]);
    assert.deepEqual(Array.from(onCpu.dataSync()), [1, 2, 3], 'values still on the CPU read synchronously');
    tf.dispose([onGpu, onCpu]);
  });
});
