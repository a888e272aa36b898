/**
 * Installs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu with the user's npm into a folder of the
 * extension's global storage, and explains failures in words a person can act on.
 *
 * Each backend gets its own npm prefix (`<root>/<backend>/`), installed into a staging folder first and
 * renamed into place only after npm succeeded and the native binding is there: a cancelled or failed
 * install never leaves a half-installed package that the trainer would then try to load. The packages'
 * install scripts download libtensorflow (100–400 MB) from storage.googleapis.com — the step that fails
 * offline, and the one the failure classifier looks for. No vscode import: tested with a fake npm.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crossSpawn from 'cross-spawn';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { READ_LIMITS, readTextFile } from '../../core/files/regularFile';

export type NativeBackend = 'tensorflow' | 'tensorflow-gpu';

/** The version of tfjs-core/-layers the trainer bundles; the native package must match it. */
export const TFJS_NODE_VERSION = '4.22.0';

export const NATIVE_PACKAGES: Record<NativeBackend, string> = {
  tensorflow: '@tensorflow/tfjs-node',
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
};

export type InstallFailureKind =
  'no-npm' | 'registry' | 'native-download' | 'permissions' | 'cancelled' | 'other';

export interface InstallFailure {
  kind: InstallFailureKind;
  /** What went wrong and what to do, in one paragraph. */
  message: string;
  /** The lines of npm's output that show the cause. */
  details: string[];
  exitCode?: number | null;
}

export type InstallResult =
  { ok: true; prefix: string; packageDir: string; version: string } | { ok: false; failure: InstallFailure };

export interface InstallOptions {
  backend: NativeBackend;
  /** The folder holding one npm prefix per backend (`<globalStorage>/native`). */
  root: string;
  /** npm executable (default `npm`, `npm.cmd` on Windows), looked up on `env.PATH`. */
  npm?: string;
  env?: NodeJS.ProcessEnv;
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

/** The npm prefix of one backend: pass it (or its parent list) to the trainer as FINETUNE_NATIVE_PATH. */
export function backendPrefix(root: string, backend: NativeBackend): string {
  return path.join(root, backend);
}

/** The installed package's folder inside a prefix (or any folder that holds node_modules). */
export function packageDir(prefix: string, backend: NativeBackend): string {
  return path.join(prefix, 'node_modules', ...NATIVE_PACKAGES[backend].split('/'));
}

/**
 * The version of the backend's package under `prefix` when it is there with its native binding
 * (lib/napi-v*\/tfjs_binding.node, which the install script puts in place), else undefined.
 */
export async function installedVersion(prefix: string, backend: NativeBackend): Promise<string | undefined> {
  const dir = packageDir(prefix, backend);
  try {
    const { version } = JSON.parse(
      await readTextFile(path.join(dir, 'package.json'), { maxBytes: READ_LIMITS.smallJson }),
    ) as { version?: string };
    const lib = path.join(dir, 'lib');
    const bindings = await Promise.all(
      (await fs.promises.readdir(lib))
        .filter((entry) => entry.startsWith('napi-v'))
        .map((entry) =>
          fs.promises.stat(path.join(lib, entry, 'tfjs_binding.node')).then(
            () => true,
            () => false,
          ),
        ),
    );
    return bindings.some(Boolean) && typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

const CAUSE_LINE =
  /npm (ERR!|error)|error|ENOTFOUND|EAI_AGAIN|ECONN|ETIMEDOUT|EACCES|EPERM|libtensorflow|install\.js|fail|not recognized|certificate|proxy/i;

/** The lines that explain a failure: the matching ones, de-duplicated, the last `max` of them. */
export function causeLines(output: string, max = 12): string[] {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || !CAUSE_LINE.test(line) || seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
  return lines.slice(-max);
}

const NETWORK =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|socket hang up|network|getaddrinfo|certificate|self[- ]signed|proxy/i;
const NATIVE_STEP =
  /libtensorflow|scripts[/\\]install\.js|node-pre-gyp|storage\.googleapis\.com|tfjs_binding/i;

/** Turns npm's exit and output into a failure that says what to do. */
export function classifyInstallFailure(
  backend: NativeBackend,
  output: string,
  exitCode: number | null,
  spawnError?: NodeJS.ErrnoException,
): InstallFailure {
  const pkg = `${NATIVE_PACKAGES[backend]}@${TFJS_NODE_VERSION}`;
  const details = causeLines(output);
  if (spawnError?.code === 'ENOENT' || /'npm' is not recognized|npm: (command )?not found/i.test(output)) {
    return {
      kind: 'no-npm',
      message:
        `npm was not found on the PATH of the machine the extension runs on. Install Node.js (it includes npm) ` +
        `there, or install ${pkg} yourself and point the setting fineTune.nativeBackendPath at the folder ` +
        `that holds its node_modules.`,
      details: spawnError ? [spawnError.message] : details,
      exitCode,
    };
  }
  if (NATIVE_STEP.test(output) && NETWORK.test(output)) {
    return {
      kind: 'native-download',
      message:
        `npm fetched ${pkg}, but its install script could not download the native TensorFlow library ` +
        `(libtensorflow) from storage.googleapis.com — no internet access, or a proxy/firewall blocks it. ` +
        `Allow that download (HTTPS_PROXY is honoured), or install the package on a machine that can and set ` +
        `fineTune.nativeBackendPath to it. wasm and cpu keep working meanwhile.`,
      details,
      exitCode,
    };
  }
  if (NETWORK.test(output)) {
    return {
      kind: 'registry',
      message:
        `npm could not reach the package registry (no internet access, or a proxy/firewall in the way). Check ` +
        `\`npm ping\` in a terminal on that machine, set npm's proxy or registry (npm config set proxy …), ` +
        `or point fineTune.nativeBackendPath at an existing installation of ${pkg}.`,
      details,
      exitCode,
    };
  }
  if (/EACCES|EPERM/.test(output)) {
    return {
      kind: 'permissions',
      message: `npm was not allowed to write the files it needed (EACCES/EPERM); see the lines below.`,
      details,
      exitCode,
    };
  }
  if (NATIVE_STEP.test(output)) {
    return {
      kind: 'native-download',
      message:
        `${pkg}'s install script failed while setting up the native TensorFlow library; see the lines below. ` +
        `Prebuilt binaries exist for Linux x64, macOS and Windows x64 (the GPU package: Linux and Windows only).`,
      details,
      exitCode,
    };
  }
  return {
    kind: 'other',
    message: `npm install ${pkg} failed (exit code ${exitCode}); see the lines below and the Fine-Tune log.`,
    details,
    exitCode,
  };
}

/** Ends npm and the install scripts it started (they share npm's process group on POSIX). */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  if (process.platform === 'win32') {
    spawn('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore' });
    return;
  }
  try {
    process.kill(-child.pid, 'SIGTERM');
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 2000).unref();
  } catch {
    child.kill('SIGKILL');
  }
}

/** How npm is started: no shell (cross-spawn escapes for cmd.exe where a batch file needs it). */
export function npmSpawnOptions(
  env: NodeJS.ProcessEnv,
  cwd: string,
): import('node:child_process').SpawnOptions {
  return {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so Cancel ends npm and the install script's downloads with it.
    detached: process.platform !== 'win32',
    shell: false,
    windowsHide: true,
  };
}

/** Runs `npm install <pkg>@4.22.0` into a staging prefix; on success moves it to `<root>/<backend>/`. */
export async function installNativeBackend(options: InstallOptions): Promise<InstallResult> {
  const { backend, root } = options;
  const pkg = `${NATIVE_PACKAGES[backend]}@${TFJS_NODE_VERSION}`;
  await fs.promises.mkdir(root, { recursive: true });
  const staging = await fs.promises.mkdtemp(path.join(root, `.staging-${backend}-`));
  // npm treats the prefix as a project: give it one, so it never walks up to a package.json above it.
  await fs.promises.writeFile(
    path.join(staging, 'package.json'),
    `${JSON.stringify({ name: `fine-tune-native-${backend}`, private: true, description: 'Installed by Fine-Tune Studio' }, null, 2)}\n`,
  );
  // On Windows npm is npm.cmd, a batch file, which only cmd.exe runs. cross-spawn finds it on PATH and
  // runs it through cmd.exe with each argument escaped for cmd — `shell: true` would join the arguments
  // unquoted, so a global-storage path with a space ("Code - Insiders") split into two arguments.
  const npm = options.npm ?? 'npm';
  const args = ['install', pkg, '--prefix', staging, '--no-audit', '--no-fund', '--foreground-scripts'];

  return new Promise((resolve) => {
    let output = '';
    let cancelled = false;
    const child = crossSpawn.spawn(npm, args, npmSpawnOptions(options.env ?? process.env, staging));
    const lineReader = (stream: 'stdout' | 'stderr'): ((chunk: Buffer) => void) => {
      let pending = '';
      return (chunk) => {
        const text = chunk.toString('utf8');
        output = (output + text).slice(-256 * 1024);
        pending += text;
        const lines = pending.split(/\r?\n|\r/);
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) options.onOutput?.(line, stream);
      };
    };
    child.stdout?.on('data', lineReader('stdout'));
    child.stderr?.on('data', lineReader('stderr'));
    const onAbort = (): void => {
      cancelled = true;
      killTree(child);
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    let settled = false;
    const done = (result: InstallResult): void => {
      if (settled) return; // a failed spawn reports 'error', then may also 'close'
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (result.ok) return resolve(result);
      void fs.promises.rm(staging, { recursive: true, force: true }).finally(() => resolve(result));
    };
    child.once('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, failure: classifyInstallFailure(backend, output, null, error) }),
    );
    child.once('close', (code) => void closed(code));
    const closed = async (code: number | null): Promise<void> => {
      if (cancelled) {
        return done({
          ok: false,
          failure: {
            kind: 'cancelled',
            message: 'The installation was cancelled; nothing was installed.',
            details: [],
            exitCode: code,
          },
        });
      }
      if (code !== 0) return done({ ok: false, failure: classifyInstallFailure(backend, output, code) });
      const version = await installedVersion(staging, backend);
      if (!version) {
        return done({
          ok: false,
          failure: {
            kind: 'native-download',
            message: `npm finished, but ${pkg} has no native binding (lib/napi-v*/tfjs_binding.node): its install script did not complete. See the log.`,
            details: causeLines(output),
            exitCode: code,
          },
        });
      }
      const prefix = backendPrefix(root, backend);
      const old = `${prefix}.old-${process.pid}`;
      try {
        const hadOne = await fs.promises.lstat(prefix).then(
          () => true,
          () => false,
        );
        if (hadOne) await fs.promises.rename(prefix, old);
        await fs.promises.rename(staging, prefix);
        await fs.promises.rm(old, { recursive: true, force: true });
      } catch (error) {
        return done({
          ok: false,
          failure: {
            kind: 'permissions',
            message: `Could not move the installation into ${prefix}: ${(error as Error).message}`,
            details: [],
            exitCode: code,
          },
        });
      }
      done({ ok: true, prefix, packageDir: packageDir(prefix, backend), version });
    };
  });
}
