/**
 * A pool of worker threads that run our WebAssembly kernels (simdKernels.wat, convKernels.wat) on the wasm
 * backend's shared heap, together with the main thread: a task (one kernel call, split into items —
 * kernelTasks.ts) is published in the control block (poolControl.ts), every thread claims items until
 * none is left, and `run` returns when all are done. Started by threadedWasm.ts with the backend; one per
 * process. With one thread there are no workers and `run` does every item itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { instantiateKernels, kernelModules, type KernelInstance, type WasmMemory } from './kernelInstance';
import { TASK_NAMES, runTaskItem, type TaskName } from './kernelTasks';
import {
  CLAIM,
  COMPLETED,
  CONTROL_BYTES,
  FAILED,
  ITEMS,
  MAX_ARGS,
  MAX_ITEMS,
  SLEEPERS,
  STOP,
  TASK,
  claimWord,
  closedWord,
  controlViews,
  runClaimedItems,
  type ControlViews,
} from './poolControl';

/** What a worker gets to start (kernelWorker.ts). */
export interface WorkerStart {
  control: SharedArrayBuffer;
  memory: WasmMemory;
  modules: ReturnType<typeof kernelModules>;
}

/** The heap's allocator (the wasm backend's malloc/free), for the kernels' scratch memory. */
export interface HeapAllocator {
  malloc(bytes: number): number;
  free(pointer: number): void;
}

/** A task with no progress for this long means a worker died inside it. */
const STALL_MS = 60_000;

/** The worker script: beside the bundle (dist/) or beside this file in the tsc output. */
export function kernelWorkerScript(): string {
  return path.join(__dirname, 'kernelWorker.js');
}

export class KernelPool {
  readonly main: KernelInstance;
  private readonly views: ControlViews;
  private sequence = 0;
  private stopped = false;
  /** Every buffer object the heap has had (a grown shared memory hands out a new one). */
  private readonly heapBuffers = new WeakSet<SharedArrayBuffer>();

  private constructor(
    readonly memory: WasmMemory,
    readonly threads: number,
    private readonly allocator: HeapAllocator,
    control: SharedArrayBuffer,
    private readonly workers: Worker[],
  ) {
    this.views = controlViews(control);
    this.main = instantiateKernels(kernelModules(), memory);
  }

  /** Starts threads − 1 workers on `memory` and waits until each is ready. */
  static async start(memory: WasmMemory, threads: number, allocator: HeapAllocator): Promise<KernelPool> {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const workers: Worker[] = [];
    if (threads > 1) {
      const script = kernelWorkerScript();
      if (!fs.existsSync(script)) throw new Error(`${script} is missing (run "npm run build")`);
      const start: WorkerStart = { control, memory, modules: kernelModules() };
      try {
        for (let i = 1; i < threads; i++) workers.push(new Worker(script, { workerData: start }));
        await Promise.all(workers.map((worker) => readyOf(worker)));
      } catch (error) {
        await Promise.all(workers.map((worker) => worker.terminate()));
        throw error;
      }
      // Idle workers wait on a futex; they must not keep a finished process alive.
      for (const worker of workers) worker.unref();
    }
    return new KernelPool(memory, threads, allocator, control, workers);
  }

  /** Where each array lives in the heap (byte offsets), or undefined when one of them is elsewhere. */
  pointers(arrays: readonly Float32Array[]): number[] | undefined {
    const current = this.memory.buffer;
    this.heapBuffers.add(current);
    const offsets: number[] = [];
    for (const array of arrays) {
      const buffer = array.buffer as SharedArrayBuffer;
      if (buffer !== current && !this.heapBuffers.has(buffer)) return undefined;
      offsets.push(array.byteOffset);
    }
    return offsets;
  }

  /** Runs `body` with scratch heap memory (16-byte aligned blocks), freed when it returns or throws. */
  withScratch<T>(bytes: readonly number[], body: (pointers: number[]) => T): T {
    const taken: number[] = [];
    try {
      for (const size of bytes) {
        const pointer = this.allocator.malloc(Math.max(16, size));
        if (pointer === 0) throw new Error(`out of wasm memory (${size} bytes of kernel scratch)`);
        taken.push(pointer);
      }
      return body(taken);
    } finally {
      for (const pointer of taken) this.allocator.free(pointer);
    }
  }

  /** A view of heap memory (taken now: valid until the next allocation grows the heap). */
  f32(pointer: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, pointer, count);
  }

  f64(pointer: number, count: number): Float64Array {
    return new Float64Array(this.memory.buffer, pointer, count);
  }

  /** Items for `total` units of work, at least `minPerItem` units each: [items, units per item]. */
  split(total: number, minPerItem: number): [number, number] {
    const target = Math.min(MAX_ITEMS, this.threads * 16);
    const perItem = Math.max(minPerItem, Math.ceil(total / target), Math.ceil(total / MAX_ITEMS));
    return [Math.ceil(total / perItem), perItem];
  }

  /**
   * Runs `items` items of `task` with these arguments on every thread; returns when all are done, or
   * throws the first item's error.
   */
  run(task: TaskName, items: number, args: readonly number[]): void {
    if (this.stopped) throw new Error('the kernel pool was stopped');
    if (items <= 0) return;
    if (items > MAX_ITEMS) throw new Error(`kernel task ${task}: ${items} items (at most ${MAX_ITEMS})`);
    if (args.length > MAX_ARGS) throw new Error(`kernel task ${task}: ${args.length} arguments`);
    const id = TASK_NAMES.indexOf(task);
    const { ints } = this.views;
    this.views.args.set(args);
    // One item (or no workers): run it here; waking a worker for work it cannot share costs more.
    if (this.workers.length === 0 || items === 1) {
      for (let item = 0; item < items; item++) runTaskItem(this.main, id, item, this.views.args);
      return;
    }
    Atomics.store(ints, TASK, id);
    Atomics.store(ints, ITEMS, items);
    Atomics.store(ints, COMPLETED, 0);
    Atomics.store(ints, FAILED, 0);
    const sequence = (this.sequence = (this.sequence + 1) & 0xfffff);
    Atomics.store(ints, CLAIM, claimWord(sequence));
    if (Atomics.load(ints, SLEEPERS) > 0) Atomics.notify(ints, CLAIM);
    runClaimedItems(this.views, this.main, sequence);
    this.waitForCompletion(task, items);
    Atomics.store(ints, CLAIM, closedWord(sequence));
    if (Atomics.load(ints, FAILED) !== 0) {
      throw new Error(`kernel task ${task} failed on a worker thread: ${this.failureMessage()}`);
    }
  }

  private waitForCompletion(task: TaskName, items: number): void {
    const { ints } = this.views;
    let done = Atomics.load(ints, COMPLETED);
    if (done >= items) return;
    let progressAt = performance.now();
    let spins = 0;
    while (done < items) {
      const now = Atomics.load(ints, COMPLETED);
      if (now !== done) {
        done = now;
        progressAt = performance.now();
      } else if ((++spins & 4095) === 0 && performance.now() - progressAt > STALL_MS) {
        this.stop();
        throw new Error(
          `kernel task ${task}: a worker thread stopped responding (${done}/${items} items done)`,
        );
      }
    }
  }

  private failureMessage(): string {
    const units: number[] = [];
    for (const unit of this.views.message) {
      if (unit === 0) break;
      units.push(unit);
    }
    return String.fromCharCode(...units);
  }

  /** Ends the workers (the pool cannot run tasks afterwards). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.views.ints, STOP, 1);
    Atomics.notify(this.views.ints, CLAIM);
    for (const worker of this.workers) void worker.terminate();
  }
}

function readyOf(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`a kernel worker exited while starting (code ${code})`)));
  });
}

let active: KernelPool | undefined;

/** The pool of the running wasm backend (threaded build), if any. */
export function kernelPool(): KernelPool | undefined {
  return active;
}

export function setKernelPool(pool: KernelPool | undefined): void {
  if (active && active !== pool) active.stop();
  active = pool;
}
