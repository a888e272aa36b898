/**
 * Pre-trains the sample's base model: a small nested CNN that classifies the eight geometric shapes of
 * shapes.mjs, saved as a TF.js LayersModel to samples/digits/models/base/ (model.json + one weights .bin).
 * The sample experiments then transfer its features to seven-segment digits (digits.mjs).
 *
 *   npx tsc -p tsconfig.test.json            # compiles src/engine/model/fileModelIO.ts into out/
 *   node scripts/sample/pretrain.mjs         # options: --train 2400 --test 600 --epochs 8 --seed 1
 *                                            #          --backend wasm|cpu --out <dir> --minAccuracy 0.85
 *
 * Backend: `wasm` by default, `cpu` on request. Neither trains convolutions well out of the box (wasm has
 * no Conv2DBackpropFilter kernel, cpu's is ~50× too slow), so convFilterGrad.mjs supplies that kernel. On
 * wasm a run takes about 140 s of CPU time (one thread; measured 141 s wall on an idle 2-core machine);
 * on cpu each step is about 8× slower. Everything random is seeded (Math.random, which tfjs
 * uses for initialisers, dropout and shuffling, plus the image generator), so a re-run on the same backend
 * writes the same weights (their SHA-256 is printed). BatchNormalization trains in training mode, so its
 * moving mean/variance are real statistics of the shape images.
 *
 * The layer names are the sample's contract (README, the example experiments): the outer model
 * `shapes_classifier` = `features` (Sequential: conv1 bn1 pool1 conv2 bn2 pool2 conv3 pool3) → flatten →
 * dense_1 → dropout → dense_2, so the paths are features/conv1 … features/pool3, flatten, dense_1, ….
 * Pixels are scaled to [0, 1] (the experiments' dataset.pixelRange).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installConvFilterGrad } from './convFilterGrad.mjs';
import { parseArgs } from './render.mjs';
import { IMAGE_SIZE, SHAPE_CLASSES, generateShapes } from './shapes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const require = createRequire(import.meta.url);

function loadFileModelIO() {
  const compiled = path.join(repoRoot, 'out/src/engine/model/fileModelIO.js');
  if (!fs.existsSync(compiled)) {
    throw new Error(`${compiled} is missing: run \`npx tsc -p tsconfig.test.json\` first.`);
  }
  return require(compiled);
}

/** The base model; every layer named, because the names are what experiments refer to. */
export function buildShapesClassifier() {
  const features = tfl.sequential({
    name: 'features',
    layers: [
      tfl.layers.conv2d({
        name: 'conv1',
        inputShape: [IMAGE_SIZE, IMAGE_SIZE, 3],
        filters: 16,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tfl.layers.conv2d({ name: 'conv2', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.batchNormalization({ name: 'bn2' }),
      tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tfl.layers.conv2d({ name: 'conv3', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ name: 'pool3', poolSize: 2 }),
    ],
  });
  return tfl.sequential({
    name: 'shapes_classifier',
    layers: [
      features,
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ name: 'dense_1', units: 64, activation: 'relu' }),
      tfl.layers.dropout({ name: 'dropout', rate: 0.3 }),
      tfl.layers.dense({ name: 'dense_2', units: SHAPE_CLASSES.length, activation: 'softmax' }),
    ],
  });
}

/** Images as a [n, 32, 32, 3] float tensor in [0, 1] and one-hot labels. */
function toTensors({ images, labels }) {
  const n = labels.length;
  return tf.tidy(() => ({
    xs: tf.div(tf.tensor4d(Float32Array.from(images), [n, IMAGE_SIZE, IMAGE_SIZE, 3]), 255),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), SHAPE_CLASSES.length),
  }));
}

function accuracyOf(probabilities, labels) {
  const predicted = tf.tidy(() => tf.argMax(probabilities, 1).dataSync());
  let correct = 0;
  predicted.forEach((p, i) => (correct += p === labels[i] ? 1 : 0));
  return correct / labels.length;
}

const seconds = (since) => ((Date.now() - since) / 1000).toFixed(1);

async function main() {
  const args = parseArgs(process.argv.slice(2), {
    train: 2400,
    test: 600,
    epochs: 8,
    batchSize: 32,
    learningRate: 0.002,
    seed: 1,
    backend: 'wasm',
    out: path.join(repoRoot, 'samples/digits/models/base'),
    minAccuracy: 0.85,
  });
  const started = Date.now();
  const { atomicDirSaveHandler, fileLoadHandler } = loadFileModelIO();
  if (!(await tf.setBackend(args.backend))) throw new Error(`backend ${args.backend} failed to initialise`);
  installConvFilterGrad();
  // tfjs draws initial weights, dropout masks and the shuffling order of fit() from Math.random.
  const random = seedrandom.alea(`pretrain:${args.seed}`);
  Math.random = () => random.quick();

  const trainSet = await generateShapes(args.train, `train-${args.seed}`);
  const testSet = await generateShapes(args.test, `test-${args.seed}`);
  const train = toTensors(trainSet);
  const test = toTensors(testSet);
  console.log(
    `generated ${args.train} training + ${args.test} held-out shape images in ${seconds(started)} s`,
  );

  const model = buildShapesClassifier();
  model.compile({
    optimizer: tf.train.adam(args.learningRate),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  let epochStart = Date.now();
  await model.fit(train.xs, train.ys, {
    epochs: args.epochs,
    batchSize: args.batchSize,
    shuffle: true,
    validationData: [test.xs, test.ys],
    verbose: 0,
    callbacks: {
      onEpochBegin: async () => {
        epochStart = Date.now();
      },
      onEpochEnd: async (epoch, logs) => {
        console.log(
          `epoch ${epoch + 1}/${args.epochs}: loss ${logs.loss.toFixed(3)} acc ${logs.acc.toFixed(3)}` +
            ` | held-out loss ${logs.val_loss.toFixed(3)} acc ${logs.val_acc.toFixed(3)} (${seconds(epochStart)} s)`,
        );
      },
    },
  });

  const probabilities = model.predict(test.xs);
  const accuracy = accuracyOf(probabilities, testSet.labels);
  console.log(`held-out accuracy: ${(accuracy * 100).toFixed(1)}% on ${args.test} images`);
  if (accuracy < args.minAccuracy) {
    throw new Error(
      `held-out accuracy ${accuracy.toFixed(3)} is below ${args.minAccuracy}: not saving the model`,
    );
  }

  model.setUserDefinedMetadata({
    classes: SHAPE_CLASSES,
    pixelRange: [0, 1],
    sourceTask: 'shapes (scripts/sample/shapes.mjs)',
    heldOutAccuracy: Number(accuracy.toFixed(4)),
  });
  fs.rmSync(args.out, { recursive: true, force: true });
  await model.save(atomicDirSaveHandler(args.out));

  // The saved files must give back exactly this model.
  const modelJson = path.join(args.out, 'model.json');
  const reloaded = await tfl.loadLayersModel(fileLoadHandler(modelJson));
  const maxDifference = tf.tidy(
    () => tf.max(tf.abs(tf.sub(reloaded.predict(test.xs), probabilities))).dataSync()[0],
  );
  if (maxDifference !== 0)
    throw new Error(`the reloaded model predicts differently (max |Δp| = ${maxDifference})`);

  const files = fs.readdirSync(args.out).sort();
  const weights = files.find((name) => name.endsWith('.bin'));
  const hash = crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(args.out, weights)))
    .digest('hex');
  const kb = files.reduce((n, name) => n + fs.statSync(path.join(args.out, name)).size, 0) / 1024;
  console.log(
    `saved ${files.join(' + ')} (${kb.toFixed(0)} KB) to ${args.out}; reloaded: identical predictions`,
  );
  console.log(`weights sha256 ${hash} (backend ${tf.getBackend()}); total ${seconds(started)} s`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
