/**
 * What a Linux machine offers Vulkan, read from the file system the way the Vulkan loader would look: the
 * loader library (`libvulkan.so.1`, Debian/Ubuntu package libvulkan1) and the drivers' ICD manifests
 * (`*.json` in the icd.d folders, or VK_DRIVER_FILES / VK_ICD_FILENAMES). For the "no adapter" message
 * and the GPU check script; nothing here loads a driver.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface IcdFile {
  file: string;
  /** The driver library the manifest names (`ICD.library_path`), when it could be read. */
  library?: string;
  /** Mesa's lavapipe: a CPU implementation. */
  software: boolean;
}

export interface VulkanEnvironment {
  /** Where libvulkan.so.1 was found, or undefined. */
  loader?: string;
  icds: IcdFile[];
  /** The variable that overrides the ICD search, when set (its name and value). */
  override?: string;
}

/** The few file-system calls used (injectable for tests). */
export interface FileSystem {
  existsSync(p: string): boolean;
  readdirSync(p: string): string[];
  readFileSync(p: string, encoding: 'utf8'): string;
}

const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/lib64',
  '/usr/lib',
  '/usr/local/lib',
];

function icdFile(fsys: FileSystem, file: string): IcdFile {
  let library: string | undefined;
  try {
    const manifest = JSON.parse(fsys.readFileSync(file, 'utf8')) as { ICD?: { library_path?: unknown } };
    if (typeof manifest.ICD?.library_path === 'string') library = manifest.ICD.library_path;
  } catch {
    // unreadable or not JSON: listed without its library
  }
  const software = /lvp_icd|lavapipe|vulkan_lvp/i.test(`${path.basename(file)} ${library ?? ''}`);
  return { file, ...(library ? { library } : {}), software };
}

function manifestsIn(fsys: FileSystem, dir: string): string[] {
  try {
    return fsys
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

export function vulkanEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  fsys: FileSystem = fs as unknown as FileSystem,
): VulkanEnvironment {
  const libDirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIB_DIRS];
  const loader = libDirs.map((d) => path.join(d, 'libvulkan.so.1')).find((p) => fsys.existsSync(p));
  const overrideName = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES'].find((name) => env[name]);
  let files: string[];
  if (overrideName) {
    files = (env[overrideName] ?? '')
      .split(':')
      .filter(Boolean)
      .flatMap((p) => (p.endsWith('.json') ? (fsys.existsSync(p) ? [p] : []) : manifestsIn(fsys, p)));
  } else {
    const configDirs = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
    const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
    const home = env.HOME ? [path.join(env.HOME, '.local/share')] : [];
    const dirs = [...configDirs, '/etc', ...dataDirs, ...home].map((d) => path.join(d, 'vulkan', 'icd.d'));
    files = [...new Set(dirs)].flatMap((d) => manifestsIn(fsys, d));
  }
  return {
    ...(loader ? { loader } : {}),
    icds: files.map((f) => icdFile(fsys, f)),
    ...(overrideName ? { override: `${overrideName}=${env[overrideName]}` } : {}),
  };
}

/** One line for messages and the GPU check: "loader /usr/lib/…/libvulkan.so.1; ICD files: nvidia_icd.json". */
export function describeVulkanEnvironment(v: VulkanEnvironment): string {
  const loader = v.loader ? `Vulkan loader ${v.loader}` : 'no Vulkan loader (libvulkan.so.1)';
  const icds =
    v.icds.length === 0
      ? 'no Vulkan ICD file'
      : `Vulkan ICD files ${v.icds.map((i) => `${i.file}${i.software ? ' (lavapipe, software)' : ''}`).join(', ')}`;
  return `${loader}; ${icds}${v.override ? ` (from ${v.override})` : ''}`;
}
