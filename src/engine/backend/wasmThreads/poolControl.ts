/**
 * The kernel pool's control block: one SharedArrayBuffer the main thread and the workers read and write
 * with Atomics, and the loop every thread runs to claim and run the current task's items.
 *
 * Publishing a task: the main thread writes the task's id, item count and arguments, then stores a new
 * claim word `sequence << ITEM_BITS` (sequence: 20 bits, item: 12 bits). A thread claims the next item by
 * a compare-and-swap that adds one to the word; the swap fails once the word carries another sequence,
 * so a thread that slept through a task can never claim an item of a later one with the old arguments.
 * Each finished item adds one to `completed`; the main thread returns when all items are completed (it
 * never waits for a worker that claimed nothing), after closing the task (item field at its maximum, so
 * nothing more can be claimed) — only then does it write the next task's fields. Workers spin for a little while after a task (a futex
 * wake-up costs tens of microseconds on a virtual machine, ten times a small kernel) and then sleep on
 * the claim word.
 */
import { runTaskItem } from './kernelTasks';
import type { KernelInstance } from './kernelInstance';

export const ITEM_BITS = 12;
/** Items per task at most (4095). */
export const MAX_ITEMS = (1 << ITEM_BITS) - 1;
const SEQUENCE_MASK = (1 << (32 - ITEM_BITS)) - 1;

/** Int32 slots. */
export const CLAIM = 0;
export const TASK = 1;
export const ITEMS = 2;
export const COMPLETED = 3;
export const SLEEPERS = 4;
export const STOP = 5;
export const FAILED = 6;
/** Float64 arguments after the Int32 slots, and room for one error message (UTF-16 code units). */
export const ARGS_OFFSET = 64;
export const MAX_ARGS = 32;
export const MESSAGE_OFFSET = ARGS_OFFSET + 8 * MAX_ARGS;
export const MESSAGE_UNITS = 512;
export const CONTROL_BYTES = MESSAGE_OFFSET + 2 * MESSAGE_UNITS;

/** How long an idle worker spins before it sleeps. */
export const SPIN_MS = 2;

export interface ControlViews {
  ints: Int32Array;
  args: Float64Array;
  message: Uint16Array;
}

export function controlViews(buffer: SharedArrayBuffer): ControlViews {
  return {
    ints: new Int32Array(buffer, 0, ARGS_OFFSET / 4),
    args: new Float64Array(buffer, ARGS_OFFSET, MAX_ARGS),
    message: new Uint16Array(buffer, MESSAGE_OFFSET, MESSAGE_UNITS),
  };
}

export function sequenceOf(word: number): number {
  return (word >>> ITEM_BITS) & SEQUENCE_MASK;
}

export function claimWord(sequence: number): number {
  return ((sequence & SEQUENCE_MASK) << ITEM_BITS) | 0;
}

/** The claim word of a finished task: its item field can never be below an item count. */
export function closedWord(sequence: number): number {
  return claimWord(sequence) | MAX_ITEMS;
}

/** Records the first failure of a task (the main thread throws it once the task is done). */
function recordFailure(views: ControlViews, error: unknown): void {
  if (Atomics.compareExchange(views.ints, FAILED, 0, 1) !== 0) return;
  const text = (error instanceof Error ? error.message : String(error)).slice(0, MESSAGE_UNITS - 1);
  for (let i = 0; i < text.length; i++) views.message[i] = text.charCodeAt(i);
  views.message[text.length] = 0;
}

/**
 * Claims and runs items of the task published under `sequence` until none is left; returns how many
 * this thread ran.
 */
export function runClaimedItems(views: ControlViews, kernels: KernelInstance, sequence: number): number {
  const { ints, args } = views;
  const task = Atomics.load(ints, TASK);
  const items = Atomics.load(ints, ITEMS);
  let ran = 0;
  for (;;) {
    const word = Atomics.load(ints, CLAIM);
    if (sequenceOf(word) !== sequence) return ran;
    const item = word & MAX_ITEMS;
    if (item >= items) return ran;
    if (Atomics.compareExchange(ints, CLAIM, word, word + 1) !== word) continue;
    try {
      runTaskItem(kernels, task, item, args);
    } catch (error) {
      recordFailure(views, error);
    }
    ran++;
    Atomics.add(ints, COMPLETED, 1);
  }
}

/** A worker's life: wait for a task (spin, then sleep), run its items, until told to stop. */
export function workerLoop(views: ControlViews, kernels: KernelInstance): void {
  const { ints } = views;
  let seen = sequenceOf(Atomics.load(ints, CLAIM));
  for (;;) {
    let word = Atomics.load(ints, CLAIM);
    if (sequenceOf(word) === seen) {
      const until = performance.now() + SPIN_MS;
      let spins = 0;
      while (sequenceOf((word = Atomics.load(ints, CLAIM))) === seen && Atomics.load(ints, STOP) === 0) {
        if ((++spins & 1023) === 0 && performance.now() > until) {
          Atomics.add(ints, SLEEPERS, 1);
          Atomics.wait(ints, CLAIM, word);
          Atomics.sub(ints, SLEEPERS, 1);
        }
      }
    }
    if (Atomics.load(ints, STOP) !== 0) return;
    seen = sequenceOf(word);
    runClaimedItems(views, kernels, seen);
  }
}
