/**
 * A training-mode BatchNormalization's moving-average update as one kernel: tfjs-layers' own update,
 * v ← v − (v − batch value)·(1 − momentum), for the moving mean and the moving variance together.
 *
 * Why: composed, it is three ops and a scalar tensor per statistic — six kernel calls and six tensors per
 * layer per step, ~160 on a MobileNet step, ~2.5 ms of serial JavaScript while the kernel threads idle.
 * The float32 operations are the same, value by value (each of −, ×, − rounded to float32, the factor
 * 1 − momentum rounded to float32 first, as tf.mul's scalar is), so the statistics have the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { currentBackendHas, registerFloatKernel } from './floatKernel';

const MOVING_AVERAGES = 'FineTuneMovingAverages';

interface Attrs {
  momentum: number;
}

/** The fields of tfjs-layers' BatchNormalization the update uses (private in the typings). */
export interface BatchNormMoving {
  momentum: number;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  registerFloatKernel<Attrs>({
    kernelName: MOVING_AVERAGES,
    inputNames: ['movingMean', 'movingVariance', 'mean', 'variance'],
    outputShapes: ([meanShape, varianceShape]) => [meanShape, varianceShape],
    compute: (
      [movingMean, movingVariance, mean, variance],
      [newMean, newVariance],
      _shapes,
      { momentum },
    ) => {
      const factor = Math.fround(1 - momentum);
      const update = (moving: Float32Array, value: Float32Array, out: Float32Array): void => {
        for (let i = 0; i < out.length; i++) {
          out[i] = moving[i] - Math.fround(Math.fround(moving[i] - value[i]) * factor);
        }
      };
      update(movingMean, mean, newMean);
      update(movingVariance, variance, newVariance);
    },
  });
}

/** The composed update, for a backend without the kernel (the same as tfjs-layers' BatchNormalization). */
function composedUpdate(variable: tfl.LayerVariable, value: tf.Tensor, momentum: number): void {
  const current = variable.read();
  variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - momentum)));
}

/** Updates the layer's moving mean and variance from one batch's statistics. */
export function updateMovingAverages(bn: BatchNormMoving, mean: tf.Tensor, variance: tf.Tensor): void {
  register();
  tf.tidy(() => {
    if (!currentBackendHas(MOVING_AVERAGES) || mean.dtype !== 'float32' || variance.dtype !== 'float32') {
      composedUpdate(bn.movingMean, mean, bn.momentum);
      composedUpdate(bn.movingVariance, variance, bn.momentum);
      return;
    }
    const [newMean, newVariance] = tf
      .engine()
      .runKernel(
        MOVING_AVERAGES,
        { movingMean: bn.movingMean.read(), movingVariance: bn.movingVariance.read(), mean, variance },
        { momentum: bn.momentum } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
    bn.movingMean.write(newMean);
    bn.movingVariance.write(newVariance);
  });
}
