/** Optimizers by name. Two instances per run: one for the new head, one for trainable pre-trained layers. */
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerName } from '../../protocol/experimentConfig';

export function makeOptimizer(name: OptimizerName, learningRate: number, momentum: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return momentum > 0 ? tf.train.momentum(learningRate, momentum) : tf.train.sgd(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate, 0.9, momentum);
  }
}
