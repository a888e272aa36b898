/** Loss, accuracy and per-image predictions on a data set, in inference mode. */
import * as tf from '@tensorflow/tfjs-core';
import { prefetchBatches } from '../data/prefetch';
import type { DataSplit } from '../data/rowStore';
import type { Prediction } from './summary';

/** Mean categorical cross-entropy of probabilities, clipped like Keras (ε = 1e-7). */
export function crossEntropy(probs: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.mean(tf.neg(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, 1e-7, 1 - 1e-7))), -1))),
  );
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  predictions: Prediction[];
}

/**
 * `deadline` (a performance.now() time) ends the evaluation after the batch that passes it: Stop must end
 * the trainer within 2 s, however large the validation set. Loss and accuracy are then over the images
 * evaluated (predictions.length of them).
 */
export async function evaluate(
  forward: (x: tf.Tensor, training: boolean) => tf.Tensor,
  data: DataSplit,
  numClasses: number,
  batchSize: number,
  deadline = Infinity,
): Promise<Evaluation> {
  let lossSum = 0;
  let correct = 0;
  const predictions: Prediction[] = [];
  const indices = Int32Array.from({ length: data.count }, (_, i) => i);
  for await (const batch of prefetchBatches(data, indices, batchSize, numClasses)) {
    if (predictions.length > 0 && performance.now() > deadline) {
      tf.dispose([batch.x, batch.y]);
      break;
    }
    const { start } = batch;
    const end = start + batch.labels.length;
    const [loss, probs] = tf.tidy(() => {
      const p = forward(batch.x, false);
      return [crossEntropy(p, batch.y), p] as const;
    });
    lossSum += (await loss.data())[0] * (end - start);
    const values = await probs.data();
    for (let i = 0; i < end - start; i++) {
      let best = 0;
      for (let k = 1; k < numClasses; k++)
        if (values[i * numClasses + k] > values[i * numClasses + best]) best = k;
      if (best === batch.labels[i]) correct += 1;
      predictions.push({
        file: data.files[start + i],
        trueIndex: batch.labels[i],
        predictedIndex: best,
        confidence: values[i * numClasses + best],
      });
    }
    tf.dispose([loss, probs, batch.x, batch.y]);
  }
  return {
    loss: lossSum / Math.max(1, predictions.length),
    accuracy: correct / Math.max(1, predictions.length),
    predictions,
  };
}
