/**
 * What an ONNX export writes beside model.onnx: preprocessing.json (the input contract) and a README.md with
 * ONNX Runtime examples for Python and Node.js that prepare pixels as training did.
 */
import { markdownCode, markdownText } from '../../core/portable/markdownText';
import { ONNX_INPUT, ONNX_OUTPUT } from './onnx/convertModel';
import type { RunModel } from '../../core/export/runModel';

/** preprocessing.json of an ONNX export. */
export interface OnnxPreprocessing {
  format: 'onnx';
  input: string;
  output: string;
  /** [batch, height, width, channels]; batch is free. */
  inputShape: [null, number, number, number];
  layout: 'NHWC';
  imageSize: [number, number];
  channels: 1 | 3;
  channelOrder: 'RGB' | 'luma (BT.601)';
  /** What the input takes: 8-bit pixel values as floats. */
  inputRange: [0, 255];
  /** The range the model trained on, applied inside the graph. */
  pixelRange: [number, number];
  pixelRangeInGraph: true;
  resize: 'stretch';
}

export function onnxPreprocessingOf(model: RunModel): OnnxPreprocessing {
  return {
    format: 'onnx',
    input: ONNX_INPUT,
    output: ONNX_OUTPUT,
    inputShape: [null, model.imageSize[0], model.imageSize[1], model.channels],
    layout: 'NHWC',
    imageSize: model.imageSize,
    channels: model.channels,
    channelOrder: model.channels === 1 ? 'luma (BT.601)' : 'RGB',
    inputRange: [0, 255],
    pixelRange: model.pixelRange,
    pixelRangeInGraph: true,
    resize: 'stretch',
  };
}

/** The README's Python example (ONNX Runtime, PIL, numpy). */
export function pythonSnippet(model: RunModel): string {
  const [height, width] = model.imageSize;
  const grey = model.channels === 1;
  return `# pip install onnxruntime pillow numpy; python predict.py photo.jpg (in this folder)
import json, sys, numpy as np, onnxruntime as ort
from PIL import Image, ImageOps

session = ort.InferenceSession("model.onnx")
labels = json.load(open("labels.json"))
image = ImageOps.exif_transpose(Image.open(sys.argv[1])).convert("${grey ? 'L' : 'RGB'}").resize((${width}, ${height}), Image.LANCZOS)
pixels = np.asarray(image, dtype=np.float32)[None${grey ? ', ..., None' : ''}]  # [1, ${height}, ${width}, ${model.channels}], 0..255
probabilities = session.run(["${ONNX_OUTPUT}"], {"${ONNX_INPUT}": pixels})[0][0]
best = int(probabilities.argmax())
print(f"{labels[best]} ({probabilities[best]:.1%})")
`;
}

/** The README's Node.js example (onnxruntime-node, sharp: the decoder training used). */
export function nodeSnippet(model: RunModel): string {
  const [height, width] = model.imageSize;
  const grey = model.channels === 1;
  const pixels = grey
    ? `Float32Array.from({ length: ${height * width} }, (_, p) => 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2])`
    : 'Float32Array.from(rgb)';
  return `// npm install onnxruntime-node sharp; save as predict.mjs; node predict.mjs photo.jpg (in this folder)
import fs from 'node:fs';
import ort from 'onnxruntime-node';
import sharp from 'sharp';

const labels = JSON.parse(fs.readFileSync('labels.json', 'utf8'));
const session = await ort.InferenceSession.create('model.onnx');
const rgb = await sharp(process.argv[2]).rotate().resize(${width}, ${height}, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
const pixels = new ort.Tensor('float32', ${pixels}, [1, ${height}, ${width}, ${model.channels}]);
const probabilities = Array.from((await session.run({ pixels })).${ONNX_OUTPUT}.data);
const best = probabilities.indexOf(Math.max(...probabilities));
console.log(\`\${labels[best]} (\${(100 * probabilities[best]).toFixed(1)}%)\`);
`;
}

export function onnxReadme(model: RunModel, sizes: { fileBytes: number; opTypes: string[] }): string {
  const [height, width] = model.imageSize;
  // Names come from run.json and the run folder: shown as text, never as Markdown or HTML.
  const title = markdownText(model.name ?? model.runId);
  const accuracy =
    model.valAccuracy !== undefined ? `, validation accuracy ${(model.valAccuracy * 100).toFixed(1)}%` : '';
  const epoch = model.bestEpoch !== undefined ? ` (best epoch ${model.bestEpoch}${accuracy})` : '';
  const [lo, hi] = model.pixelRange;
  const ops = [...new Set(sizes.opTypes)].sort().join(', ');
  return `# ${title} — ONNX

An image classifier fine-tuned with Fine-Tune Studio, run ${markdownCode(model.runId)}${epoch}, as an ONNX model
(opset 13, ${(sizes.fileBytes / 1024).toFixed(0)} KiB) for ONNX Runtime, TensorRT, OpenVINO, Core ML tools and the rest.

| file | |
| --- | --- |
| \`model.onnx\` | the model: weights and graph |
| \`labels.json\` | class names, in output order |
| \`preprocessing.json\` | what the model expects as input |

**Input** \`${ONNX_INPUT}\`: float32 \`[batch, ${height}, ${width}, ${model.channels}]\` — **NHWC** (channels last, as
TensorFlow.js and PIL/numpy hold images), ${model.channels === 1 ? 'one channel: luma (ITU-R BT.601, 0.299 R + 0.587 G + 0.114 B)' : 'RGB'}, plain 8-bit pixel values
**0..255**. The mapping to the range the model trained on ([${lo}, ${hi}]) is part of the graph, followed
by one transpose to NCHW; do not normalise the pixels yourself. Images were stretched to ${width}×${height}
(no crop, Lanczos resampling), EXIF orientation applied, alpha dropped.

**Output** \`${ONNX_OUTPUT}\`: float32 \`[batch, ${model.classNames.length}]\`, softmax probabilities in the order of
\`labels.json\`: ${model.classNames.map(markdownCode).join(', ')}.

## Python (ONNX Runtime)

\`\`\`python
${pythonSnippet(model)}\`\`\`

## Node.js (onnxruntime-node)

\`\`\`js
${nodeSnippet(model)}\`\`\`

Operators used: ${ops}. Batch normalisation is folded into the convolutions before it where possible;
dropout is gone (inference only).
`;
}
