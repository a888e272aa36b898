/**
 * One Adam step for one variable as a single kernel (and its moments), for the CPU backends: tfjs'
 * AdamOptimizer spends about fifteen kernel calls per variable and step (multiplies, adds, divisions,
 * a square, a square root, assignments) — on a MobileNet over a thousand calls a step, each a pass and
 * an allocation. The arithmetic is tfjs' own, operation for operation in float32 (the same bits): on the
 * kernel pool's threads in WebAssembly SIMD when the tensors live in the wasm backend's shared heap,
 * else a loop here rounding every operation to float32.
 */
import { registerFloatKernel } from './floatKernel';
import { adamStepOnHeap, type AdamConstants } from '../wasmThreads/heapKernels';

export const ADAM_STEP = 'FineTuneAdamStep';

/** Attributes of the kernel: the optimizer's constants (the bias corrections are inputs: d1, d2). */
export interface AdamStepAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

const f = Math.fround;

/** w, m, v, g (same shape) and the scalars 1 − β1ᵗ, 1 − β2ᵗ → w', m', v'. */
function adamStep(inputs: Float32Array[], outputs: Float32Array[], attrs: AdamStepAttrs): void {
  const [w, m, v, g, d1s, d2s] = inputs;
  const [ow, om, ov] = outputs;
  // As tfjs computes them: `1 - beta` in double, then a float32 scalar; the learning rate negated.
  const k: AdamConstants = {
    b1: f(attrs.beta1),
    c1: f(1 - attrs.beta1),
    b2: f(attrs.beta2),
    c2: f(1 - attrs.beta2),
    d1: d1s[0],
    d2: d2s[0],
    eps: f(attrs.epsilon),
    negLr: f(-attrs.learningRate),
  };
  if (adamStepOnHeap([w, m, v, g], [ow, om, ov], k)) return;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = f(f(m[i] * k.b1) + f(gi * k.c1));
    const vi = f(f(v[i] * k.b2) + f(f(gi * gi) * k.c2));
    om[i] = mi;
    ov[i] = vi;
    ow[i] = f(f(f(f(mi / k.d1) / f(f(Math.sqrt(f(vi / k.d2))) + k.eps)) * k.negLr) + w[i]);
  }
}

let registered = false;

/** Registers the kernel for wasm and cpu; idempotent. */
export function registerAdamStep(): void {
  if (registered) return;
  registered = true;
  registerFloatKernel<AdamStepAttrs>({
    kernelName: ADAM_STEP,
    inputNames: ['value', 'm', 'v', 'gradient', 'oneMinusAccBeta1', 'oneMinusAccBeta2'],
    outputShapes: ([shape]) => [shape, shape, shape],
    compute: (inputs, outputs, _shapes, attrs) => adamStep(inputs, outputs, attrs),
  });
}
