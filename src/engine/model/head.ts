/** The new classification head put on top of the cut: [pool] → (Dense → [BN] → ReLU → [Dropout])* → [Dropout] → softmax. */
import * as tfl from '@tensorflow/tfjs-layers';
import type { HeadConfig } from '../../protocol/experimentConfig';

export interface HeadResult {
  output: tfl.SymbolicTensor;
  layers: tfl.layers.Layer[];
  notes: string[];
}

/** `head_dense_1`, or `head_dense_1_2` if the base already uses that name (names must be unique in a model). */
function uniqueName(base: string, taken: Set<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

export function buildHead(
  cutOutput: tfl.SymbolicTensor,
  head: HeadConfig,
  numClasses: number,
  takenNames: Set<string>,
): HeadResult {
  const layers: tfl.layers.Layer[] = [];
  const notes: string[] = [];
  const add = (layer: tfl.layers.Layer, x: tfl.SymbolicTensor): tfl.SymbolicTensor => {
    layers.push(layer);
    return layer.apply(x) as tfl.SymbolicTensor;
  };
  let x = cutOutput;
  if (x.shape.length === 4) {
    // A spatial cut (e.g. after a pooling block): global average pooling keeps the head small and
    // independent of the image size, as in Keras' transfer-learning guide.
    x = add(tfl.layers.globalAveragePooling2d({ name: uniqueName('head_pool', takenNames) }), x);
    notes.push(
      `the cut output is spatial ${JSON.stringify(cutOutput.shape.slice(1))}: the head starts with global average pooling`,
    );
  } else if (x.shape.length > 2) {
    x = add(tfl.layers.flatten({ name: uniqueName('head_flatten', takenNames) }), x);
  }
  head.hiddenUnits.forEach((units, i) => {
    const n = i + 1;
    if (head.batchNorm) {
      x = add(
        tfl.layers.dense({ units, useBias: false, name: uniqueName(`head_dense_${n}`, takenNames) }),
        x,
      );
      x = add(tfl.layers.batchNormalization({ name: uniqueName(`head_bn_${n}`, takenNames) }), x);
      x = add(
        tfl.layers.activation({ activation: 'relu', name: uniqueName(`head_relu_${n}`, takenNames) }),
        x,
      );
    } else {
      x = add(
        tfl.layers.dense({ units, activation: 'relu', name: uniqueName(`head_dense_${n}`, takenNames) }),
        x,
      );
    }
    if (head.dropout > 0)
      x = add(
        tfl.layers.dropout({ rate: head.dropout, name: uniqueName(`head_dropout_${n}`, takenNames) }),
        x,
      );
  });
  if (head.hiddenUnits.length === 0) {
    if (head.batchNorm)
      x = add(tfl.layers.batchNormalization({ name: uniqueName('head_bn', takenNames) }), x);
    if (head.dropout > 0)
      x = add(tfl.layers.dropout({ rate: head.dropout, name: uniqueName('head_dropout', takenNames) }), x);
  }
  const output = add(
    tfl.layers.dense({
      units: numClasses,
      activation: 'softmax',
      name: uniqueName('head_output', takenNames),
    }),
    x,
  );
  return { output, layers, notes };
}
