/**
 * Can @tensorflow/tfjs-node-gpu 4.22 run here? It is built against CUDA 11.2 and cuDNN 8.1, so it loads
 * libcudart.so.11.0 and libcudnn.so.8 (Windows: cudart64_110.dll, cudnn64_8.dll) — a machine with only
 * CUDA 12 or cuDNN 9 installs the package fine and then fails when the trainer loads it. This check asks
 * the driver (`nvidia-smi`) and the dynamic loader (`ldconfig -p`, LD_LIBRARY_PATH) before the download,
 * and words the problems so the user can decide. No vscode import: the commands are injectable for tests.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REQUIRED_CUDA = '11.2';
export const REQUIRED_CUDNN = '8.1';

export interface CommandResult {
  code: number | null;
  stdout: string;
  /** Set when the command could not be started (ENOENT: not installed). */
  error?: string;
}

export type RunCommand = (command: string, args: string[]) => Promise<CommandResult>;

export interface CudaReport {
  platform: NodeJS.Platform;
  gpus: string[];
  driverVersion?: string;
  /** The highest CUDA version the driver supports (nvidia-smi's "CUDA Version"). */
  driverCudaVersion?: string;
  /** Where the CUDA 11 runtime and cuDNN 8 were found, if they were. */
  cudart11?: string;
  cudnn8?: string;
  /** Other CUDA runtime / cuDNN versions seen (e.g. libcudart.so.12), for the explanation. */
  otherCudart: string[];
  otherCudnn: string[];
  /** Empty when everything tfjs-node-gpu needs was found. */
  problems: string[];
}

export const runCommand: RunCommand = (command, args) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: 15000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      const notStarted = error && typeof error.code === 'string' ? error.message : undefined;
      resolve({ code, stdout: String(stdout), ...(notStarted ? { error: notStarted } : {}) });
    });
  });

/** `nvidia-smi`'s header: "Driver Version: 535.104.05   CUDA Version: 12.2". */
export function parseNvidiaSmi(output: string): { driverVersion?: string; cudaVersion?: string } {
  return {
    driverVersion: /Driver Version:\s*([\d.]+)/.exec(output)?.[1],
    cudaVersion: /CUDA Version:\s*([\d.]+)/.exec(output)?.[1],
  };
}

/** `ldconfig -p` lines "\tlibcudart.so.11.0 (libc6,x86-64) => /usr/lib/…" → name → paths. */
export function parseLdconfig(output: string): Map<string, string[]> {
  const libraries = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const match = /^\s*(\S+)\s+\(.*\)\s+=>\s+(\S+)\s*$/.exec(line);
    if (!match) continue;
    libraries.set(match[1], [...(libraries.get(match[1]) ?? []), match[2]]);
  }
  return libraries;
}

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** Library files named `name*` in the folders of a PATH-like variable. */
async function filesOnPath(value: string | undefined, match: RegExp): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  for (const dir of (value ?? '').split(path.delimiter).filter(Boolean)) {
    let entries: string[] = [];
    try {
      entries = await fs.promises.readdir(dir);
    } catch {
      continue;
    }
    for (const entry of entries.filter((e) => match.test(e)))
      found.set(entry, [...(found.get(entry) ?? []), path.join(dir, entry)]);
  }
  return found;
}

export async function checkCuda(
  options: { run?: RunCommand; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {},
): Promise<CudaReport> {
  const run = options.run ?? runCommand;
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const report: CudaReport = { platform, gpus: [], otherCudart: [], otherCudnn: [], problems: [] };

  if (platform !== 'linux' && platform !== 'win32') {
    report.problems.push(
      `@tensorflow/tfjs-node-gpu has no build for ${platform} (Linux and Windows only); use the "tensorflow" backend.`,
    );
    return report;
  }

  const smi = await run('nvidia-smi', []);
  if (smi.code !== 0) {
    report.problems.push(
      smi.error
        ? 'No NVIDIA driver found: nvidia-smi is not on the PATH. tensorflow-gpu needs an NVIDIA GPU and its driver.'
        : `nvidia-smi failed (exit code ${smi.code}): the NVIDIA driver is not working.`,
    );
  } else {
    const { driverVersion, cudaVersion } = parseNvidiaSmi(smi.stdout);
    report.driverVersion = driverVersion;
    report.driverCudaVersion = cudaVersion;
    const names = await run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']);
    if (names.code === 0)
      report.gpus = names.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
    if (cudaVersion && !versionAtLeast(cudaVersion, REQUIRED_CUDA)) {
      report.problems.push(
        `The NVIDIA driver ${driverVersion ?? ''} supports CUDA up to ${cudaVersion}; tfjs-node-gpu 4.22 needs CUDA ${REQUIRED_CUDA}: update the driver.`,
      );
    }
  }

  let cudart: Map<string, string[]>;
  let cudnn: Map<string, string[]>;
  let wantRuntime: string;
  let wantCudnn: string;
  if (platform === 'linux') {
    const ld = await run('ldconfig', ['-p']);
    const known = ld.code === 0 ? parseLdconfig(ld.stdout) : new Map<string, string[]>();
    // ldconfig does not know LD_LIBRARY_PATH folders, where CUDA often lives (/usr/local/cuda-11.2/lib64).
    for (const [name, paths] of await filesOnPath(env.LD_LIBRARY_PATH, /^lib(cudart|cudnn)\.so/))
      known.set(name, [...(known.get(name) ?? []), ...paths]);
    cudart = new Map([...known].filter(([name]) => /^libcudart\.so\.\d/.test(name)));
    cudnn = new Map([...known].filter(([name]) => /^libcudnn\.so\.\d/.test(name)));
    wantRuntime = 'libcudart.so.11.0';
    wantCudnn = 'libcudnn.so.8';
  } else {
    cudart = await filesOnPath(env.PATH ?? env.Path, /^cudart64_\d+\.dll$/i);
    cudnn = await filesOnPath(env.PATH ?? env.Path, /^cudnn64_\d+\.dll$/i);
    wantRuntime = 'cudart64_110.dll';
    wantCudnn = 'cudnn64_8.dll';
  }
  const find = (libraries: Map<string, string[]>, name: string): string | undefined =>
    [...libraries].find(([lib]) => lib.toLowerCase() === name.toLowerCase())?.[1][0];
  report.cudart11 = find(cudart, wantRuntime);
  report.cudnn8 = find(cudnn, wantCudnn);
  report.otherCudart = [...cudart.keys()]
    .filter((name) => name.toLowerCase() !== wantRuntime.toLowerCase())
    .sort();
  report.otherCudnn = [...cudnn.keys()]
    .filter((name) => name.toLowerCase() !== wantCudnn.toLowerCase())
    .sort();
  if (!report.cudart11) {
    report.problems.push(
      `The CUDA ${REQUIRED_CUDA} runtime (${wantRuntime}) was not found` +
        (report.otherCudart.length
          ? ` — only ${report.otherCudart.join(', ')}, which tfjs-node-gpu 4.22 cannot use`
          : '') +
        `. Install CUDA ${REQUIRED_CUDA} (it can sit next to newer versions) and make it findable (ldconfig or LD_LIBRARY_PATH).`,
    );
  }
  if (!report.cudnn8) {
    report.problems.push(
      `cuDNN ${REQUIRED_CUDNN} (${wantCudnn}) was not found` +
        (report.otherCudnn.length
          ? ` — only ${report.otherCudnn.join(', ')}, which tfjs-node-gpu 4.22 cannot use`
          : '') +
        `. Install cuDNN ${REQUIRED_CUDNN} for CUDA 11.`,
    );
  }
  return report;
}
