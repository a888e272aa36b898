/**
 * The validation set's top losses under a run's saved model (fastai's `plot_top_losses`): the images the
 * model gets most confidently wrong — or right only barely — first. Often a mislabelled image, an odd
 * one, or a class the model confuses. Decoded as the run was trained.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TopLoss } from '../../protocol/dataInsight';
import type { RunModel } from '../../core/export/runModel';
import type { ImageRef } from '../../core/data/scanDataset';
import { decodeImages } from '../data/decodeImages';
import { fileLoadHandler } from '../model/fileModelIO';

/** Clipped as the training loss is (Keras' ε). */
const EPSILON = 1e-7;

export async function topLosses(run: RunModel, val: ImageRef[], limit: number): Promise<TopLoss[]> {
  const { imageSize, channels, pixelRange, classNames } = run;
  const decoded = await decodeImages(val, { imageSize, channels, pixelRange });
  const model = await tfl.loadLayersModel(fileLoadHandler(run.modelJson));
  const classes = classNames.length;
  const perImage = imageSize[0] * imageSize[1] * channels;
  const losses: TopLoss[] = [];
  try {
    for (let start = 0; start < decoded.images.length; start += 64) {
      const refs = decoded.images.slice(start, start + 64);
      const probs = tf.tidy(() => {
        const x = tf.tensor4d(decoded.data.subarray(start * perImage, (start + refs.length) * perImage), [
          refs.length,
          imageSize[0],
          imageSize[1],
          channels,
        ]);
        return model.predict(x) as tf.Tensor;
      });
      const values = (await probs.data()) as Float32Array;
      probs.dispose();
      refs.forEach((ref, i) => {
        const row = values.subarray(i * classes, (i + 1) * classes);
        let predicted = 0;
        for (let k = 1; k < classes; k++) if (row[k] > row[predicted]) predicted = k;
        const labelProbability = row[ref.classIndex];
        losses.push({
          file: ref.file,
          label: classNames[ref.classIndex],
          predicted: classNames[predicted],
          probability: row[predicted],
          labelProbability,
          loss: -Math.log(Math.min(1 - EPSILON, Math.max(EPSILON, labelProbability))),
        });
      });
    }
  } finally {
    model.dispose();
  }
  return losses.sort((a, b) => b.loss - a.loss || (a.file < b.file ? -1 : 1)).slice(0, limit);
}
