/**
 * Small pre-trained-looking models for engine tests, built and saved with TensorFlow.js itself.
 * The nested one mirrors Keras / Teachable Machine exports: a Sequential inside a Sequential inside a
 * functional Model.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { seedMathRandom } from '../../src/core/rng';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `fts-${prefix}-`));
}

/**
 * outer (functional) → backbone (Sequential) → block1 (Sequential: conv1, bn1, pool1), conv2, bn2, pool2
 *                    → flatten → dense_1 → dense_2 (softmax, `classes` units)
 * BN moving statistics are set to non-trivial values so "unchanged" tests mean something.
 */
export async function saveNestedCnn(dir: string, size = 16, classes = 4): Promise<string> {
  // Seeded initial weights: the same fixture in every process, so tests that depend on how training
  // unfolds (best epoch, early stopping) are reproducible.
  const restore = seedMathRandom('fixture:nested');
  try {
    return await buildAndSaveNestedCnn(dir, size, classes);
  } finally {
    restore();
  }
}

async function buildAndSaveNestedCnn(dir: string, size: number, classes: number): Promise<string> {
  const block1 = tfl.sequential({
    name: 'block1',
    layers: [
      tfl.layers.conv2d({
        inputShape: [size, size, 3],
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: 'conv1',
      }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
    ],
  });
  const backbone = tfl.sequential({
    name: 'backbone',
    layers: [
      block1,
      tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2' }),
      tfl.layers.batchNormalization({ name: 'bn2' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }),
    ],
  });
  const input = tfl.input({ shape: [size, size, 3], name: 'pixels' });
  let x = backbone.apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 8, activation: 'relu', name: 'dense_1' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({ units: classes, activation: 'softmax', name: 'dense_2' })
    .apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name: 'outer' });
  for (const layer of [block1.getLayer('bn1'), backbone.getLayer('bn2')]) {
    const [gamma, beta, mean, variance] = layer.getWeights();
    layer.setWeights([
      gamma,
      beta,
      tf.randomUniform(mean.shape, -0.5, 0.5, 'float32', 7),
      tf.randomUniform(variance.shape, 0.5, 2, 'float32', 8),
    ]);
  }
  await model.save(atomicDirSaveHandler(dir));
  model.dispose();
  return path.join(dir, 'model.json');
}

/** A flat Sequential (the most common tfjs export): conv → pool → flatten → dense softmax. */
export async function saveFlatSequential(dir: string, size = 8, classes = 3): Promise<string> {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [size, size, 3],
        filters: 4,
        kernelSize: 3,
        activation: 'relu',
        name: 'conv',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: classes, activation: 'softmax', name: 'out' }),
    ],
  });
  await model.save(atomicDirSaveHandler(dir));
  model.dispose();
  return path.join(dir, 'model.json');
}
