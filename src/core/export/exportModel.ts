/**
 * Exports a run's best model for use outside Fine-Tune Studio: model.json + weights (one `weights.bin`,
 * or `weights-<n>.bin` per shard), labels.json, preprocessing.json and a README.md with a runnable
 * TensorFlow.js inference script that prepares pixels exactly as training did (sharp: EXIF rotation,
 * stretch to the model's size, alpha dropped, sRGB, then the pixel range).
 *
 * Files are copied, not re-serialised: no TensorFlow.js is needed, so the extension host exports directly.
 * The folder is written beside the target and renamed into place (exportFolder.ts): a failed export leaves
 * nothing half written.
 */
import * as path from 'node:path';
import { checkExportTarget, writeExportFolder, type ExportFolderOptions } from './exportFolder';
import { readRunModel, readRunModelJson, type RunModel } from './runModel';
import { markdownCode, markdownText } from '../portable/markdownText';

export interface ModelExport {
  outDir: string;
  files: string[];
  model: RunModel;
  /** The previous export moved aside (with `keepReplaced`), for the caller to trash. */
  replaced?: string;
  /** The files of the previous export this one replaced (empty when nothing was replaced). */
  replacedFiles: string[];
}

/** The preprocessing a model expects, as written to preprocessing.json. */
export interface Preprocessing {
  imageSize: [number, number];
  channels: 1 | 3;
  pixelRange: [number, number];
  resize: 'stretch';
}

export function preprocessingOf(model: RunModel): Preprocessing {
  return {
    imageSize: model.imageSize,
    channels: model.channels,
    pixelRange: model.pixelRange,
    resize: 'stretch',
  };
}

/** The inference script shown in the README; `node predict.js <image…>` in the export folder runs it. */
export function inferenceSnippet(model: RunModel): string {
  const [height, width] = model.imageSize;
  const [lo, hi] = model.pixelRange;
  const grey = model.channels === 1;
  return `// predict.js — npm install @tensorflow/tfjs sharp   (or @tensorflow/tfjs-node: same API, faster)
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');
const tf = require('@tensorflow/tfjs');

const dir = __dirname; // the folder with model.json, the weights and labels.json
const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8'));

async function loadModel() {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const groups = json.weightsManifest;
  const weights = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: groups.flatMap((g) => g.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
}

// The preprocessing used in training: EXIF rotation, stretched to ${width}×${height}, alpha dropped,
// 8-bit sRGB${grey ? ', luma (BT.601)' : ''}, then 0..255 mapped to [${lo}, ${hi}].
async function toInput(file) {
  const rgb = await sharp(file).rotate().resize({ width: ${width}, height: ${height}, fit: 'fill' })
    .removeAlpha().toColourspace('srgb').raw().toBuffer();
  const channels = ${model.channels};
  const pixels = new Float32Array(${height} * ${width} * channels);
  for (let p = 0; p < ${height} * ${width}; p++) {
    const [r, g, b] = [rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]];
    const values = channels === 1 ? [0.299 * r + 0.587 * g + 0.114 * b] : [r, g, b];
    values.forEach((v, c) => (pixels[p * channels + c] = ${lo} + (v * (${hi} - ${lo})) / 255));
  }
  return tf.tensor4d(pixels, [1, ${height}, ${width}, channels]);
}

(async () => {
  const model = await loadModel();
  for (const file of process.argv.slice(2)) {
    const input = await toInput(file);
    const probabilities = Array.from(await model.predict(input).data());
    const best = probabilities.indexOf(Math.max(...probabilities));
    console.log(\`\${file}: \${labels[best]} (\${(100 * probabilities[best]).toFixed(1)}%)\`);
    input.dispose();
  }
})();
`;
}

function readme(model: RunModel, weightNames: string[]): string {
  const [height, width] = model.imageSize;
  // Names come from run.json and the run folder: shown as text, never as Markdown or HTML.
  const title = markdownText(model.name ?? model.runId);
  const accuracy =
    model.valAccuracy !== undefined ? `, validation accuracy ${(model.valAccuracy * 100).toFixed(1)}%` : '';
  const epoch = model.bestEpoch !== undefined ? ` (best epoch ${model.bestEpoch}${accuracy})` : '';
  return `# ${title}

An image classifier fine-tuned with Fine-Tune Studio, run ${markdownCode(model.runId)}${epoch}.

| file | |
| --- | --- |
| \`model.json\` | TensorFlow.js LayersModel: topology and weights manifest |
| ${weightNames.map((n) => `\`${n}\``).join(', ')} | weights |
| \`labels.json\` | class names, in output order |
| \`preprocessing.json\` | what the model expects as input |
| \`predict.js\` | the inference script below |

**Input**: ${height}×${width} pixels, ${model.channels === 1 ? '1 channel (greyscale)' : '3 channels (RGB)'}, values in
[${model.pixelRange[0]}, ${model.pixelRange[1]}] (0..255 mapped linearly), shape \`[batch, ${height}, ${width}, ${model.channels}]\`.
Images were stretched to that size (no crop), alpha dropped. **Output**: ${model.classNames.length} probabilities
(softmax), in the order of \`labels.json\`: ${model.classNames.map(markdownCode).join(', ')}.

## Use it from Node.js

\`predict.js\` (in this folder) classifies images: \`npm install @tensorflow/tfjs sharp\`, then
\`node predict.js photo.jpg\`.

\`\`\`js
${inferenceSnippet(model)}\`\`\`

In a browser: \`await tf.loadLayersModel('model.json')\` (served next to the weights), and
\`tf.browser.fromPixels(img)\` resized with \`tf.image.resizeBilinear\` to [${height}, ${width}], mapped to the
pixel range above.
`;
}

/**
 * Writes the run's best model to `outDir` (a new or empty folder; with `overwrite` also a previous export),
 * staged and renamed into place (exportFolder.ts).
 */
export function exportRunModel(
  runDir: string,
  outDir: string,
  options: ExportFolderOptions = {},
): ModelExport {
  const model = readRunModel(runDir);
  const target = path.resolve(outDir);
  checkExportTarget(target, options.overwrite ?? false);

  const modelJson = readRunModelJson(model.modelJson) as { weightsManifest?: { paths: string[] }[] };
  const weightNames = model.weightFiles.map((_, i, all) =>
    all.length === 1 ? 'weights.bin' : `weights-${i + 1}.bin`,
  );
  let index = 0;
  for (const group of modelJson.weightsManifest ?? [])
    group.paths = group.paths.map(() => `./${weightNames[index++]}`);

  const written = writeExportFolder(
    target,
    [
      ...model.weightFiles.map((source, i) => ({ name: weightNames[i], copyFrom: source })),
      { name: 'labels.json', data: `${JSON.stringify(model.classNames, null, 2)}\n` },
      { name: 'preprocessing.json', data: `${JSON.stringify(preprocessingOf(model), null, 2)}\n` },
      { name: 'predict.js', data: inferenceSnippet(model) },
      { name: 'README.md', data: readme(model, weightNames) },
      { name: 'model.json', data: JSON.stringify(modelJson) },
    ],
    options,
  );
  return { outDir: target, model, ...written };
}
