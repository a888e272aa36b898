/**
 * The message for "backend webgpu, but no GPU adapter": what was tried, what Dawn said, and what to
 * install on this platform — on Linux the Vulkan loader (libvulkan1) and the driver's ICD file.
 */
import { describeVulkanEnvironment, type VulkanEnvironment } from './vulkanEnvironment';

export interface NoAdapterContext {
  platform: NodeJS.Platform;
  /** What the probe tried and found, one line ("vulkan (core): no adapter; opengles …"). */
  reason: string;
  /** Lines Dawn wrote to stderr while probing (its own diagnostics), possibly empty. */
  dawnLog: string[];
  /** Linux only. */
  vulkan?: VulkanEnvironment;
}

const LINUX_HELP =
  "On Linux the GPU is reached through Vulkan, which needs the Vulkan loader (Debian/Ubuntu package libvulkan1) and the GPU driver's ICD file: NVIDIA's driver installs nvidia_icd.json (in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; when the driver is installed elsewhere, point VK_DRIVER_FILES — VK_ICD_FILENAMES for older loaders — at it), AMD and Intel GPUs need Mesa's Vulkan drivers (package mesa-vulkan-drivers: RADV, ANV). In a container, the NVIDIA Container Toolkit must expose the graphics capability (NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics). Without a GPU, Mesa's llvmpipe gives a software adapter for testing (packages libegl-dev libegl-mesa0 libgles2 libgl1-mesa-dri: Dawn loads libEGL.so, which only libegl-dev provides).";

const PLATFORM_HELP: Partial<Record<NodeJS.Platform, string>> = {
  darwin:
    'On macOS WebGPU runs on Metal, which every Mac since 2012 has; a virtual machine without Metal has no adapter.',
  win32:
    "On Windows WebGPU runs on Direct3D 12 (or Vulkan): install the GPU vendor's current driver; a remote desktop session or a VM without GPU passthrough may have no adapter.",
};

export function noAdapterMessage(context: NoAdapterContext): string {
  const help = context.platform === 'linux' ? LINUX_HELP : (PLATFORM_HELP[context.platform] ?? '');
  const found = context.vulkan ? ` Found here: ${describeVulkanEnvironment(context.vulkan)}.` : '';
  const said = context.dawnLog.slice(0, 6).map((line) => line.replace(/\.$/, ''));
  const dawn = said.length
    ? ` Dawn said: ${said.join(' | ')}${context.dawnLog.length > 6 ? ' | …' : ''}.`
    : '';
  return `Backend "webgpu": ${context.reason}.${found}${dawn} ${help} Use "auto", "wasm" or "cpu" to train without a GPU.`;
}
