/**
 * Seeded pseudo-random numbers. Every random choice the engine makes (split, shuffling, augmentation,
 * dropout masks, fresh weights) comes from a seed so that the same seed on the same backend gives the
 * same run. The generators' states can be saved and restored, so a resumed run continues the very
 * sequence an uninterrupted one would have drawn.
 */
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

/** The complete state of a generator (Alea's four numbers): JSON-serialisable, for checkpoints. */
export type RngState = seedrandom.State.Alea;

export interface SeededRng extends Rng {
  /** A copy of the state now; createRng(seed, state) continues from exactly here. */
  state(): RngState;
}

/** A generator for `seed`; with `state`, the one that continues from that saved state instead. */
export function createRng(seed: number | string, state?: RngState): SeededRng {
  // Keeping the state (`state: true`) does not change the numbers drawn.
  const prng = seedrandom.alea(String(seed), { state: state ? { ...state } : true });
  const next = (): number => prng.quick();
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    state: () => prng.state(),
  };
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Puts the original Math.random back; `state()` is the seeded generator's state now (for checkpoints). */
export interface SeededMathRandom {
  (): void;
  state(): RngState;
}

/**
 * TensorFlow.js draws unseeded randomness (initializers without a seed, dropout masks) from Math.random.
 * While a run trains, Math.random is replaced by a PRNG seeded from the run's seed (or continuing from a
 * saved `state`); the returned function puts the original back.
 */
export function seedMathRandom(seed: number | string, state?: RngState): SeededMathRandom {
  const original = Math.random;
  const prng = seedrandom.alea(`math-random:${seed}`, { state: state ? { ...state } : true });
  Math.random = () => prng.quick();
  const restore = (): void => {
    Math.random = original;
  };
  return Object.assign(restore, { state: () => prng.state() });
}
