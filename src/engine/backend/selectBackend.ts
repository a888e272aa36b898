/**
 * Picks and initialises the TensorFlow.js backend. Order for `auto` (README.md, "Backends"):
 * tensorflow-gpu → webgpu (a hardware adapter only) → tensorflow → wasm → cpu. The native bindings are
 * optional dependencies that usually fail to install offline, so each candidate is tried and the reason it
 * was skipped is kept for the log. `webgpu` is Dawn (npm `webgpu`): its adapters are probed once per
 * process (webgpu/probeInChild.ts) and chosen by webgpu/adapterChoice.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, BackendName } from '../../protocol/experimentConfig';
import { UserError, errorMessage } from '../../core/userError';
import { registerWasmTrainingKernels } from './wasmKernels/registerWasmKernels';
import { registerFusedOps } from './fusedOps/fusedLayerCall';
import { resolveNative } from '../../core/backend/nativePath';
import type { GpuAdapterRecord } from '../../protocol/gpuAdapter';
import { chooseAdapter } from './webgpu/adapterChoice';
import { noAdapterMessage } from './webgpu/noAdapterMessage';
import { probeInChild, type ProbeReport } from './webgpu/probeInChild';
import { vulkanEnvironment } from './webgpu/vulkanEnvironment';
import { initWebGpu, webgpuAdapter } from './webgpu/webgpuBackend';
import {
  clampThreads,
  defaultWasmThreads,
  registerWasmBackend,
  wasmThreading,
} from './wasmThreads/threadedWasm';

export const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/** tfjs registry name of each of our backend names. */
const TFJS_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow',
  webgpu: 'webgpu',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

export interface BackendSelection {
  backend: BackendName;
  /** Backends that could be loaded in this process, in preference order. */
  available: BackendName[];
  /** Why preferred backends were skipped. */
  notes: string[];
  /** Backend `webgpu`: the adapter it runs on. */
  adapter?: GpuAdapterRecord;
  /** Something the run log and run.json must say about the choice (a software adapter). */
  warning?: string;
  /** Backend `wasm`: the threads its kernels run on. */
  threads?: number;
}

export interface BackendOptions {
  /** Threads of the wasm backend; default: configureThreads' setting, else every core. */
  threads?: number;
}

/** Thread count the `wasm` backend is registered with (undefined: not registered by us yet). */
let wasmThreadsRegistered: number | undefined;
/** The process's thread setting (`--threads`, fineTune.trainerThreads), for calls that name none. */
let configuredThreads: number | undefined;

/**
 * Sets the wasm backend's thread count for every later initBackend that names none (undefined: every
 * core). A backend already running with another count is replaced at the next initBackend.
 */
export function configureThreads(threads: number | undefined): void {
  configuredThreads = threads === undefined ? undefined : clampThreads(threads);
}

let current: BackendName | undefined;

/** Folder holding the backend's .wasm binaries: next to the bundle in dist/, else in node_modules. */
function wasmDir(): string {
  const candidates = [path.join(__dirname, 'wasm'), path.join(__dirname, '..', 'wasm')];
  for (const dir of candidates) {
    try {
      fs.accessSync(path.join(dir, 'tfjs-backend-wasm.wasm'));
      return dir + path.sep;
    } catch {
      // try the next one
    }
  }
  // Unbundled (tests, ts sources): the package's own dist folder. A variable keeps the bundler from
  // trying to inline the .wasm path.
  const wasmPackage = '@tensorflow/tfjs-backend-wasm/package.json';
  return path.join(path.dirname(require.resolve(wasmPackage)), 'dist') + path.sep;
}

/**
 * Loads the module that registers a backend; throws with the reason when it cannot. `require`, not
 * `import`: the native packages are optional and must only be touched when chosen.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
function loadBackendModule(name: BackendName, options: BackendOptions): void {
  switch (name) {
    case 'tensorflow-gpu':
      // Optional dependency: resolved at run time only, never bundled.
      require(resolveNative('@tensorflow/tfjs-node-gpu'));
      return;
    case 'tensorflow':
      require(resolveNative('@tensorflow/tfjs-node'));
      return;
    case 'wasm': {
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(wasmDir());
      // Our registration (threadedWasm.ts) replaces the package's; a different thread count replaces
      // ours, disposing a backend made with the old one.
      const threads = clampThreads(options.threads ?? configuredThreads ?? defaultWasmThreads());
      if (wasmThreadsRegistered !== threads) {
        registerWasmBackend(threads, wasmDir());
        wasmThreadsRegistered = threads;
      }
      return;
    }
    case 'cpu':
      require('@tensorflow/tfjs-backend-cpu');
      return;
    case 'webgpu':
      // Initialised by tryWebGpu (an adapter has to be chosen first).
      return;
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** Backends whose packages are installed (native ones are optional dependencies). */
export function installedBackends(): BackendName[] {
  const packages: Record<BackendName, string> = {
    'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
    webgpu: 'webgpu',
    tensorflow: '@tensorflow/tfjs-node',
    wasm: '@tensorflow/tfjs-backend-wasm',
    cpu: '@tensorflow/tfjs-backend-cpu',
  };
  return AUTO_ORDER.filter((name) => {
    try {
      if (name === 'tensorflow-gpu' || name === 'tensorflow') resolveNative(packages[name]);
      else require.resolve(packages[name]);
      return true;
    } catch {
      return false;
    }
  });
}

let probe: Promise<ProbeReport> | undefined;

/** This machine's WebGPU adapters, probed once per process. */
export function probeWebGpu(): Promise<ProbeReport> {
  probe ??= probeInChild();
  return probe;
}

/**
 * webgpu on the adapter chooseAdapter picks: for `auto` a hardware one in core mode or nothing (a note
 * says why); for an explicit `webgpu` the best there is, or a UserError that says what to install.
 */
async function tryWebGpu(mode: 'auto' | 'explicit'): Promise<{ failure?: string; warning?: string }> {
  const report = await probeWebGpu();
  const choice = chooseAdapter(report.outcomes, mode);
  if (!choice.adapter) {
    if (mode === 'auto') return { failure: `webgpu: ${choice.reason}` };
    throw new UserError(
      noAdapterMessage({
        platform: process.platform,
        reason: choice.reason,
        dawnLog: report.dawnLog,
        ...(process.platform === 'linux' ? { vulkan: vulkanEnvironment() } : {}),
      }),
    );
  }
  try {
    await initWebGpu(choice.target);
  } catch (error) {
    const failure = `webgpu: failed to initialise on ${choice.adapter.device || choice.target.dawnBackend} (${errorMessage(error)})`;
    if (mode === 'auto') return { failure };
    throw new UserError(`Backend "webgpu" is not available: ${failure}.`);
  }
  registerFusedOps();
  return choice.warning ? { warning: choice.warning } : {};
}

async function tryBackend(name: BackendName, options: BackendOptions = {}): Promise<string | undefined> {
  try {
    loadBackendModule(name, options);
  } catch (error) {
    return `${name}: not installed (${errorMessage(error).split('\n')[0]})`;
  }
  try {
    const ok = await tf.setBackend(TFJS_NAME[name]);
    if (!ok) return `${name}: failed to initialise`;
    await tf.ready();
    // tfjs-backend-wasm lacks the weight/input gradients of convolutions; ours make them trainable there.
    if (name === 'wasm') registerWasmTrainingKernels();
    registerFusedOps();
    return undefined;
  } catch (error) {
    return `${name}: failed to initialise (${errorMessage(error)})`;
  }
}

/** Initialises the requested backend (or the best available for `auto`) and makes it current. */
export async function initBackend(
  choice: BackendChoice,
  options: BackendOptions = {},
): Promise<BackendSelection> {
  // PROD silences tfjs's console banner ("looks like you are running TensorFlow.js in Node.js") that
  // would otherwise land in the CLI's output and the trainer's stderr.
  tf.env().set('PROD', true);
  const notes: string[] = [];
  const candidates = choice === 'auto' ? AUTO_ORDER : [choice];
  for (const name of candidates) {
    if (name === 'webgpu') {
      const webgpu = await tryWebGpu(choice === 'auto' ? 'auto' : 'explicit');
      if (webgpu.failure === undefined) {
        current = name;
        return {
          backend: name,
          available: installedBackends(),
          notes,
          adapter: webgpuAdapter(),
          ...(webgpu.warning ? { warning: webgpu.warning } : {}),
        };
      }
      notes.push(webgpu.failure);
      continue;
    }
    const failure = await tryBackend(name, options);
    if (failure === undefined) {
      current = name;
      const threading = name === 'wasm' ? wasmThreading() : undefined;
      if (threading?.fallback) notes.push(`wasm: one thread: ${threading.fallback}`);
      return {
        backend: name,
        available: installedBackends(),
        notes,
        ...(threading ? { threads: threading.threads } : {}),
      };
    }
    notes.push(failure);
  }
  throw new UserError(
    `Backend "${choice}" is not available: ${notes.join('; ')}. Use "auto", "wasm" or "cpu" (always installed); the native "tensorflow"/"tensorflow-gpu" backends need @tensorflow/tfjs-node(-gpu) installed.`,
  );
}

/** Switches to the cpu backend (always present); used when a run needs a kernel the current one lacks. */
export async function switchToCpu(): Promise<void> {
  await tryBackend('cpu');
  current = 'cpu';
}

/** The GPU adapter of the current backend, when it is webgpu. */
export function currentAdapter(): GpuAdapterRecord | undefined {
  return current === 'webgpu' ? webgpuAdapter() : undefined;
}

export function currentBackend(): BackendName {
  if (current === undefined) throw new Error('No backend initialised: call initBackend first.');
  return current;
}

/** True when the current tfjs backend has a kernel registered under this name. */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
