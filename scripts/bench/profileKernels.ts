/**
 * Where a full fine-tuning step of the MobileNet-like bench network spends its time on a backend: every
 * kernel of that backend is wrapped with a timer (wasm and cpu kernels are synchronous, so wall time per
 * call is the kernel's own), a few warm-up steps run, then N timed steps; prints a table per kernel.
 *   node dist/profileKernels.js [--backend wasm] [--threads N] [--steps 5] [--batch 32] [--unfused] [--tfjs-adam] [--inference] [--shapes]
 *     [--size 96] [--alpha 0.25] (the network's input size and width, as in the bench)
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { fusedChainCall } from '../../src/engine/backend/fusedOps/fusedChains';
import { fusedLeafCall } from '../../src/engine/backend/fusedOps/fusedLayerCall';
import { walkContainer } from '../../src/engine/model/graphWalk';
import { makeOptimizer } from '../../src/engine/training/optimizers';
import { buildMobileNetLike } from './mobilenetLike';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

const BY_SHAPE = process.argv.includes('--shapes');

interface Tally {
  calls: number;
  ms: number;
}

function wrapKernels(backendName: string, tally: Map<string, Tally>): void {
  for (const config of tf.getKernelsForBackend(backendName)) {
    const inner = config.kernelFunc;
    const wrapped: tf.KernelConfig = {
      ...config,
      kernelFunc: (args) => {
        const start = performance.now();
        const out = inner(args);
        // --shapes: one row per kernel and input shapes.
        const key = BY_SHAPE
          ? `${config.kernelName} ${Object.values(args.inputs)
              .map((t) => (t ? `[${(t as tf.TensorInfo).shape}]` : '-'))
              .join(' ')}`
          : config.kernelName;
        const t = tally.get(key) ?? { calls: 0, ms: 0 };
        t.calls += 1;
        t.ms += performance.now() - start;
        tally.set(key, t);
        return out;
      },
    };
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(wrapped);
  }
}

async function main(): Promise<void> {
  const backend = option('backend', 'wasm') as 'wasm' | 'cpu';
  const steps = Number(option('steps', '5'));
  const batch = Number(option('batch', '32'));
  // --unfused: every layer through its own call (tfjs-layers' composed ops), for comparison.
  const fused = !process.argv.includes('--unfused');
  const threads = option('threads', '');
  const selection = await initBackend(backend, threads ? { threads: Number(threads) } : {});
  if (selection.threads) console.log(`${selection.threads} thread(s)`);
  const size = Number(option('size', '96'));
  const model = buildMobileNetLike(size, Number(option('alpha', '0.25')), 10);
  // --tfjs-adam: tfjs' own AdamOptimizer instead of ours (fusedAdam.ts), for comparison.
  const optimizer = process.argv.includes('--tfjs-adam')
    ? tf.train.adam(0.001)
    : makeOptimizer('adam', 0.001, 0);
  const x = tf.randomUniform([batch, size, size, 3], -1, 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10).cast('float32');
  // --inference: time the forward pass alone (evaluation mode) instead of a training step.
  const inference = process.argv.includes('--inference');
  const forward = (training: boolean): tf.Tensor =>
    walkContainer(model, [x], {
      kwargsFor: () => ({ training }),
      applyLayer: (layer, input, kwargs) => (fused ? fusedLeafCall(layer, input, kwargs) : undefined),
      applyChain: (layers, input, kwargs) => (fused ? fusedChainCall(layers, input, kwargs) : undefined),
    })[0] as tf.Tensor;
  const step = (): void => {
    if (inference) {
      tf.tidy(() => forward(false).dataSync());
      return;
    }
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const p = forward(true);
        return tf.losses.softmaxCrossEntropy(y, p) as tf.Scalar;
      });
      optimizer.applyGradients(grads);
    });
  };
  for (let i = 0; i < 2; i++) step();
  const tally = new Map<string, Tally>();
  wrapKernels(tf.getBackend(), tally);
  const start = performance.now();
  for (let i = 0; i < steps; i++) step();
  const total = performance.now() - start;
  const rows = [...tally.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernelTotal = rows.reduce((s, [, t]) => s + t.ms, 0);
  console.log(
    `${backend}: ${(total / steps).toFixed(0)} ms/step, ${((batch * steps * 1000) / total).toFixed(1)} img/s; kernels ${(kernelTotal / steps).toFixed(0)} ms/step`,
  );
  for (const [name, t] of rows.slice(0, BY_SHAPE ? 80 : 30)) {
    console.log(
      `${name.padEnd(BY_SHAPE ? 70 : 40)} ${(t.ms / steps).toFixed(1).padStart(8)} ms/step ${String(t.calls / steps).padStart(6)} calls/step`,
    );
  }
}

void main();
