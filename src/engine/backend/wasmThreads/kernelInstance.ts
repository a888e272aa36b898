/**
 * Our two WebAssembly kernel modules (simdKernels.wat, convKernels.wat) instantiated on one shared
 * memory: the wasm backend's heap for the kernel pool's threads, or a memory of the caller's own. Shared
 * by the main thread and the pool's workers (kernelWorker.ts), which each hold one instance.
 */
import { SIMD_KERNELS_WASM_BASE64 } from '../fusedOps/simdKernelsWasm';
import { CONV_KERNELS_WASM_BASE64 } from '../wasmKernels/convKernelsWasm';

// The engine's TypeScript library settings have no WebAssembly types (no DOM lib); what this file uses:
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
export type CompiledModule = object;
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => CompiledModule;
  Instance: new (module: CompiledModule, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
};

/** The largest memory the modules import (4 GiB, the wasm backend's own maximum), in 64 KiB pages. */
export const MAX_PAGES = 65536;

export interface SimdExports {
  adam_step(...args: number[]): void;
  clip(x: number, y: number, n: number, lo: number, hi: number): void;
  clipped_relu_grad(dy: number, x: number, dx: number, n: number, hi: number): void;
  channel_sums(
    a: number,
    ca: number,
    b: number,
    cb: number,
    rows: number,
    c: number,
    scratch: number,
    sumU: number,
    sumUV: number,
  ): void;
  channel_block_sums(
    a: number,
    ca: number,
    b: number,
    cb: number,
    rows: number,
    c: number,
    out: number,
  ): void;
  fold_block_sums(blocks: number, count: number, c: number, sumU: number, sumUV: number): void;
  channel_affine(
    a: number,
    ca: number,
    b: number,
    out: number,
    rows: number,
    c: number,
    p: number,
    q: number,
    r: number,
  ): void;
  depthwise_tap(...args: number[]): void;
}

/** Every function takes pointers, strides and counts (see convKernels.wat). */
export interface ConvExports {
  gemm_rows(...args: number[]): void;
  filter_grad_4x8(...args: number[]): void;
  filter_grad_1x8(...args: number[]): void;
  filter_grad_4x4(...args: number[]): void;
  filter_grad_1x4(...args: number[]): void;
  depthwise_rows(...args: number[]): void;
  depthwise_input_grad_rows(...args: number[]): void;
  depthwise_filter_grad_rows(...args: number[]): void;
  transpose_rows(...args: number[]): void;
  sum_image_totals(...args: number[]): void;
}

export interface KernelInstance {
  simd: SimdExports;
  conv: ConvExports;
  memory: WasmMemory;
}

export interface KernelModules {
  simd: CompiledModule;
  conv: CompiledModule;
}

let compiled: KernelModules | undefined;

/** Both modules compiled (once per thread that asks; workers get them from the main thread instead). */
export function kernelModules(): KernelModules {
  compiled ??= {
    simd: new WebAssembly.Module(Buffer.from(SIMD_KERNELS_WASM_BASE64, 'base64')),
    conv: new WebAssembly.Module(Buffer.from(CONV_KERNELS_WASM_BASE64, 'base64')),
  };
  return compiled;
}

export function instantiateKernels(modules: KernelModules, memory: WasmMemory): KernelInstance {
  const imports = { env: { memory } };
  return {
    simd: new WebAssembly.Instance(modules.simd, imports).exports as SimdExports,
    conv: new WebAssembly.Instance(modules.conv, imports).exports as ConvExports,
    memory,
  };
}

/** A shared memory of one's own (the modules import a shared one), growing up to MAX_PAGES. */
export function newSharedMemory(pages = 1): WasmMemory {
  return new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
}
