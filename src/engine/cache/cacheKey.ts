/**
 * The identity of a set of cached activations: everything that changes what the frozen prefix outputs
 * for an image. Cached rows are reused only under the same key, so a change to any of these — a new base
 * model file, another freeze set or boundary, image size, pixel range, channels, an added or touched
 * image — computes them again.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { READ_LIMITS, readRegularFileSync } from '../../core/files/regularFile';
import { containedWeightFile } from '../../core/model/weightFiles';

/** Bumped whenever the cache's file layout or the decoding that feeds it changes. */
export const CACHE_FORMAT = 1;

export interface CacheKeyParts {
  format: number;
  /** sha256 of model.json and every weight file it lists, in manifest order. */
  baseModel: string;
  /** Frozen layers that compute the rows, in execution order; the last is the boundary. */
  prefixLayers: string[];
  imageSize: [number, number];
  pixelRange: [number, number];
  channels: number;
  /** datasetFingerprint(scan): paths, sizes and modification times of every image. */
  dataset: string;
  /** Activations differ in the last bits between backends; a run's metrics must not depend on the cache. */
  backend: string;
  tfjs: string;
}

/**
 * sha256 over model.json and its weight shards (a model without readable shards gets no hash). The shards
 * are the ones the loader reads — inside the model folder, no links (core/model/weightFiles.ts) — each
 * read with a byte cap.
 */
export function hashModelFiles(modelJsonPath: string): string {
  const hash = createHash('sha256');
  const json = readRegularFileSync(modelJsonPath, { maxBytes: READ_LIMITS.modelJson });
  hash.update(json);
  const manifest = (JSON.parse(json.toString('utf8')) as { weightsManifest?: { paths?: unknown }[] })
    .weightsManifest;
  for (const group of Array.isArray(manifest) ? manifest : []) {
    for (const shard of Array.isArray(group.paths) ? group.paths : []) {
      hash.update(`\n${String(shard)}\n`);
      const file = containedWeightFile(path.dirname(modelJsonPath), String(shard), modelJsonPath);
      hash.update(readRegularFileSync(file, { maxBytes: READ_LIMITS.weights, noFollow: true }));
    }
  }
  return hash.digest('hex');
}

export function cacheKeyParts(
  fields: Omit<CacheKeyParts, 'format' | 'tfjs' | 'baseModel'> & { modelJsonPath: string },
): CacheKeyParts {
  const { modelJsonPath, ...rest } = fields;
  return { format: CACHE_FORMAT, baseModel: hashModelFiles(modelJsonPath), ...rest, tfjs: tf.version_core };
}

/** A short hex key (folder name) for the parts. */
export function cacheKey(parts: CacheKeyParts): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
