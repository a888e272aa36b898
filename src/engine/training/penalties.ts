/**
 * Weight penalties added to the training objective: L1/L2 on trainable kernels (Keras' convention:
 * l1·Σ|w| + l2·Σw²) and L2-SP, α·Σ‖w − w_pretrained‖² over trainable pre-trained weights, which keeps
 * fine-tuned weights near the starting point instead of near zero.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegularizationConfig } from '../../protocol/experimentConfig';

export interface PenaltyInputs {
  kernelVariables: tf.Variable[];
  pretrainedValues: Map<tf.Variable, tf.Tensor>;
}

/**
 * Scalar penalty, or null when every coefficient is 0 (or nothing it applies to trains). Call inside the
 * gradient function. `training`: the variables this step updates — a layer that gets no gradient (waiting
 * in gradual unfreezing) adds nothing, so `reg_loss` is the penalty the optimizer actually works against.
 */
export function regularizationPenalty(
  model: PenaltyInputs,
  reg: RegularizationConfig,
  training?: ReadonlySet<tf.Variable>,
): tf.Scalar | null {
  const trains = (w: tf.Variable): boolean => training === undefined || training.has(w);
  const terms: tf.Scalar[] = [];
  for (const w of model.kernelVariables) {
    if (!trains(w)) continue;
    if (reg.l1 > 0) terms.push(tf.mul(reg.l1, tf.sum(tf.abs(w))));
    if (reg.l2 > 0) terms.push(tf.mul(reg.l2, tf.sum(tf.square(w))));
  }
  if (reg.l2sp > 0) {
    for (const [w, w0] of model.pretrainedValues)
      if (trains(w)) terms.push(tf.mul(reg.l2sp, tf.sum(tf.squaredDifference(w, w0))));
  }
  return terms.length === 0 ? null : (tf.addN(terms) as tf.Scalar);
}
