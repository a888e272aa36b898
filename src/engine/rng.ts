/**
 * Seeded pseudo-random numbers. Every random choice the engine makes (split, shuffling, augmentation,
 * dropout masks, fresh weights) comes from a seed so that the same seed on the same backend gives the
 * same run.
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

export function createRng(seed: number | string): Rng {
  const prng = seedrandom.alea(String(seed));
  const next = (): number => prng.quick();
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
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

/**
 * TensorFlow.js draws unseeded randomness (initializers without a seed, dropout masks) from Math.random.
 * While a run trains, Math.random is replaced by a PRNG seeded from the run's seed; the returned function
 * puts the original back.
 */
export function seedMathRandom(seed: number | string): () => void {
  const original = Math.random;
  const prng = seedrandom.alea(`math-random:${seed}`);
  Math.random = () => prng.quick();
  return () => {
    Math.random = original;
  };
}
