/**
 * Which WebGPU adapter a run uses, from what the probe found (pure; unit-tested). Targets per platform are
 * tried in order — the native backend in WebGPU core mode first (Vulkan / Metal / D3D12), then
 * compatibility mode (Dawn's OpenGL ES backend on Linux, D3D11 on Windows). `auto` takes only a hardware
 * adapter in core mode; an explicit `webgpu` takes the best there is: hardware core, hardware
 * compatibility, then a software adapter (which it says is meant for testing).
 */
import {
  adapterLabel,
  type DawnBackend,
  type FeatureLevel,
  type GpuAdapterRecord,
} from '../../../protocol/gpuAdapter';

export interface ProbeTarget {
  dawnBackend: DawnBackend;
  featureLevel: FeatureLevel;
}

/** What probing one target gave: an adapter (and a device could be created on it), or why not. */
export interface ProbeOutcome {
  target: ProbeTarget;
  adapter?: GpuAdapterRecord;
  /** Why there is no usable adapter on this target ("no adapter", an exception's message). */
  reason?: string;
}

/** The targets of a platform, best first. */
export function probeTargets(platform: NodeJS.Platform): ProbeTarget[] {
  switch (platform) {
    case 'darwin':
      return [{ dawnBackend: 'metal', featureLevel: 'core' }];
    case 'win32':
      return [
        { dawnBackend: 'd3d12', featureLevel: 'core' },
        { dawnBackend: 'vulkan', featureLevel: 'core' },
        { dawnBackend: 'd3d11', featureLevel: 'compatibility' },
      ];
    default:
      return [
        { dawnBackend: 'vulkan', featureLevel: 'core' },
        { dawnBackend: 'opengles', featureLevel: 'compatibility' },
      ];
  }
}

/** GPUAdapterInfo fields as Dawn reports them (any may be empty). */
export interface AdapterInfoFields {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/**
 * CPU rasterisers: Mesa's llvmpipe (OpenGL) and lavapipe (Vulkan, "llvmpipe" in its device name too),
 * softpipe, Google's SwiftShader, Microsoft's WARP ("Microsoft Basic Render Driver"). Dawn's
 * isFallbackAdapter is not set for llvmpipe, so the names decide.
 */
const SOFTWARE_NAMES =
  /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver|\bwarp\b|software rasteri[sz]er/i;

export function isSoftwareAdapter(info: AdapterInfoFields): boolean {
  if (info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some(
    (field) => typeof field === 'string' && SOFTWARE_NAMES.test(field),
  );
}

export type AdapterChoice =
  | { adapter: GpuAdapterRecord; target: ProbeTarget; warning?: string }
  | { adapter?: undefined; reason: string; softwareOnly: boolean };

function tried(outcomes: ProbeOutcome[]): string {
  return outcomes
    .map((o) => {
      const name = `${o.target.dawnBackend} (${o.target.featureLevel})`;
      if (o.adapter) return `${name}: ${adapterLabel(o.adapter)}`;
      return `${name}: ${o.reason ?? 'no adapter'}`;
    })
    .join('; ');
}

/** Picks the adapter for `auto` (hardware core only) or for an explicit `webgpu` (the best there is). */
export function chooseAdapter(outcomes: ProbeOutcome[], mode: 'auto' | 'explicit'): AdapterChoice {
  const found = outcomes.filter((o): o is ProbeOutcome & { adapter: GpuAdapterRecord } => !!o.adapter);
  const hardwareCore = found.find((o) => !o.adapter.software && o.adapter.featureLevel === 'core');
  if (hardwareCore) return { adapter: hardwareCore.adapter, target: hardwareCore.target };
  const software = found.filter((o) => o.adapter.software);
  if (mode === 'auto') {
    const softwareOnly = found.length > 0 && software.length === found.length;
    const why = softwareOnly
      ? `only a software adapter (${adapterLabel(software[0].adapter)}), which auto never uses: set the backend to "webgpu" to train on it anyway (slow, meant for testing)`
      : found.length > 0
        ? `no hardware adapter in WebGPU core mode (found ${tried(found)}); set the backend to "webgpu" to use it`
        : `no GPU adapter (${tried(outcomes)})`;
    return { reason: why, softwareOnly };
  }
  const hardware = found.find((o) => !o.adapter.software);
  if (hardware) return { adapter: hardware.adapter, target: hardware.target };
  if (software.length > 0) {
    const chosen = software[0];
    const others = outcomes.filter((o) => o !== chosen);
    return {
      adapter: chosen.adapter,
      target: chosen.target,
      warning: `webgpu runs on a software adapter (${adapterLabel(chosen.adapter)}): correct but slow, meant for testing — no hardware GPU adapter was found${others.length ? ` (${tried(others)})` : ''}`,
    };
  }
  return { reason: `no GPU adapter (${tried(outcomes)})`, softwareOnly: false };
}
