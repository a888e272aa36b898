/** Random float inputs and a relative error measure, shared by the tests that compare kernels. */
import { strict as assert } from 'node:assert';
import type { Rng } from '../../src/core/rng';

/** Uniform values in [low, high) for a tensor of `shape`. */
export function randomValues(shape: number[], rng: Rng, low = -1, high = 1): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(low, high));
}

/**
 * max|a − b| / max(floor, max|b|): relative to the result's scale, so entries near zero do not blow it up.
 * The default floor of 1 makes it absolute for results smaller than 1; pass a tiny floor to stay relative.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 1): number {
  assert.equal(actual.length, expected.length, 'same number of values');
  let maxDiff = 0;
  let maxExpected = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxExpected = Math.max(maxExpected, Math.abs(expected[i]));
  }
  return maxDiff / Math.max(floor, maxExpected);
}
