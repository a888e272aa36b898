/**
 * GPU errors in words. WebGPU reports most failures asynchronously and without throwing — an allocation
 * that runs out of memory or exceeds a buffer limit leaves an invalid buffer, and kernels reading it give
 * garbage — so the backend records the first error its device reports (or its loss) and every later read
 * of a tensor throws a GpuFailure with this text instead of returning numbers (webgpuBackend.ts).
 */
export type GpuFailureKind = 'lost' | 'out-of-memory' | 'too-large' | 'failed';

export class GpuFailure extends Error {
  constructor(
    readonly kind: GpuFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'GpuFailure';
  }
}

const SMALLER =
  'Lower training.batchSize or dataset.imageSize in the experiment file (or freeze more layers, which keeps fewer activations for the backward pass).';

/** An error the device reported (its class name: GPUOutOfMemoryError, GPUValidationError, GPUInternalError). */
export function deviceErrorFailure(errorClass: string, detail: string, adapter: string): GpuFailure {
  const text = detail.split('\n')[0].trim().replace(/\.$/, '');
  if (errorClass === 'GPUOutOfMemoryError' || /out of memory/i.test(text)) {
    return new GpuFailure('out-of-memory', `The GPU ran out of memory (${adapter}): ${text}. ${SMALLER}`);
  }
  if (/exceeds the max|exceeds the maximum|limit \(\d+\)/i.test(text)) {
    return new GpuFailure(
      'too-large',
      `A tensor is larger than this GPU allows (${adapter}): ${text}. ${SMALLER}`,
    );
  }
  return new GpuFailure(
    'failed',
    `A GPU operation failed (${adapter}): ${errorClass}: ${text}. This is a fault of TensorFlow.js' webgpu kernels or of the GPU driver, not of your settings: use the backend "wasm" for this experiment.`,
  );
}

/** The device was lost: destroyed, a driver reset or crash, or the GPU ran out of memory for good. */
export function deviceLostFailure(reason: string, detail: string, adapter: string): GpuFailure {
  const first = detail.trim().split('\n')[0].replace(/\.$/, '');
  const what = first ? `${reason}: ${first}` : reason;
  return new GpuFailure(
    'lost',
    `The GPU device was lost (${adapter}; ${what}). A driver reset, a GPU crash or the GPU running out of memory ends the device; if it ran out of memory: ${SMALLER}`,
  );
}
