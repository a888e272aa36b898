/**
 * tfjs-backend-wasm's multi-threaded SIMD build — XNNPACK on a pool of pthreads — started under Node, where
 * the package itself never uses it: its feature flag answers "no threads" for Node, and its init hands the
 * pthread workers a Blob URL that worker_threads cannot start. Nothing in node_modules is patched; this
 * module is our own init of the package's threaded Emscripten module, registered as the `wasm` backend:
 *
 * - the pthread workers get a real script, dist/wasmPthreadWorker.js (wasmPthreadWorker.ts: the package's
 *   own worker code), and import the Emscripten module from a file (dist/wasm/, copied by the build);
 * - the build sizes its pool as "logical cores / 2, at most 8" (backend.cc: it assumes two hardware threads
 *   per core), which is one thread on a 2-core machine. The module's `emscripten_num_logical_cores` import
 *   is answered with 2 × the thread count asked for, so the pool gets exactly that many (at most 8);
 * - Emscripten starts 8 workers up front: those the pool did not take are ended, and the pool's own are
 *   unref'd (they wait on a futex forever and must not keep a finished CLI or test process alive).
 *
 * XNNPACK splits its work by output tiles and reduces each output in one thread, so results do not depend
 * on the thread count (test/engine/threadedWasm.test.ts checks bit-identical outputs for 1, 2 and 3
 * threads, and against the single-threaded build). `test/engine/threadedWasm.test.ts` fails when a new
 * tfjs-backend-wasm changes any of the internals used here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasmModule } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm';
import type { WasmFactoryConfig } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';

/** The most threads XNNPACK's pool takes in tfjs-backend-wasm 4.22 (`max_num_threads` in backend.cc). */
export const MAX_WASM_THREADS = 8;

export const THREADED_BINARY = 'tfjs-backend-wasm-threaded-simd.wasm';
/** The Emscripten module as a script the pthread workers load (the build copies it into dist/wasm/). */
export const THREADED_MAIN_SCRIPT = 'tfjs-backend-wasm-threaded-simd.js';
const WORKER_SCRIPT = 'wasmPthreadWorker.js';
/** A module whose workers never report in has failed; the single-threaded build is used instead. */
const START_TIMEOUT_MS = 30_000;

/** Threads by default: every core this process may use, within the pool's limit. */
export function defaultWasmThreads(): number {
  return clampThreads(os.availableParallelism());
}

export function clampThreads(threads: number): number {
  return Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads)));
}

/** What the Emscripten module exposes beyond BackendWasmModule's typings (its pthread bookkeeping). */
interface ThreadedModule extends BackendWasmModule {
  PThread: { unusedWorkers: Worker[]; runningWorkers: Worker[]; terminateAllThreads(): void };
  cwrap: (name: string, returnType: string | null, argTypes: string[]) => (...args: number[]) => number;
}

type ThreadedFactory = (config: WasmFactoryConfig) => Promise<ThreadedModule>;

interface InstantiateImports {
  env: Record<string, unknown>;
}

// The engine's TypeScript library settings have no WebAssembly types (no DOM lib); what this file uses:
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }>;
};

/** The pthread worker script: beside the bundle (dist/) or beside this file in the tsc output. */
export function pthreadWorkerScript(): string {
  return path.join(__dirname, WORKER_SCRIPT);
}

/** The Emscripten module's script for the workers: dist/wasm/ when bundled, else the package's own. */
function mainScript(wasmDir: string): string {
  const copied = path.join(wasmDir, THREADED_MAIN_SCRIPT);
  if (fs.existsSync(copied)) return copied;
  // A variable keeps the bundler from resolving (and inlining) the path.
  const packaged = `@tensorflow/tfjs-backend-wasm/wasm-out/${THREADED_MAIN_SCRIPT}`;
  return require.resolve(packaged);
}

/** Throws with what is missing when this Node cannot run the threaded build here. */
function checkCanStart(wasmDir: string): void {
  if (typeof SharedArrayBuffer !== 'function') throw new Error('this Node has no SharedArrayBuffer');
  for (const file of [pthreadWorkerScript(), path.join(wasmDir, THREADED_BINARY)]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing (run "npm run build")`);
  }
}

/* eslint-disable @typescript-eslint/no-require-imports */
function loadFactory(): ThreadedFactory {
  const loaded = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as
    | ThreadedFactory
    | { default: ThreadedFactory };
  return typeof loaded === 'function' ? loaded : loaded.default;
}

function wasmPackage(): typeof import('@tensorflow/tfjs-backend-wasm') {
  return require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** Starts the threaded module with a pool of `threads` (1–8) and makes a BackendWasm of it. */
export async function createThreadedWasmBackend(threads: number, wasmDir: string): Promise<BackendWasm> {
  checkCanStart(wasmDir);
  const binaryFile = path.join(wasmDir, THREADED_BINARY);
  const binary = await fs.promises.readFile(binaryFile);
  const module = await new Promise<ThreadedModule>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`its pthread workers did not start within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
    timer.unref();
    const done = (error?: unknown, started?: ThreadedModule): void => {
      clearTimeout(timer);
      if (started) resolve(started);
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
    const config: WasmFactoryConfig = {
      locateFile: (file, prefix) =>
        file.endsWith('.worker.js') ? pthreadWorkerScript() : file.endsWith('.wasm') ? binaryFile : prefix + file,
      mainScriptUrlOrBlob: mainScript(wasmDir),
      instantiateWasm: (imports: InstantiateImports, receive: (instance: unknown, module: unknown) => void) => {
        // backend.cc sizes the pool as min(requested, logical cores / 2, 8).
        imports.env.emscripten_num_logical_cores = () => 2 * threads;
        WebAssembly.instantiate(binary, imports).then(
          (result) => receive(result.instance, result.module),
          (error: unknown) => done(error),
        );
        return {};
      },
      onAbort: (what) => done(new Error(`the module aborted: ${what}`)),
    };
    loadFactory()(config).then(
      (started) => done(undefined, started),
      (error: unknown) => done(error),
    );
  });
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  } as unknown as BackendWasmModule['tfjs'];
  const pkg = wasmPackage();
  pkg.setThreadsCount(threads);
  const backend = new pkg.BackendWasm(module);
  for (const worker of module.PThread.unusedWorkers.splice(0)) void worker.terminate();
  for (const worker of module.PThread.runningWorkers) worker.unref();
  return backend;
}

/** What the registered `wasm` backend ended up running on; set once tfjs has initialised it. */
export interface WasmThreading {
  threads: number;
  /** Why the single-threaded build runs although more threads were asked for. */
  fallback?: string;
}

let threading: WasmThreading | undefined;

export function wasmThreading(): WasmThreading | undefined {
  return threading;
}

/**
 * Registers `wasm` with `threads` threads: the threaded build for 2 or more, the package's own
 * single-threaded SIMD build for 1 (no workers to start; the same results). When the threaded build
 * cannot start, the single-threaded one runs and wasmThreading() says why. Replaces an earlier
 * registration (and disposes a backend tfjs made of it).
 */
export function registerWasmBackend(threads: number, wasmDir: string): void {
  packageFactory ??= tf.findBackendFactory('wasm');
  const singleThreaded = packageFactory;
  if (singleThreaded === undefined) throw new Error('tfjs-backend-wasm did not register its backend');
  threading = undefined;
  tf.removeBackend('wasm');
  const count = clampThreads(threads);
  tf.registerBackend(
    'wasm',
    async () => {
      if (count > 1) {
        try {
          const backend = await createThreadedWasmBackend(count, wasmDir);
          threading = { threads: wasmPackage().getThreadsCount() };
          return backend;
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          threading = { threads: 1, fallback: `the multi-threaded build did not start (${reason})` };
        }
      }
      wasmPackage().setThreadsCount(1);
      threading ??= { threads: 1 };
      return singleThreaded();
    },
    2,
  );
}

/** The package's own registration (single-threaded SIMD), kept for 1 thread and as the fallback. */
let packageFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | undefined;
