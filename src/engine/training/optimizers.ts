/** Optimizers by name, and changing their learning rate mid-run (for schedules). */
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerName } from '../../protocol/experimentConfig';
import { FusedAdamOptimizer } from './fusedAdam';

export function makeOptimizer(name: OptimizerName, learningRate: number, momentum: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return new FusedAdamOptimizer(learningRate);
    case 'sgd':
      return momentum > 0 ? tf.train.momentum(learningRate, momentum) : tf.train.sgd(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate, 0.9, momentum);
  }
}

/**
 * Sets an optimizer's learning rate. tfjs has `setLearningRate` only on SGD/Momentum (which cache the rate
 * as a scalar); Adam and RMSprop read their `learningRate` field on every step.
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  const withSetter = optimizer as tf.Optimizer & { setLearningRate?: (lr: number) => void };
  if (typeof withSetter.setLearningRate === 'function') withSetter.setLearningRate(learningRate);
  else (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
}
