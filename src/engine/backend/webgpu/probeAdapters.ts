/**
 * Probing the WebGPU adapters of this machine: for each target of the platform (adapterChoice.ts), a Dawn
 * instance on that backend, its high-performance adapter, and a device on it (an adapter whose device
 * cannot be created is no use). Runs in a short-lived child process (gpuProbe.ts), so that Dawn's and the
 * drivers' diagnostics on stderr are collected for the message instead of landing in the user's terminal,
 * and so that a driver that crashes while being probed takes down only the probe.
 */
import type { GpuAdapterRecord } from '../../../protocol/gpuAdapter';
import { isSoftwareAdapter, probeTargets, type ProbeOutcome, type ProbeTarget } from './adapterChoice';
import { createGpu, requestAdapter, requestDevice, type GpuAdapterLike } from './dawn';

/** Marks the probe's answer on the child's stdout. */
export const PROBE_RESULT_PREFIX = 'webgpu-probe:';

/** run.json's description of an adapter found on a target. */
export function adapterRecord(adapter: GpuAdapterLike, target: ProbeTarget): GpuAdapterRecord {
  const info = adapter.info;
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    dawnBackend: target.dawnBackend,
    // An adapter in compatibility mode lacks this feature (WebGPU's featureLevel "compatibility").
    featureLevel: adapter.features.has('core-features-and-limits') ? 'core' : target.featureLevel,
    software: isSoftwareAdapter(info),
  };
}

const messageOf = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0];

export async function probeTarget(target: ProbeTarget): Promise<ProbeOutcome> {
  try {
    const gpu = await createGpu(target);
    const adapter = await requestAdapter(gpu, target);
    if (!adapter) return { target, reason: 'no adapter' };
    const record = adapterRecord(adapter, target);
    try {
      const device = await requestDevice(adapter);
      device.destroy();
    } catch (error) {
      return { target, reason: `${record.device || 'adapter'}: no device (${messageOf(error)})` };
    }
    return { target, adapter: record };
  } catch (error) {
    return { target, reason: messageOf(error) };
  }
}

/** Every target of this platform, in order. */
export async function probeAll(platform: NodeJS.Platform = process.platform): Promise<ProbeOutcome[]> {
  const outcomes: ProbeOutcome[] = [];
  for (const target of probeTargets(platform)) outcomes.push(await probeTarget(target));
  return outcomes;
}
