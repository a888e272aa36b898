/**
 * A local sweep shares the cores out: on the CPU backends as many trials at once as the cores hold at the
 * given wasm threads each (one per core by default), and each trial's threads are the cores over the
 * trials at once unless given — so trials at once × threads stays within the cores.
 */
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { describe, it } from 'node:test';
import { defaultLocalParallel, localTrialThreads } from '../../src/engine/sweep/prepareSweep';

const cores = os.availableParallelism();
/** No native backend installed where this points. */
const noNative = { FINETUNE_NATIVE_PATH: os.tmpdir() };

describe('sweep threads', () => {
  it('runs one trial per core on wasm and cpu, cores / threads with --threads, one on a GPU backend', () => {
    assert.equal(defaultLocalParallel('wasm', noNative), cores);
    assert.equal(defaultLocalParallel('cpu', noNative), cores);
    assert.equal(defaultLocalParallel('wasm', noNative, 2), Math.max(1, Math.floor(cores / 2)));
    assert.equal(defaultLocalParallel('wasm', noNative, cores * 4), 1);
    assert.equal(defaultLocalParallel('webgpu', noNative), 1);
    assert.equal(defaultLocalParallel('tensorflow', noNative), 1);
  });

  it('gives each trial the cores over the trials at once, or the threads asked for', () => {
    assert.equal(localTrialThreads(1), cores);
    assert.equal(localTrialThreads(cores), 1);
    assert.equal(localTrialThreads(cores * 3), 1);
    assert.equal(localTrialThreads(2), Math.max(1, Math.floor(cores / 2)));
    assert.equal(localTrialThreads(1, 3), 3);
    for (let parallel = 1; parallel <= cores; parallel++)
      assert.ok(parallel * localTrialThreads(parallel) <= cores, `${parallel} trials at once`);
  });
});
