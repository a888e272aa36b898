/**
 * ONNX export, checked against ONNX Runtime: for the sample's run (trained here for one epoch), a
 * MobileNet-like network, residual Add + Concatenate, a nested model and a zoo of every other exported
 * layer, ONNX Runtime's probabilities on decoded image files must match TensorFlow.js' within 1e-4. Also:
 * the graph's structure (one Transpose, batch norm folded), the files of an export and the README's Node.js
 * example really running, the refusal of an unsupported layer, and `finetune export --format onnx`.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import type { CliIO } from '../../src/cli/io';
import { main } from '../../src/cli/program';
import { exportRunModelOnnx } from '../../src/engine/export/exportOnnx';
import { convertToOnnx, type OnnxModelOptions } from '../../src/engine/export/onnx/convertModel';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment } from '../../src/engine/runExperiment';
import { makeDataset } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import {
  layerZoo,
  mobileNetLike,
  residualConcat,
  saveFixtureRun,
  withUnsupportedLayer,
} from '../helpers/onnxFixtureModels';
import { compareOnImages, decodeAll, runOnnx } from '../helpers/onnxRuntimeCompare';

const TOLERANCE = 1e-4;
const repoRoot = path.resolve(__dirname, '../../..');
const sampleExperiment = path.join(repoRoot, 'samples', 'digits', 'digits-frozen-conv.finetune.json');
const sampleData = path.join(repoRoot, 'samples', 'digits', 'data', 'target');

let root: string;
let images: string[];

function imageFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.png'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function count(ops: string[], op: string): number {
  return ops.filter((o) => o === op).length;
}

function optionsFor(model: tfl.LayersModel, pixelRange: [number, number] = [0, 1]): OnnxModelOptions {
  const [, height, width, channels] = model.inputs[0].shape as number[];
  const classes = (model.outputs[0].shape as number[])[1];
  return {
    imageSize: [height, width],
    channels: channels as 1 | 3,
    pixelRange,
    classNames: Array.from({ length: classes }, (_, i) => `class_${i}`),
    name: model.name,
    description: `test model ${model.name}`,
  };
}

/** Converts, runs both, and checks the agreement — and that the outputs differ between images (not trivially equal). */
async function expectAgreement(model: tfl.LayersModel, pixelRange: [number, number] = [0, 1]) {
  const options = optionsFor(model, pixelRange);
  const conversion = convertToOnnx(model, options);
  const result = await compareOnImages(model, conversion.bytes, images, options);
  assert.ok(result.maxAbsDiff <= TOLERANCE, `${model.name}: max |Δprob| ${result.maxAbsDiff} > ${TOLERANCE}`);
  const firstRow = Array.from(result.tfjs.subarray(0, result.classes));
  const spread = Array.from(result.tfjs).some((p, i) => Math.abs(p - firstRow[i % result.classes]) > 1e-3);
  assert.ok(
    spread,
    `${model.name}: every image gets the same probabilities; the comparison would prove little`,
  );
  return { conversion, result };
}

function nodeOf(bytes: Uint8Array, name: string): onnx.INodeProto | undefined {
  return onnx.ModelProto.decode(bytes).graph?.node?.find((n) => n.name === name);
}

before(async () => {
  await tf.setBackend('cpu');
  root = tempDir('onnx');
  await makeDataset(path.join(root, 'images'), 3, 4, 20, 5);
  images = imageFiles(path.join(root, 'images'));
});

describe('ONNX conversion against ONNX Runtime', () => {
  it('a MobileNet-like network: depthwise convs, ReLU6, batch norm folded, inverted residual, v1 head', async () => {
    const model = mobileNetLike();
    const { conversion } = await expectAgreement(model, [-1, 1]);
    const ops = conversion.opTypes;
    assert.equal(count(ops, 'Transpose'), 1, `one Transpose (the input), got ${ops.join(' ')}`);
    assert.equal(count(ops, 'BatchNormalization'), 0, 'every BN follows a convolution: all folded');
    assert.equal(count(ops, 'Conv'), 9);
    assert.equal(count(ops, 'Clip'), 7, 'ReLU6 as Clip(0, 6), written as a layer or as an activation');
    assert.equal(count(ops, 'Pad'), 2);
    assert.equal(count(ops, 'Add'), 2, 'the residual Add, and the pixel range offset');
    const depthwise = nodeOf(conversion.bytes, 'conv_dw_2+conv_dw_2_bn');
    assert.ok(depthwise, 'the depthwise conv carries its folded BN in its name');
    const group = depthwise.attribute?.find((a) => a.name === 'group');
    assert.equal(Number(group?.i), 16, 'a depthwise conv is a Conv with one group per input channel');
    model.dispose();
  });

  it('residual Add and Concatenate on images and on vectors, Flatten → Dense without a transpose', async () => {
    const model = residualConcat();
    const { conversion } = await expectAgreement(model);
    assert.equal(count(conversion.opTypes, 'Transpose'), 1);
    assert.equal(count(conversion.opTypes, 'Concat'), 2);
    assert.equal(count(conversion.opTypes, 'BatchNormalization'), 0);
    model.dispose();
  });

  it('a nested model (a Sequential inside a functional model), loaded as saved', async () => {
    const file = await saveNestedCnn(path.join(root, 'nested'), 16, 4);
    const model = await tfl.loadLayersModel(fileLoadHandler(file));
    assert.ok(
      model.layers.some((l) => l instanceof tfl.LayersModel),
      'the fixture is nested',
    );
    const { conversion } = await expectAgreement(model, [-1, 1]);
    // conv → ReLU → BN cannot fold (the ReLU is in between): BatchNormalization nodes, named by path.
    assert.equal(count(conversion.opTypes, 'BatchNormalization'), 2);
    assert.ok(nodeOf(conversion.bytes, 'backbone/bn1'), 'nodes are named by layer path');
    model.dispose();
  });

  it('every other exported layer and activation (odd sizes, "same" padding, pooling, merges, PReLU …)', async () => {
    const model = layerZoo();
    const { conversion } = await expectAgreement(model);
    assert.ok(nodeOf(conversion.bytes, 'head_dense+head_bn'), 'Dense → BN folds into the Gemm');
    assert.ok(nodeOf(conversion.bytes, 'bn_image'), 'BN after a softmax stays a BatchNormalization node');
    model.dispose();
  });

  it('refuses a layer it cannot convert, naming its path and class', () => {
    const model = withUnsupportedLayer();
    assert.throws(
      () => convertToOnnx(model, optionsFor(model)),
      (error: Error) => {
        assert.equal(error.name, 'UserError');
        assert.match(
          error.message,
          /Cannot export unsupported to ONNX: layer "decoder\/upsample" \(UpSampling2D\) has no ONNX conversion\./,
        );
        assert.match(error.message, /Exported layer classes: Conv2D, DepthwiseConv2D, .*BatchNormalization/);
        assert.match(error.message, /Export as TensorFlow\.js/);
        return true;
      },
    );
    model.dispose();
  });
});

describe("exporting a run's best model", () => {
  let runDir: string;
  let weightsBytes: number;

  before(async () => {
    const outcome = await runExperiment({
      experimentPath: sampleExperiment,
      runsDir: path.join(root, 'runs'),
      overrides: { epochs: 1, backend: 'wasm' },
      onEvent: () => {},
    });
    runDir = outcome.runDir;
    const modelDir = path.join(runDir, 'model');
    weightsBytes = fs
      .readdirSync(modelDir)
      .filter((f) => f.endsWith('.bin'))
      .reduce((n, f) => n + fs.statSync(path.join(modelDir, f)).size, 0);
  });

  it("the sample's run: model.onnx within 5% of the weights, ONNX Runtime agrees on the sample's images", async () => {
    const out = path.join(root, 'sample-onnx');
    const result = await exportRunModelOnnx(runDir, out);
    assert.deepEqual(fs.readdirSync(out).sort(), [
      'README.md',
      'labels.json',
      'model.onnx',
      'preprocessing.json',
    ]);
    const onnxBytes = fs.statSync(path.join(out, 'model.onnx')).size;
    assert.equal(onnxBytes, result.onnxBytes);
    assert.ok(
      Math.abs(onnxBytes - weightsBytes) / weightsBytes <= 0.05,
      `model.onnx ${onnxBytes} bytes vs weights ${weightsBytes} bytes`,
    );
    assert.equal(count(result.opTypes, 'Transpose'), 1);

    const labels = JSON.parse(fs.readFileSync(path.join(out, 'labels.json'), 'utf8')) as string[];
    assert.deepEqual(labels, ['four', 'one', 'three', 'two', 'zero']);
    const preprocessing = JSON.parse(fs.readFileSync(path.join(out, 'preprocessing.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.deepEqual(preprocessing.inputShape, [null, 32, 32, 3]);
    assert.equal(preprocessing.layout, 'NHWC');
    assert.deepEqual(preprocessing.inputRange, [0, 255]);
    assert.deepEqual(preprocessing.pixelRange, [0, 1]);
    assert.equal(preprocessing.pixelRangeInGraph, true);

    const decoded = onnx.ModelProto.decode(fs.readFileSync(path.join(out, 'model.onnx')));
    assert.equal(Number(decoded.opsetImport[0].version), 13);
    const metadata = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(metadata.labels), labels);

    const model = await tfl.loadLayersModel(fileLoadHandler(path.join(runDir, 'model', 'model.json')));
    const files = imageFiles(sampleData).filter((_, i) => i % 15 === 0);
    const comparison = await compareOnImages(model, path.join(out, 'model.onnx'), files, {
      imageSize: [32, 32],
      channels: 3,
      pixelRange: [0, 1],
    });
    assert.ok(files.length >= 15);
    assert.ok(comparison.maxAbsDiff <= TOLERANCE, `max |Δprob| ${comparison.maxAbsDiff}`);
    model.dispose();
  });

  it("the README's Node.js example runs as written and prints ONNX Runtime's answer", async () => {
    const out = path.join(root, 'sample-onnx');
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    const snippet = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(snippet, 'the README has a Node.js example');
    assert.ok(snippet.trim().split('\n').length <= 12, 'about ten lines');
    assert.match(readme, /```python\n[\s\S]*onnxruntime[\s\S]*```/);
    // As a user runs it: predict.mjs in the export folder, with onnxruntime-node and sharp installed there.
    const work = path.join(root, 'readme-node');
    fs.cpSync(out, work, { recursive: true });
    fs.writeFileSync(path.join(work, 'predict.mjs'), snippet);
    fs.mkdirSync(path.join(work, 'node_modules'));
    for (const pkg of ['onnxruntime-node', 'sharp'])
      fs.symlinkSync(path.join(repoRoot, 'node_modules', pkg), path.join(work, 'node_modules', pkg), 'dir');
    const image = imageFiles(sampleData)[7];
    const printed = execFileSync(process.execPath, ['predict.mjs', image], {
      cwd: work,
      encoding: 'utf8',
    }).trim();
    const probabilities = await runOnnx(
      path.join(out, 'model.onnx'),
      await decodeAll([image], [32, 32], 3, [0, 255]),
      [1, 32, 32, 3],
    );
    const best = probabilities.indexOf(Math.max(...probabilities));
    const labels = JSON.parse(fs.readFileSync(path.join(out, 'labels.json'), 'utf8')) as string[];
    assert.equal(printed, `${labels[best]} (${(100 * probabilities[best]).toFixed(1)}%)`);
  });

  it('a run whose model has an unsupported layer: the refusal, and no folder', async () => {
    const model = withUnsupportedLayer();
    const bad = await saveFixtureRun(path.join(root, 'runs'), 'unsupported-run', model, {
      classNames: ['a', 'b'],
      pixelRange: [0, 1],
    });
    model.dispose();
    const out = path.join(root, 'refused');
    await assert.rejects(exportRunModelOnnx(bad, out), /layer "decoder\/upsample" \(UpSampling2D\)/);
    assert.equal(fs.existsSync(out), false);
    assert.deepEqual(
      fs.readdirSync(root).filter((e) => e.startsWith('.refused')),
      [],
      'no staging folder left beside it',
    );
  });

  it('finetune export --format onnx|tfjs from the command line', async () => {
    let stdout = '';
    let stderr = '';
    const io: CliIO = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), cwd: root, env: {} };
    const runId = path.basename(runDir);
    const cli = (...args: string[]) => {
      stdout = '';
      stderr = '';
      return main(['node', 'finetune', 'export', runId, ...args, '--runs-dir', 'runs'], io);
    };
    assert.equal(await cli('cli-onnx', '--format', 'onnx', '--json'), 0, stderr);
    const written = JSON.parse(stdout) as { format: string; files: string[]; onnxBytes: number };
    assert.equal(written.format, 'onnx');
    assert.deepEqual(
      written.files.map((f) => path.basename(f)),
      ['model.onnx', 'labels.json', 'preprocessing.json', 'README.md'],
    );
    assert.equal(
      await cli('cli-onnx', '--format', 'onnx'),
      2,
      'an existing export is not replaced without --force',
    );
    assert.match(stderr, /is not empty \(it holds an earlier export\)/);
    assert.equal(await cli('cli-onnx', '--format', 'onnx', '--force'), 0, stderr);
    assert.match(stdout, /exported run .* as ONNX \(\d+ KiB, \d+ nodes\)/);
    assert.equal(await cli('cli-tfjs'), 0, stderr);
    assert.ok(fs.existsSync(path.join(root, 'cli-tfjs', 'model.json')), 'tfjs stays the default');
    assert.equal(await cli('cli-xml', '--format', 'xml'), 2);
    assert.match(stderr, /Allowed choices are tfjs, onnx/);
  });
});
