/**
 * The WebGPU adapter a run trains on (backend `webgpu`), as run.json, the `ready` message and the
 * `beforeFit` event carry it, and the one-line label the status bar, the training panel, the Runs view and
 * the CLI show. Plain data: the host and the webviews read it without loading Dawn.
 */

/** Dawn's native backend the adapter was found on (the `backend=` flag of Dawn's Node bindings). */
export type DawnBackend = 'vulkan' | 'metal' | 'd3d12' | 'd3d11' | 'opengles' | 'opengl';

/** WebGPU core, or compatibility mode (OpenGL ES, D3D11: fewer features, still enough for TensorFlow.js). */
export type FeatureLevel = 'core' | 'compatibility';

export interface GpuAdapterRecord {
  /** GPUAdapterInfo.vendor, e.g. "nvidia", "apple", "intel" (may be empty on OpenGL ES). */
  vendor: string;
  /** GPUAdapterInfo.architecture, e.g. "ampere", "common-3" (may be empty). */
  architecture: string;
  /** GPUAdapterInfo.device, e.g. "NVIDIA GeForce RTX 4090" or "llvmpipe-llvm-15-0-6-256-bits-". */
  device: string;
  /** GPUAdapterInfo.description, e.g. the driver's name and version. */
  description: string;
  dawnBackend: DawnBackend;
  featureLevel: FeatureLevel;
  /** A CPU rasteriser (Mesa llvmpipe/lavapipe, SwiftShader, WARP): correct but slow, meant for testing. */
  software: boolean;
}

/** "llvmpipe-llvm-15… (OpenGL ES 3.2 Mesa 22.3.6) via opengles, compatibility mode, software". */
export function adapterLabel(adapter: GpuAdapterRecord): string {
  const name = adapter.device || [adapter.vendor, adapter.architecture].filter(Boolean).join(' ') || 'GPU';
  const description = adapter.description && adapter.description !== name ? ` (${adapter.description})` : '';
  const mode = adapter.featureLevel === 'compatibility' ? ', compatibility mode' : '';
  return `${name}${description} via ${adapter.dawnBackend}${mode}${adapter.software ? ', software' : ''}`;
}

/** Shape check for a value read from a hand-editable run.json or received over IPC. */
export function isGpuAdapterRecord(value: unknown): value is GpuAdapterRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    ['vendor', 'architecture', 'device', 'description', 'dawnBackend'].every(
      (k) => typeof v[k] === 'string',
    ) &&
    (v.featureLevel === 'core' || v.featureLevel === 'compatibility') &&
    typeof v.software === 'boolean'
  );
}

/** The adapter's name alone, short enough for a status bar: "NVIDIA GeForce RTX 4090", "llvmpipe…, software". */
export function shortAdapterName(adapter: GpuAdapterRecord): string {
  const name = adapter.device || adapter.description || adapter.vendor || adapter.dawnBackend;
  const short = name.length > 32 ? `${name.slice(0, 31)}…` : name;
  return adapter.software ? `${short}, software` : short;
}

/** "webgpu (NVIDIA GeForce RTX 4090)", or the backend's name alone when it has no adapter. */
export function backendWithAdapter(backend: string, adapter: GpuAdapterRecord | undefined): string {
  return adapter ? `${backend} (${shortAdapterName(adapter)})` : backend;
}
