/**
 * `reinit`: keep a layer's architecture, draw fresh weights with the layer's own initializers — the way to
 * transfer only lower-level features. Randomness comes from Math.random, which the trainer seeds per run.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Initializer = { apply(shape: number[], dtype?: tf.DataType): tf.Tensor };

/** `features/conv1/depthwise_kernel` → `depthwiseInitializer`, `moving_mean` → `movingMeanInitializer`… */
function initializerFieldFor(weightName: string): string {
  const short = weightName.split('/').pop()!.replace(/_\d+$/, '');
  const special: Record<string, string> = { depthwise_kernel: 'depthwise', pointwise_kernel: 'pointwise' };
  const camel = special[short] ?? short.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return `${camel}Initializer`;
}

function fallbackInitializer(weightName: string): Initializer {
  return /kernel|embeddings/.test(weightName) ? tfl.initializers.glorotUniform({}) : tfl.initializers.zeros();
}

export function reinitializeLayer(layer: tfl.layers.Layer): void {
  for (const weight of layer.weights) {
    const field = initializerFieldFor(weight.originalName);
    const own = (layer as unknown as Record<string, Initializer | undefined>)[field];
    const init = own && typeof own.apply === 'function' ? own : fallbackInitializer(weight.originalName);
    const fresh = tf.tidy(() => init.apply(weight.shape as number[], weight.dtype));
    weight.write(fresh);
    fresh.dispose();
  }
}
