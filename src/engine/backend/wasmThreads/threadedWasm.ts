/**
 * The wasm backend on every core: tfjs-backend-wasm's multi-threaded SIMD build started under Node — where
 * the package itself never uses it (its feature flag answers "no threads" for Node, and its init hands
 * pthread workers a Blob URL that worker_threads cannot start) — with our kernel pool (kernelPool.ts) on
 * its shared heap. Nothing in node_modules is patched: this module is our own init of the package's
 * threaded Emscripten module, registered as the `wasm` backend.
 *
 * What the threaded build gives us is its heap, a shared WebAssembly memory: our kernels (heapKernels.ts,
 * ../wasmKernels/parallelConv.ts) run on it in place, on the main thread and threads − 1 pool workers.
 * XNNPACK — the build's own kernels — is kept on one thread: its pthread pool wakes its workers through a
 * futex for every call (~70 µs on a virtual machine, more than a small kernel takes) and falls apart when
 * another thread competes for the core; measured on a MobileNet step it gained nothing on 2 threads. So
 * its pool is sized 1 (the build sizes it "logical cores / 2, at most 8", from `emscripten_num_logical_cores`,
 * which is answered with 2), no pthread is ever started, and the 8 pthread workers Emscripten starts up
 * front are idle stand-ins (IdlePthreadWorker) instead of 8 Node isolates (~170 ms of start-up).
 *
 * Results do not depend on the thread count: XNNPACK runs on one thread whatever it is, and the pool's
 * tasks never add across items (kernelTasks.ts); test/engine/threadedWasm.test.ts checks bit-identical
 * training for 1, 2 and 3 threads, and fails when a new tfjs-backend-wasm changes an internal used here.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasmModule } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm';
import type { WasmFactoryConfig } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';
import { MAX_TRAINER_THREADS } from '../../../protocol/trainerMessages';
import { KernelPool, setKernelPool } from './kernelPool';
import type { WasmMemory } from './kernelInstance';

/** Most threads of the wasm backend (the kernel pool; more than a machine's cores only adds overhead). */
export const MAX_WASM_THREADS = MAX_TRAINER_THREADS;

export const THREADED_BINARY = 'tfjs-backend-wasm-threaded-simd.wasm';
/** A module whose workers never report in has failed; the single-threaded build is used instead. */
const START_TIMEOUT_MS = 30_000;

/** Threads by default: every core this process may use, within the pool's limit. */
export function defaultWasmThreads(): number {
  return clampThreads(os.availableParallelism());
}

export function clampThreads(threads: number): number {
  return Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads)));
}

/** What the Emscripten module exposes beyond BackendWasmModule's typings. */
interface ThreadedModule extends BackendWasmModule {
  PThread: { unusedWorkers: unknown[]; runningWorkers: unknown[]; terminateAllThreads(): void };
  cwrap: (name: string, returnType: string | null, argTypes: string[]) => (...args: number[]) => number;
  wasmMemory: WasmMemory;
}

/**
 * Stands in for each pthread worker Emscripten starts with the module: it answers "loaded" to the module
 * it is sent, as a real worker would once it has instantiated it, and refuses to run a thread — none is
 * ever started, as XNNPACK's pool has one thread (the caller's).
 */
class IdlePthreadWorker extends EventEmitter {
  postMessage(message: { cmd?: string }): void {
    if (message.cmd === 'load') setImmediate(() => this.emit('message', { cmd: 'loaded' }));
    else if (message.cmd === 'run') {
      throw new Error('the wasm backend asked for a pthread, but its thread pool is sized to one thread');
    }
  }
  ref(): void {}
  unref(): void {}
  terminate(): Promise<number> {
    return Promise.resolve(0);
  }
}

type ThreadedFactory = (config: WasmFactoryConfig) => Promise<ThreadedModule>;

interface InstantiateImports {
  env: Record<string, unknown>;
}

// The engine's TypeScript library settings have no WebAssembly types (no DOM lib); what this file uses:
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }>;
};

/** Throws with what is missing when this Node cannot run the threaded build here. */
function checkCanStart(wasmDir: string): void {
  if (typeof SharedArrayBuffer !== 'function') throw new Error('this Node has no SharedArrayBuffer');
  const binary = path.join(wasmDir, THREADED_BINARY);
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing (run "npm run build")`);
}

/* eslint-disable @typescript-eslint/no-require-imports */
function loadFactory(): ThreadedFactory {
  const loaded = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as
    ThreadedFactory | { default: ThreadedFactory };
  return typeof loaded === 'function' ? loaded : loaded.default;
}

function wasmPackage(): typeof import('@tensorflow/tfjs-backend-wasm') {
  return require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
}
/* eslint-enable @typescript-eslint/no-require-imports */

const HANDLED_EVENTS = ['uncaughtException', 'unhandledRejection'];
type Listener = (...args: unknown[]) => void;
const listenersOf = (event: string): Listener[] =>
  (process as NodeJS.EventEmitter).listeners(event) as Listener[];

/**
 * Runs `start` and removes the process handlers Emscripten's modules add in Node (uncaughtException and
 * unhandledRejection, which rethrow): rethrown there, any later error of the process would be reported
 * with the module's minified source line — half a megabyte on stderr instead of the error.
 */
async function withoutEmscriptenHandlers<T>(start: () => Promise<T>): Promise<T> {
  const before = HANDLED_EVENTS.map((event) => new Set(listenersOf(event)));
  try {
    return await start();
  } finally {
    HANDLED_EVENTS.forEach((event, i) => {
      for (const listener of listenersOf(event)) {
        if (!before[i].has(listener)) (process as NodeJS.EventEmitter).removeListener(event, listener);
      }
    });
  }
}

/**
 * Disposing the module removes every uncaughtException/unhandledRejection handler of the process, not
 * just its own (a filter in tfjs-backend-wasm's post.js that matches them all): the others are put back.
 */
function keepingProcessHandlers(dispose: () => void): () => void {
  return () => {
    const saved = HANDLED_EVENTS.map((event) => listenersOf(event));
    try {
      dispose();
    } finally {
      HANDLED_EVENTS.forEach((event, i) => {
        const now = new Set(listenersOf(event));
        for (const listener of saved[i])
          if (!now.has(listener)) process.on(event as 'uncaughtException', listener);
      });
    }
  };
}

/** Starts the threaded module with a kernel pool of `threads` threads and makes a BackendWasm of it. */
export async function createThreadedWasmBackend(threads: number, wasmDir: string): Promise<BackendWasm> {
  checkCanStart(wasmDir);
  const binaryFile = path.join(wasmDir, THREADED_BINARY);
  const binary = await fs.promises.readFile(binaryFile);
  const module = await withoutEmscriptenHandlers(
    () =>
      new Promise<ThreadedModule>((resolve, reject) => {
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
          locateFile: (file, prefix) => {
            if (!file.endsWith('.worker.js')) return file.endsWith('.wasm') ? binaryFile : prefix + file;
            // Asked right before each `new Worker(script)` of the pool Emscripten starts up front: the global
            // it constructs (Node's Worker, which the module has just put there) becomes the stand-in.
            (globalThis as { Worker?: unknown }).Worker = IdlePthreadWorker;
            return 'idle-pthread-worker';
          },
          instantiateWasm: (
            imports: InstantiateImports,
            receive: (instance: unknown, module: unknown) => void,
          ) => {
            // backend.cc sizes XNNPACK's pool as min(requested, logical cores / 2, 8): one thread.
            imports.env.emscripten_num_logical_cores = () => 2;
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
      }),
  );
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  } as unknown as BackendWasmModule['tfjs'];
  const pkg = wasmPackage();
  pkg.setThreadsCount(1);
  const backend = new pkg.BackendWasm(module);
  if (pkg.getThreadsCount() !== 1 || module.PThread.runningWorkers.length !== 0) {
    throw new Error(`XNNPACK started ${pkg.getThreadsCount()} threads where one was asked for`);
  }
  const pool = await KernelPool.start(module.wasmMemory, threads, {
    malloc: (bytes) => module._malloc(bytes),
    free: (pointer) => module._free(pointer),
  });
  setKernelPool(pool);
  // The pool goes with the backend it works for.
  const dispose = keepingProcessHandlers(backend.dispose.bind(backend));
  backend.dispose = () => {
    setKernelPool(undefined);
    dispose();
  };
  return backend;
}

/** What the registered `wasm` backend ended up running on; set once tfjs has initialised it. */
export interface WasmThreading {
  threads: number;
  /** Why the package's single-threaded build runs instead (the threaded one did not start). */
  fallback?: string;
}

let threading: WasmThreading | undefined;

export function wasmThreading(): WasmThreading | undefined {
  return threading;
}

/**
 * Registers `wasm` with `threads` threads (1 included: the same kernels, so the same results, on the main
 * thread alone). When the threaded build cannot start, the package's own single-threaded SIMD build runs
 * (XNNPACK's kernels instead of the pool's: other sums, so other digits) and wasmThreading() says why.
 * Replaces an earlier registration (and disposes a backend tfjs made of it).
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
      try {
        const backend = await createThreadedWasmBackend(count, wasmDir);
        threading = { threads: count };
        return backend;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        threading = { threads: 1, fallback: `the multi-threaded build did not start (${reason})` };
      }
      wasmPackage().setThreadsCount(1);
      const backend = await withoutEmscriptenHandlers(async () => singleThreaded());
      backend.dispose = keepingProcessHandlers(backend.dispose.bind(backend));
      return backend;
    },
    2,
  );
}

/** The package's own registration (single-threaded SIMD), kept as the fallback. */
let packageFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | undefined;
