/**
 * The trainer finds native backends installed outside its node_modules through FINETUNE_NATIVE_PATH (the
 * extension's global storage, or fineTune.nativeBackendPath). Fake @tensorflow/tfjs-node[-gpu] packages
 * in temp folders stand in for the real ones: one that fails to load the way a missing CUDA library makes
 * tfjs-node-gpu fail, and one that registers a working "tensorflow" backend.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { initBackend, installedBackends } from '../../src/engine/backend/selectBackend';
import { NATIVE_PATH_ENV, resolveNative } from '../../src/core/backend/nativePath';
import { UserError } from '../../src/core/userError';

function fakePackage(name: string, source: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-native-'));
  const dir = path.join(folder, 'node_modules', ...name.split('/'));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '4.22.0', main: 'index.js' }),
  );
  fs.writeFileSync(path.join(dir, 'index.js'), source);
  return folder;
}

const saved = process.env[NATIVE_PATH_ENV];
after(() => {
  if (saved === undefined) delete process.env[NATIVE_PATH_ENV];
  else process.env[NATIVE_PATH_ENV] = saved;
});

describe('native backends from FINETUNE_NATIVE_PATH', () => {
  // The GPU package loads its native library at require time; without CUDA 11 that throws.
  const gpuFolder = fakePackage(
    '@tensorflow/tfjs-node-gpu',
    `globalThis.__fakeGpuTried = __filename;
     throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory');`,
  );
  // A working "tensorflow" backend: registers tfjs-core's cpu backend under that name, as tfjs-node
  // registers its own. The same tfjs-core module (absolute path) as the engine, as the real one shares it.
  const cpuFolder = fakePackage(
    '@tensorflow/tfjs-node',
    `const tf = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))});
     const { MathBackendCPU } = require(${JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'))});
     globalThis.__fakeNodeLoaded = __filename;
     tf.registerBackend('tensorflow', () => new MathBackendCPU());`,
  );

  it('resolves a package from the listed folders first, in order', () => {
    const env = { [NATIVE_PATH_ENV]: [gpuFolder, cpuFolder].join(path.delimiter) };
    assert.equal(
      resolveNative('@tensorflow/tfjs-node', env),
      path.join(fs.realpathSync(cpuFolder), 'node_modules/@tensorflow/tfjs-node/index.js'),
    );
    assert.throws(
      () => resolveNative('@tensorflow/tfjs-node', { [NATIVE_PATH_ENV]: gpuFolder }),
      new RegExp(`neither in ${NATIVE_PATH_ENV}=.*fts-native-.* nor in node_modules`),
    );
  });

  it('tries the GPU package found there, and reports why it did not load', async () => {
    process.env[NATIVE_PATH_ENV] = gpuFolder;
    await assert.rejects(initBackend('tensorflow-gpu'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /tensorflow-gpu: .*libcudart\.so\.11\.0: cannot open shared object file/);
      return true;
    });
    assert.match(String((globalThis as Record<string, unknown>).__fakeGpuTried), /fts-native-/);
  });

  it('auto skips the broken GPU package and uses the working native one from the path', async () => {
    process.env[NATIVE_PATH_ENV] = [gpuFolder, cpuFolder].join(path.delimiter);
    assert.deepEqual(
      installedBackends()
        .filter((b) => b !== 'webgpu')
        .slice(0, 2),
      ['tensorflow-gpu', 'tensorflow'],
    );
    const selection = await initBackend('auto');
    assert.equal(selection.backend, 'tensorflow');
    assert.match(selection.notes[0], /^tensorflow-gpu: .*libcudart\.so\.11\.0/);
    assert.match(String((globalThis as Record<string, unknown>).__fakeNodeLoaded), /fts-native-/);
  });

  it('without the variable the native packages are looked for in node_modules only', () => {
    delete process.env[NATIVE_PATH_ENV];
    let inRepo = true;
    try {
      require.resolve('@tensorflow/tfjs-node-gpu');
    } catch {
      inRepo = false; // the usual case: the optional dependency did not install (offline)
    }
    assert.equal(installedBackends().includes('tensorflow-gpu'), inRepo);
  });
});
