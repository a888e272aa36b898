/**
 * The pure parts of the webgpu backend: which adapter a run takes (auto: a hardware one in core mode only;
 * explicit webgpu: the best there is, a software one with a warning), which adapters are software, the
 * probe targets per platform, the Vulkan environment as the loader would see it, and the messages for no
 * adapter and for GPU failures.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  chooseAdapter,
  isSoftwareAdapter,
  probeTargets,
  type ProbeOutcome,
} from '../../src/engine/backend/webgpu/adapterChoice';
import { deviceErrorFailure, deviceLostFailure } from '../../src/engine/backend/webgpu/gpuFailure';
import { noAdapterMessage } from '../../src/engine/backend/webgpu/noAdapterMessage';
import { dawnLogLines } from '../../src/engine/backend/webgpu/probeInChild';
import {
  describeVulkanEnvironment,
  vulkanEnvironment,
  type FileSystem,
} from '../../src/engine/backend/webgpu/vulkanEnvironment';
import {
  adapterLabel,
  backendWithAdapter,
  isGpuAdapterRecord,
  type GpuAdapterRecord,
} from '../../src/protocol/gpuAdapter';

const NVIDIA: GpuAdapterRecord = {
  vendor: 'nvidia',
  architecture: 'ampere',
  device: 'NVIDIA GeForce RTX 3080',
  description: 'NVIDIA: 550.54.14',
  dawnBackend: 'vulkan',
  featureLevel: 'core',
  software: false,
};
const LLVMPIPE: GpuAdapterRecord = {
  vendor: '',
  architecture: '',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6',
  dawnBackend: 'opengles',
  featureLevel: 'compatibility',
  software: true,
};
const LAVAPIPE: GpuAdapterRecord = {
  ...LLVMPIPE,
  device: 'llvmpipe (LLVM 17.0.6, 256 bits)',
  description: 'Mesa 24.0.5',
  dawnBackend: 'vulkan',
  featureLevel: 'core',
};
const INTEL_GL: GpuAdapterRecord = {
  ...LLVMPIPE,
  vendor: 'intel',
  device: 'Mesa Intel(R) UHD Graphics 620',
  description: 'OpenGL ES 3.2 Mesa 23.2',
  software: false,
};

const vulkan = { dawnBackend: 'vulkan', featureLevel: 'core' } as const;
const gles = { dawnBackend: 'opengles', featureLevel: 'compatibility' } as const;

describe('webgpu adapter choice', () => {
  it('probes the native backend in core mode first, then compatibility mode, per platform', () => {
    assert.deepEqual(
      probeTargets('linux').map((t) => `${t.dawnBackend}/${t.featureLevel}`),
      ['vulkan/core', 'opengles/compatibility'],
    );
    assert.deepEqual(
      probeTargets('darwin').map((t) => t.dawnBackend),
      ['metal'],
    );
    assert.deepEqual(
      probeTargets('win32').map((t) => t.dawnBackend),
      ['d3d12', 'vulkan', 'd3d11'],
    );
  });

  it('knows the software rasterisers by name (llvmpipe, lavapipe, SwiftShader, WARP) and the fallback flag', () => {
    assert.equal(isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-' }), true);
    assert.equal(isSoftwareAdapter({ description: 'Mesa lavapipe' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader' }), true);
    assert.equal(isSoftwareAdapter({ description: 'Microsoft Basic Render Driver' }), true);
    assert.equal(isSoftwareAdapter({ device: 'Some GPU', isFallbackAdapter: true }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', device: 'NVIDIA GeForce RTX 3080' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', device: '' }), false);
    assert.equal(isSoftwareAdapter({ device: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' }), false);
  });

  it('auto takes a hardware adapter in core mode', () => {
    const choice = chooseAdapter(
      [
        { target: vulkan, adapter: NVIDIA },
        { target: gles, adapter: LLVMPIPE },
      ],
      'auto',
    );
    assert.equal(choice.adapter, NVIDIA);
  });

  it('auto never takes a software adapter, and says how to use it anyway', () => {
    const outcomes: ProbeOutcome[] = [
      { target: vulkan, reason: 'no adapter' },
      { target: gles, adapter: LLVMPIPE },
    ];
    const choice = chooseAdapter(outcomes, 'auto');
    assert.equal(choice.adapter, undefined);
    assert.ok(!choice.adapter && choice.softwareOnly);
    assert.match(!choice.adapter ? choice.reason : '', /only a software adapter \(llvmpipe.*auto never uses/);
    assert.match(!choice.adapter ? choice.reason : '', /set the backend to "webgpu"/);
    // lavapipe on Vulkan is core mode, and still software.
    assert.equal(chooseAdapter([{ target: vulkan, adapter: LAVAPIPE }], 'auto').adapter, undefined);
  });

  it('auto leaves a hardware adapter in compatibility mode alone; explicit webgpu takes it', () => {
    const outcomes: ProbeOutcome[] = [
      { target: vulkan, reason: 'no adapter' },
      { target: gles, adapter: INTEL_GL },
    ];
    const auto = chooseAdapter(outcomes, 'auto');
    assert.equal(auto.adapter, undefined);
    assert.match(!auto.adapter ? auto.reason : '', /no hardware adapter in WebGPU core mode/);
    const explicit = chooseAdapter(outcomes, 'explicit');
    assert.equal(explicit.adapter, INTEL_GL);
    assert.equal(explicit.adapter && explicit.warning, undefined, 'a hardware adapter needs no warning');
  });

  it('explicit webgpu takes a software adapter when it is all there is, with the warning', () => {
    const choice = chooseAdapter(
      [
        { target: vulkan, reason: 'no adapter' },
        { target: gles, adapter: LLVMPIPE },
      ],
      'explicit',
    );
    assert.equal(choice.adapter, LLVMPIPE);
    assert.deepEqual(choice.adapter && choice.target, gles);
    assert.match(
      (choice.adapter && choice.warning) || '',
      /software adapter \(llvmpipe.*\): correct but slow, meant for testing.*vulkan \(core\): no adapter/,
    );
  });

  it('no adapter at all: both modes say what was tried', () => {
    const outcomes: ProbeOutcome[] = [
      { target: vulkan, reason: 'no adapter' },
      { target: gles, reason: 'no adapter' },
    ];
    for (const mode of ['auto', 'explicit'] as const) {
      const choice = chooseAdapter(outcomes, mode);
      assert.equal(choice.adapter, undefined);
      assert.match(
        !choice.adapter ? choice.reason : '',
        /no GPU adapter \(vulkan \(core\): no adapter; opengles \(compatibility\): no adapter\)/,
      );
    }
  });
});

/** A file system of a few files (path → content); directories are implied by the paths. */
function fakeFs(files: Record<string, string>): FileSystem {
  return {
    existsSync: (p) => p in files || Object.keys(files).some((f) => f.startsWith(`${p}/`)),
    readdirSync: (dir) => {
      const names = Object.keys(files)
        .filter((f) => path.dirname(f) === dir)
        .map((f) => path.basename(f));
      if (names.length === 0) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return names;
    },
    readFileSync: (p) => {
      if (!(p in files)) throw new Error('ENOENT');
      return files[p];
    },
  };
}

describe('the Vulkan environment (Linux)', () => {
  it('finds the loader and the ICD files as the loader would, lavapipe marked as software', () => {
    const env = vulkanEnvironment(
      { HOME: '/home/u' },
      fakeFs({
        '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': '',
        '/usr/share/vulkan/icd.d/nvidia_icd.json': '{"ICD":{"library_path":"libGLX_nvidia.so.0"}}',
        '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': '{"ICD":{"library_path":"/usr/lib/libvulkan_lvp.so"}}',
      }),
    );
    assert.equal(env.loader, '/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
    assert.deepEqual(
      env.icds.map((i) => [path.basename(i.file), i.library, i.software]),
      [
        ['lvp_icd.x86_64.json', '/usr/lib/libvulkan_lvp.so', true],
        ['nvidia_icd.json', 'libGLX_nvidia.so.0', false],
      ],
    );
    assert.match(
      describeVulkanEnvironment(env),
      /Vulkan loader \/usr\/lib\/x86_64-linux-gnu\/libvulkan\.so\.1/,
    );
    assert.match(describeVulkanEnvironment(env), /lvp_icd\.x86_64\.json \(lavapipe, software\)/);
  });

  it('VK_DRIVER_FILES replaces the search; nothing found says so', () => {
    const files = {
      '/opt/nvidia/nvidia_icd.json': '{"ICD":{"library_path":"/opt/nvidia/libGLX_nvidia.so.0"}}',
      '/usr/share/vulkan/icd.d/intel_icd.x86_64.json': '{}',
    };
    const env = vulkanEnvironment({ VK_DRIVER_FILES: '/opt/nvidia/nvidia_icd.json' }, fakeFs(files));
    assert.deepEqual(
      env.icds.map((i) => i.file),
      ['/opt/nvidia/nvidia_icd.json'],
    );
    assert.equal(env.override, 'VK_DRIVER_FILES=/opt/nvidia/nvidia_icd.json');
    const none = vulkanEnvironment({}, fakeFs({}));
    assert.equal(describeVulkanEnvironment(none), 'no Vulkan loader (libvulkan.so.1); no Vulkan ICD file');
  });
});

describe('webgpu messages', () => {
  it('no adapter on Linux: names libvulkan1, the ICD file, VK_DRIVER_FILES, the container toolkit, and what was found', () => {
    const message = noAdapterMessage({
      platform: 'linux',
      reason: 'no GPU adapter (vulkan (core): no adapter; opengles (compatibility): no adapter)',
      dawnLog: ['Warning: vkCreateInstance: Found no drivers!', 'Warning: eglInitialize failed'],
      vulkan: { icds: [] },
    });
    for (const part of [
      /^Backend "webgpu": no GPU adapter \(vulkan/,
      /libvulkan1/,
      /nvidia_icd\.json/,
      /VK_DRIVER_FILES/,
      /mesa-vulkan-drivers/,
      /NVIDIA Container Toolkit.*graphics/,
      /Found here: no Vulkan loader \(libvulkan\.so\.1\); no Vulkan ICD file/,
      /Dawn said: Warning: vkCreateInstance: Found no drivers! \| Warning: eglInitialize failed/,
      /Use "auto", "wasm" or "cpu"/,
    ])
      assert.match(message, part);
    assert.doesNotMatch(noAdapterMessage({ platform: 'darwin', reason: 'x', dawnLog: [] }), /libvulkan1/);
    assert.match(noAdapterMessage({ platform: 'darwin', reason: 'x', dawnLog: [] }), /Metal/);
  });

  it("Dawn's stderr is kept without its source locations, each line once", () => {
    const stderr = [
      'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
      ' - While initializing adapter (backend=BackendType::Vulkan)',
      '    at InitializeImpl (/home/runner/dawn/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:257)',
      '',
      'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
    ].join('\n');
    assert.deepEqual(dawnLogLines(stderr), ['Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.']);
  });

  it('GPU failures: out of memory and too-large buffers suggest a smaller batch or image size; others name the fault', () => {
    const oom = deviceErrorFailure('GPUOutOfMemoryError', 'Out of memory allocating buffer', 'RTX 3080');
    assert.equal(oom.kind, 'out-of-memory');
    assert.match(
      oom.message,
      /^The GPU ran out of memory \(RTX 3080\).*training\.batchSize or dataset\.imageSize/,
    );
    const big = deviceErrorFailure(
      'GPUValidationError',
      'Buffer size (2147487744) exceeds the max buffer size limit (2147483648).\n - While calling CreateBuffer',
      'llvmpipe',
    );
    assert.equal(big.kind, 'too-large');
    assert.match(big.message, /exceeds the max buffer size limit \(2147483648\)\. Lower training\.batchSize/);
    assert.doesNotMatch(big.message, /While calling/, 'one line of detail');
    const other = deviceErrorFailure('GPUValidationError', 'Invalid BindGroup', 'llvmpipe');
    assert.equal(other.kind, 'failed');
    assert.match(other.message, /GPUValidationError: Invalid BindGroup.*use the backend "wasm"/);
    const lost = deviceLostFailure('unknown', 'Device lost: driver reset (VK_ERROR_DEVICE_LOST)', 'RTX 3080');
    assert.equal(lost.kind, 'lost');
    assert.match(lost.message, /^The GPU device was lost \(RTX 3080; unknown: Device lost: driver reset/);
    assert.match(lost.message, /training\.batchSize or dataset\.imageSize/);
  });

  it('adapter labels for run.json readers; a hand-edited adapter that is not one is rejected', () => {
    assert.equal(adapterLabel(NVIDIA), 'NVIDIA GeForce RTX 3080 (NVIDIA: 550.54.14) via vulkan');
    assert.equal(
      adapterLabel(LLVMPIPE),
      'llvmpipe-llvm-15-0-6-256-bits- (OpenGL version OpenGL ES 3.2 Mesa 22.3.6) via opengles, compatibility mode, software',
    );
    assert.equal(backendWithAdapter('webgpu', NVIDIA), 'webgpu (NVIDIA GeForce RTX 3080)');
    assert.equal(backendWithAdapter('webgpu', LLVMPIPE), 'webgpu (llvmpipe-llvm-15-0-6-256-bits-, software)');
    assert.equal(backendWithAdapter('wasm', undefined), 'wasm');
    assert.equal(isGpuAdapterRecord(NVIDIA), true);
    assert.equal(isGpuAdapterRecord({ ...NVIDIA, software: 'no' }), false);
    assert.equal(isGpuAdapterRecord('nvidia'), false);
  });
});
