/**
 * Grad-CAM (Selvaraju et al., 2017): where in the image the evidence for a class is, as the model sees
 * it. The activations A (h × w × k) of the last spatial layer before the head are weighted per channel by
 * the mean gradient of the class score with respect to them, summed over channels and passed through a
 * ReLU: cam = ReLU(Σ_k mean_ij(∂y_c/∂A_ijk) · A_k). The class score y_c is the logit before the softmax
 * (its gradient does not vanish when the model is sure), or the probability when the model's last layer
 * is not a Dense softmax.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { lastSpatialTensor, modelInput, runSegment, softmaxOutputLayer } from './graphSegment';

export interface GradCamMap {
  /** h × w, in [0, 1] (divided by its maximum; all zero when no location supports the class). */
  map: Float32Array;
  height: number;
  width: number;
  /** Name of the spatial layer. */
  layer: string;
  /** The model's class probabilities for the image. */
  probabilities: Float32Array;
}

/** `image`: one image, [1, height, width, channels], as the model takes it. */
export async function gradCam(
  model: tfl.LayersModel,
  image: tf.Tensor4D,
  classIndex: number,
  baseLayers?: ReadonlySet<tfl.layers.Layer>,
): Promise<GradCamMap> {
  const classes = model.outputs[0].shape[1] as number;
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= classes) {
    throw new Error(`Class index ${classIndex} is not one of the model's ${classes} classes.`);
  }
  const input = modelInput(model);
  const spatial = lastSpatialTensor(model, baseLayers);
  const softmax = softmaxOutputLayer(model);
  const output = model.outputs[0];

  const [cam, probs] = tf.tidy(() => {
    const activations = runSegment(model, input, image, spatial.tensor);
    const score = (a: tf.Tensor): tf.Scalar => {
      if (softmax) {
        const features = runSegment(model, spatial.tensor, a, softmax.input);
        const [kernel, bias] = softmax.layer.getWeights();
        const logits = bias
          ? tf.add(tf.matMul(features as tf.Tensor2D, kernel as tf.Tensor2D), bias)
          : tf.matMul(features as tf.Tensor2D, kernel as tf.Tensor2D);
        return tf.sum(tf.slice(logits, [0, classIndex], [-1, 1]));
      }
      const p = runSegment(model, spatial.tensor, a, output);
      return tf.sum(tf.slice(p, [0, classIndex], [-1, 1]));
    };
    const gradients = tf.grad(score)(activations);
    const weights = tf.mean(gradients, [1, 2], true); // [1, 1, 1, k]
    const weighted = tf.relu(tf.sum(tf.mul(activations, weights), -1)); // [1, h, w]
    const max = tf.max(weighted);
    const normalised = tf.div(weighted, tf.maximum(max, 1e-12));
    return [normalised, runSegment(model, input, image, output)];
  });
  const height = cam.shape[1] as number;
  const width = cam.shape[2] as number;
  const [map, probabilities] = await Promise.all([cam.data(), probs.data()]).finally(() =>
    tf.dispose([cam, probs]),
  );
  return {
    map: Float32Array.from(map),
    height,
    width,
    layer: spatial.layer.name,
    probabilities: Float32Array.from(probabilities),
  };
}
