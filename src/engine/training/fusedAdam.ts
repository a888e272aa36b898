/**
 * tfjs' Adam with each variable's step as one kernel (fusedOps/adamStep.ts) where the backend has it
 * (wasm, cpu): the same state (moments as `<name>/m`, `<name>/v` variables, the running β powers), the
 * same float32 arithmetic — so the same bits, the same checkpoints, the same resumes — in one pass per
 * variable instead of about fifteen kernel calls. Other backends run tfjs' own applyGradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_STEP, type AdamStepAttrs } from '../backend/fusedOps/adamStep';
import { currentBackendHas } from '../backend/fusedOps/floatKernel';

/** AdamOptimizer's fields (private in the typings). */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    // tf.train.adam's defaults.
    super(learningRate, 0.9, 0.999);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const gradients: { name: string; tensor: tf.Tensor | null | undefined }[] = Array.isArray(
      variableGradients,
    )
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    const fusable =
      currentBackendHas(ADAM_STEP) &&
      gradients.every(
        ({ name, tensor }) =>
          tensor == null ||
          (tensor.dtype === 'float32' && tf.engine().registeredVariables[name]?.dtype === 'float32'),
      );
    if (!fusable) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamFields;
    const attrs: AdamStepAttrs = {
      beta1: self.beta1,
      beta2: self.beta2,
      epsilon: self.epsilon,
      learningRate: self.learningRate,
    };
    tf.tidy(() => {
      const oneMinusAccBeta1 = tf.sub(1, self.accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, self.accBeta2);
      gradients.forEach(({ name, tensor: gradient }, i) => {
        const value = tf.engine().registeredVariables[name];
        self.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        self.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(
            ADAM_STEP,
            { value, m, v, gradient, oneMinusAccBeta1, oneMinusAccBeta2 },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
        m.assign(newM);
        v.assign(newV);
        value.assign(newValue);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    this.incrementIterations();
  }
}
