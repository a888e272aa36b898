/**
 * The `webgpu` backend: TensorFlow.js' webgpu kernels on a device of the adapter adapterChoice.ts picked.
 * The device's health is watched — its loss and the first error it reports — and every read of a tensor
 * checks it, so a run on a failing GPU stops at its next read with a message (gpuFailure.ts) instead of
 * training on garbage. Synchronous reads (dataSync/arraySync) cannot work in Node on this backend and
 * throw a message that says so.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { adapterLabel, type GpuAdapterRecord } from '../../../protocol/gpuAdapter';
import type { ProbeTarget } from './adapterChoice';
import { createGpu, requestAdapter, requestDevice, type GpuDeviceLike, type GpuLike } from './dawn';
import { GpuFailure, deviceErrorFailure, deviceLostFailure } from './gpuFailure';
import { adapterRecord } from './probeAdapters';

export const WEBGPU = 'webgpu';

interface WebGpuState {
  /** Kept referenced: Dawn's instance lives as long as this object does. */
  gpu: GpuLike;
  device: GpuDeviceLike;
  target: ProbeTarget;
  adapter: GpuAdapterRecord;
  lost: boolean;
  /** The first failure of this device (sticky: every later read throws it; the next init replaces the device). */
  failure?: GpuFailure;
}

let state: WebGpuState | undefined;

export const SYNC_READ_MESSAGE =
  'A synchronous read (dataSync/arraySync/bufferSync) was attempted on the webgpu backend, which cannot read GPU memory synchronously in Node: use `await tensor.data()` instead.';

/**
 * Loads tfjs-backend-webgpu. Its module, when it finds navigator.gpu, registers a backend of its own that
 * asks Dawn for a feature in a form Dawn rejects; loaded before navigator.gpu exists, it registers only
 * its kernels, and the backend is ours.
 */
function webgpuModule(): typeof import('@tensorflow/tfjs-backend-webgpu') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@tensorflow/tfjs-backend-webgpu') as typeof import('@tensorflow/tfjs-backend-webgpu');
}

/** The backend class with the health check around reads. */
function checkedBackend(module: typeof import('@tensorflow/tfjs-backend-webgpu')): typeof WebGPUBackend {
  return class CheckedWebGPUBackend extends module.WebGPUBackend {
    override async read(dataId: object): Promise<tf.backend_util.BackendValues> {
      throwIfFailed();
      let values: tf.backend_util.BackendValues;
      try {
        values = await super.read(dataId);
      } catch (error) {
        throwIfFailed();
        throw error;
      }
      throwIfFailed();
      return values;
    }

    /**
     * Values still held on the CPU (kernels read small inputs that way) are returned; a read that would
     * need the GPU's memory throws our message instead of tfjs' OffscreenCanvas error.
     */
    override readSync(dataId: object): tf.backend_util.BackendValues {
      const data = this.tensorMap.get(dataId);
      if (data && (data.values != null || data.dtype === 'string' || data.dtype === 'complex64')) {
        return super.readSync(dataId);
      }
      throw new Error(SYNC_READ_MESSAGE);
    }
  };
}

/**
 * navigator.gpu, which WebGPUBackend's constructor checks for; set only after tfjs-backend-webgpu's module
 * ran (see webgpuModule). Node 20 has no navigator; newer ones have one without gpu.
 */
function exposeGpu(gpu: GpuLike): void {
  const holder = globalThis as { navigator?: object };
  if (holder.navigator) Object.defineProperty(holder.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(holder, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

function throwIfFailed(): void {
  if (state?.failure) throw state.failure;
}

function watch(s: WebGpuState): void {
  const label = adapterLabel(s.adapter);
  void s.device.lost.then((info) => {
    s.lost = true;
    s.failure ??= deviceLostFailure(info.reason, info.message, label);
  });
  s.device.addEventListener('uncapturederror', (event) => {
    s.failure ??= deviceErrorFailure(event.error.constructor.name, event.error.message, label);
  });
}

/**
 * Makes `webgpu` the current tfjs backend on the target's adapter, creating the device the first time, and
 * again after a failure (a loss, an error it reported) or when another target is asked for: each run starts
 * with a healthy device or not at all.
 */
export async function initWebGpu(target: ProbeTarget): Promise<GpuAdapterRecord> {
  const module = webgpuModule();
  // A device that reported an error or was lost is replaced (its late errors stay with it).
  const reuse =
    state &&
    !state.lost &&
    !state.failure &&
    state.target.dawnBackend === target.dawnBackend &&
    state.target.featureLevel === target.featureLevel;
  if (!reuse) {
    if (tf.findBackend(WEBGPU)) tf.removeBackend(WEBGPU);
    state = undefined;
    const gpu = await createGpu(target);
    const adapter = await requestAdapter(gpu, target);
    if (!adapter) throw new Error(`no ${target.dawnBackend} adapter any more`);
    const device = await requestDevice(adapter);
    const created: WebGpuState = {
      gpu,
      device,
      target,
      adapter: adapterRecord(adapter, target),
      lost: false,
    };
    watch(created);
    const Backend = checkedBackend(module);
    exposeGpu(gpu);
    // tfjs's typings know an older GPUDevice; Dawn's is the real one.
    tf.registerBackend(WEBGPU, () => new Backend(device as never, adapter.info as never));
    state = created;
  }
  if (!(await tf.setBackend(WEBGPU))) throw new Error('the webgpu backend failed to initialise');
  await tf.ready();
  return state!.adapter;
}

/** The adapter of the current device, when the webgpu backend has been initialised. */
export function webgpuAdapter(): GpuAdapterRecord | undefined {
  return state?.adapter;
}

/** The device (tests destroy it to simulate a lost GPU; the bench prints its adapter). */
export function webgpuDevice(): GpuDeviceLike | undefined {
  return state?.device;
}

/** The failure recorded on the device, if any (a lost device, an out-of-memory error…). */
export function webgpuFailure(): GpuFailure | undefined {
  return state?.failure;
}
