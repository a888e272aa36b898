/**
 * Dawn's Node bindings (npm `webgpu`, a native `dawn.node` per platform): loading them, and one Dawn
 * instance per native backend. The package is ESM-only, so it is loaded with a real dynamic import (tsc's
 * CommonJS output would turn `import()` into `require`, which Node 20 before 20.19 cannot do for ESM).
 * Only the trainer, the CLI and the GPU probe load it — never the extension host.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ProbeTarget } from './adapterChoice';

/** The parts of WebGPU's API the engine touches (Dawn implements all of WebGPU). */
export interface GpuAdapterLike {
  readonly info: {
    vendor: string;
    architecture: string;
    device: string;
    description: string;
    isFallbackAdapter?: boolean;
  };
  readonly features: ReadonlySet<string>;
  readonly limits: Record<string, unknown>;
  requestDevice(descriptor?: { requiredLimits?: Record<string, number> }): Promise<GpuDeviceLike>;
}

export interface GpuDeviceLike {
  readonly lost: Promise<{ reason: string; message: string }>;
  readonly limits: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number };
  addEventListener(type: 'uncapturederror', listener: (event: { error: GpuErrorLike }) => void): void;
  destroy(): void;
}

export interface GpuErrorLike {
  readonly message: string;
  readonly constructor: { name: string };
}

export interface GpuLike {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
    featureLevel?: 'core' | 'compatibility';
  }): Promise<GpuAdapterLike | null>;
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

// A dynamic import tsc leaves alone: the package is ESM ("type": "module").
const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

let dawn: Promise<DawnModule> | undefined;

/** Where the platform's dawn.node is expected (for messages). */
function dawnBinary(packageDir: string): string {
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return path.join(packageDir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
}

/** Loads the bindings once and puts WebGPU's globals (GPUBufferUsage, GPUMapMode, …) on globalThis. */
export function loadDawn(): Promise<DawnModule> {
  dawn ??= (async () => {
    let entry: string;
    try {
      // A variable, so that bundlers leave the (external) package to Node's resolution at run time.
      const name = 'webgpu';
      entry = require.resolve(name);
    } catch {
      throw new Error(
        "Dawn's Node bindings (npm package webgpu) are not installed: reinstall the extension, or run npm ci.",
      );
    }
    try {
      const module = (await importModule(pathToFileURL(entry).href)) as DawnModule;
      Object.assign(globalThis, module.globals);
      return module;
    } catch (error) {
      throw new Error(
        `Dawn's Node bindings could not be loaded (${dawnBinary(path.dirname(entry))}): ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  })();
  dawn.catch(() => (dawn = undefined));
  return dawn;
}

/**
 * A Dawn instance restricted to one native backend (so an adapter's backend is known). Dawn's OpenGL ES
 * backend on Linux needs EGL's surfaceless platform (no display server): set here, not by the user.
 */
export async function createGpu(target: ProbeTarget): Promise<GpuLike> {
  const module = await loadDawn();
  if (
    process.platform === 'linux' &&
    (target.dawnBackend === 'opengles' || target.dawnBackend === 'opengl') &&
    !process.env.EGL_PLATFORM
  ) {
    process.env.EGL_PLATFORM = 'surfaceless';
  }
  return module.create([`backend=${target.dawnBackend}`]);
}

/**
 * The adapter of a target, or undefined: high performance, and compatibility mode where the target asks
 * for it (Dawn's OpenGL ES and D3D11 backends offer nothing in core mode).
 */
export async function requestAdapter(gpu: GpuLike, target: ProbeTarget): Promise<GpuAdapterLike | undefined> {
  const adapter = await gpu.requestAdapter({
    powerPreference: 'high-performance',
    ...(target.featureLevel === 'compatibility' ? { featureLevel: 'compatibility' as const } : {}),
  });
  return adapter ?? undefined;
}

/**
 * A device with every limit the adapter offers: with WebGPU's defaults, TensorFlow.js' reduction and
 * matmul programs fail validation (their workgroups of 256 invocations exceed the default 128 on some
 * adapters) and large tensors exceed the default buffer sizes.
 */
export function requestDevice(adapter: GpuAdapterLike): Promise<GpuDeviceLike> {
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const value = adapter.limits[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  return adapter.requestDevice({ requiredLimits });
}
