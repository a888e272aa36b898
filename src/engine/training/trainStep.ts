/**
 * One optimisation step: the forward pass in training mode, the data loss (cross-entropy against the
 * batch's targets) plus the weight penalty, gradients of the variables that train now, each applied by its
 * learning-rate group. Returns the numbers the loop records.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegularizationConfig } from '../../protocol/experimentConfig';
import { crossEntropy } from './evaluate';
import { regularizationPenalty, type PenaltyInputs } from './penalties';

export interface StepResult {
  /** Data loss: cross-entropy against the targets (not counting the penalty). */
  loss: number;
  /** The weight penalty; 0 without regularization. */
  penalty: number;
  /** Images whose own label was the top prediction. */
  correct: number;
}

/** The optimizers' side of a step (LearningRateGroups). */
export interface StepRates {
  variables(): tf.Variable[];
  apply(grads: tf.NamedTensorMap): void;
}

export interface StepModel {
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  penalty: PenaltyInputs;
  regularization: RegularizationConfig;
}

export async function trainStep(
  model: StepModel,
  rates: StepRates,
  x: tf.Tensor,
  targets: tf.Tensor2D,
  labels: Int32Array,
): Promise<StepResult> {
  let dataLoss: tf.Scalar | null = null;
  let penalty: tf.Scalar | null = null;
  let predicted: tf.Tensor1D | null = null;
  const variables = rates.variables();
  const training = new Set(variables);
  const { value, grads } = tf.variableGrads(() => {
    const probs = model.forward(x, true);
    dataLoss = tf.keep(crossEntropy(probs, targets));
    predicted = tf.keep(tf.argMax(probs, -1) as tf.Tensor1D);
    penalty = regularizationPenalty(model.penalty, model.regularization, training);
    if (penalty === null) return dataLoss;
    tf.keep(penalty);
    return tf.add(dataLoss, penalty) as tf.Scalar;
  }, variables);
  rates.apply(grads);
  const kept = [dataLoss, penalty, predicted] as unknown as [tf.Scalar, tf.Scalar | null, tf.Tensor1D];
  try {
    const loss = (await kept[0].data())[0];
    const pen = kept[1] === null ? 0 : (await kept[1].data())[0];
    const predictions = await kept[2].data();
    let correct = 0;
    for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct += 1;
    return { loss, penalty: pen, correct };
  } finally {
    tf.dispose([value, ...kept, ...Object.values(grads)].filter((v): v is tf.Tensor => v != null));
  }
}
