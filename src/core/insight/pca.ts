/**
 * Principal component analysis to a few dimensions, for the embedding map: the directions of largest
 * variance of the features at the cut, by power iteration on the centred data (v ← Xᵀ(X v)), one
 * component at a time with deflation. That never forms the D × D covariance matrix, so 2,000 images of
 * 1,280 features take a few tens of milliseconds per iteration, and it needs no library.
 */
import { createRng } from '../rng';

export interface Projection {
  /** Row-major, n × dims. */
  coordinates: Float32Array;
  dims: number;
  /** Share of the total variance each component explains (0…1). */
  explained: number[];
}

export interface PcaOptions {
  dims?: number;
  maxIterations?: number;
  /** Stop when the direction changes by less than this (1 − |cos|). */
  tolerance?: number;
  seed?: number | string;
}

/** `data`: n rows of d features, row-major. */
export function pca(data: ArrayLike<number>, n: number, d: number, options: PcaOptions = {}): Projection {
  const dims = Math.min(options.dims ?? 2, d);
  if (data.length !== n * d) throw new Error(`Expected ${n} × ${d} values, got ${data.length}.`);
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-9;
  const x = new Float64Array(n * d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j] / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j] - mean[j];
      x[i * d + j] = v;
      total += v * v;
    }
  }
  const rng = createRng(`pca:${options.seed ?? 1}`);
  const components: Float64Array[] = [];
  const explained: number[] = [];
  const coordinates = new Float32Array(n * dims);
  const scores = new Float64Array(n);
  for (let c = 0; c < dims; c++) {
    let v = new Float64Array(d);
    for (let j = 0; j < d; j++) v[j] = rng.next() - 0.5;
    orthogonalise(v, components);
    normalise(v);
    let eigen = 0;
    for (let iteration = 0; iteration < maxIterations; iteration++) {
      // scores = X v; w = Xᵀ scores (the covariance times v, up to n)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[i * d + j] * v[j];
        scores[i] = s;
      }
      const w = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const s = scores[i];
        if (s === 0) continue;
        for (let j = 0; j < d; j++) w[j] += x[i * d + j] * s;
      }
      orthogonalise(w, components);
      eigen = normalise(w);
      if (eigen === 0) break; // no variance left in the remaining directions
      let dot = 0;
      for (let j = 0; j < d; j++) dot += w[j] * v[j];
      v = w;
      if (1 - Math.abs(dot) < tolerance) break;
    }
    // Sign convention: the largest coordinate of the direction is positive, so results are stable.
    let largest = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[largest])) largest = j;
    if (v[largest] < 0) for (let j = 0; j < d; j++) v[j] = -v[j];
    components.push(v);
    explained.push(total > 0 ? eigen / total : 0);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * v[j];
      coordinates[i * dims + c] = s;
    }
  }
  return { coordinates, dims, explained };
}

function orthogonalise(v: Float64Array, basis: Float64Array[]): void {
  for (const b of basis) {
    let dot = 0;
    for (let j = 0; j < v.length; j++) dot += v[j] * b[j];
    for (let j = 0; j < v.length; j++) v[j] -= dot * b[j];
  }
}

/** Scales v to length 1 and returns its length before. */
function normalise(v: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < v.length; j++) sum += v[j] * v[j];
  const length = Math.sqrt(sum);
  if (length > 0) for (let j = 0; j < v.length; j++) v[j] /= length;
  return length;
}
