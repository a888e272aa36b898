/**
 * Installing the native TensorFlow backends with npm, tested with a fake `npm` first on PATH (a script
 * that behaves like npm does when the registry or the libtensorflow download is unreachable, when all
 * goes well, or when it hangs), and the CUDA/cuDNN check with canned `nvidia-smi` / `ldconfig -p` output.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  causeLines,
  classifyInstallFailure,
  installedVersion,
  installNativeBackend,
  npmSpawnOptions,
  packageDir,
  type InstallResult,
} from '../../src/host/nativeBackend/npmInstall';
import {
  checkCuda,
  parseLdconfig,
  parseNvidiaSmi,
  type RunCommand,
} from '../../src/host/nativeBackend/cudaCheck';

const posix = process.platform !== 'win32';

/** A fake npm: FAKE_NPM_MODE picks what it does; it records its arguments in FAKE_NPM_ARGS. */
const FAKE_NPM = `#!/usr/bin/env node
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const args = process.argv.slice(2);
fs.writeFileSync(process.env.FAKE_NPM_ARGS, JSON.stringify(args));
const prefix = args[args.indexOf('--prefix') + 1];
const pkg = args[1].replace(/@[^@]*$/, '');
switch (process.env.FAKE_NPM_MODE) {
  case 'native-offline':
    console.log('> ' + pkg + '@4.22.0 install');
    console.log('> node scripts/install.js');
    console.log('CPU-linux-4.22.0.tar.gz');
    console.log('* Downloading libtensorflow');
    console.error('Error: getaddrinfo ENOTFOUND storage.googleapis.com');
    console.error('npm error code 1');
    console.error('npm error path ' + prefix + '/node_modules/' + pkg);
    console.error('npm error command failed');
    console.error('npm error command sh -c node scripts/install.js');
    process.exit(1);
  case 'registry-offline':
    console.error('npm error code ENOTFOUND');
    console.error('npm error syscall getaddrinfo');
    console.error('npm error network request to https://registry.npmjs.org/@tensorflow%2ftfjs-node failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org');
    console.error('npm error network This is a problem related to network connectivity.');
    process.exit(1);
  case 'ok':
  case 'no-binding': {
    const dir = path.join(prefix, 'node_modules', ...pkg.split('/'));
    fs.mkdirSync(path.join(dir, 'lib', 'napi-v8'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: pkg, version: '4.22.0' }));
    if (process.env.FAKE_NPM_MODE === 'ok') fs.writeFileSync(path.join(dir, 'lib', 'napi-v8', 'tfjs_binding.node'), 'binary');
    console.log('added 1 package in 1s');
    process.exit(0);
  }
  case 'hang': {
    // Like npm running an install script that downloads: a child process, both waiting.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    fs.writeFileSync(process.env.FAKE_NPM_ARGS + '.pids', JSON.stringify([process.pid, child.pid]));
    console.log('* Downloading libtensorflow');
    setInterval(() => {}, 1000);
    break;
  }
}
`;

function fakeNpm(mode: string): { env: NodeJS.ProcessEnv; argsFile: string; root: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-npm-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'npm'), FAKE_NPM, { mode: 0o755 });
  const argsFile = path.join(dir, 'args.json');
  return {
    env: {
      ...process.env,
      PATH: `${bin}${path.delimiter}${process.env.PATH}`,
      FAKE_NPM_MODE: mode,
      FAKE_NPM_ARGS: argsFile,
    },
    argsFile,
    root: path.join(dir, 'native'),
  };
}

function assertFailure(result: InstallResult): Extract<InstallResult, { ok: false }>['failure'] {
  assert.equal(result.ok, false);
  return (result as Extract<InstallResult, { ok: false }>).failure;
}

/** Nothing half-installed: no staging folders, no backend folder. */
function assertClean(root: string): void {
  assert.deepEqual(fs.existsSync(root) ? fs.readdirSync(root) : [], []);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('installing a native backend with npm', { skip: !posix && 'the fake npm is a POSIX script' }, () => {
  it('runs npm install <pkg>@4.22.0 into a staging prefix, then moves it into <root>/<backend>', async () => {
    const { env, argsFile, root } = fakeNpm('ok');
    const lines: string[] = [];
    const result = await installNativeBackend({
      backend: 'tensorflow-gpu',
      root,
      env,
      onOutput: (l) => lines.push(l),
    });
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok) return;
    assert.equal(result.prefix, path.join(root, 'tensorflow-gpu'));
    assert.equal(result.version, '4.22.0');
    assert.equal(result.packageDir, packageDir(result.prefix, 'tensorflow-gpu'));
    assert.equal(await installedVersion(result.prefix, 'tensorflow-gpu'), '4.22.0');
    const args = JSON.parse(fs.readFileSync(argsFile, 'utf8')) as string[];
    assert.equal(args[0], 'install');
    assert.equal(args[1], '@tensorflow/tfjs-node-gpu@4.22.0');
    assert.match(args[args.indexOf('--prefix') + 1], /\.staging-tensorflow-gpu-/);
    assert.ok(args.includes('--foreground-scripts'), 'install script output is streamed');
    assert.deepEqual(lines, ['added 1 package in 1s']);
    assert.deepEqual(fs.readdirSync(root), ['tensorflow-gpu']);
    // The prefix is its own npm project, so npm never walks up to a package.json above it.
    assert.ok(fs.existsSync(path.join(result.prefix, 'package.json')));
  });

  it('without npm on PATH: says to install Node.js or use fineTune.nativeBackendPath', async () => {
    const { root } = fakeNpm('ok');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-nopath-'));
    const failure = assertFailure(
      await installNativeBackend({ backend: 'tensorflow', root, env: { ...process.env, PATH: empty } }),
    );
    assert.equal(failure.kind, 'no-npm');
    assert.match(
      failure.message,
      /npm was not found on the PATH.*Install Node\.js.*fineTune\.nativeBackendPath/s,
    );
    assertClean(root);
  });

  it('when the libtensorflow download fails (offline): explains it and shows the lines that say so', async () => {
    const { env, root } = fakeNpm('native-offline');
    const failure = assertFailure(await installNativeBackend({ backend: 'tensorflow', root, env }));
    assert.equal(failure.kind, 'native-download');
    assert.equal(failure.exitCode, 1);
    assert.match(
      failure.message,
      /could not download the native TensorFlow library \(libtensorflow\) from storage\.googleapis\.com/,
    );
    assert.ok(
      failure.details.includes('Error: getaddrinfo ENOTFOUND storage.googleapis.com'),
      failure.details.join('\n'),
    );
    assert.ok(failure.details.includes('npm error command sh -c node scripts/install.js'));
    assertClean(root);
  });

  it('when the registry is unreachable: says so, and how to check it', async () => {
    const { env, root } = fakeNpm('registry-offline');
    const failure = assertFailure(await installNativeBackend({ backend: 'tensorflow', root, env }));
    assert.equal(failure.kind, 'registry');
    assert.match(failure.message, /could not reach the package registry.*npm ping/s);
    assert.ok(failure.details.some((l) => l.includes('ENOTFOUND registry.npmjs.org')));
    assertClean(root);
  });

  it('npm succeeding without the native binding is a failure, not an installation', async () => {
    const { env, root } = fakeNpm('no-binding');
    const failure = assertFailure(await installNativeBackend({ backend: 'tensorflow', root, env }));
    assert.equal(failure.kind, 'native-download');
    assert.match(failure.message, /no native binding/);
    assertClean(root);
  });

  it('Cancel ends npm and the processes it started, and installs nothing', async () => {
    const { env, argsFile, root } = fakeNpm('hang');
    const controller = new AbortController();
    const pending = installNativeBackend({
      backend: 'tensorflow',
      root,
      env,
      signal: controller.signal,
      onOutput: (line) => {
        if (line.includes('Downloading')) controller.abort();
      },
    });
    const started = Date.now();
    const failure = assertFailure(await pending);
    assert.equal(failure.kind, 'cancelled');
    assert.ok(Date.now() - started < 5000);
    const pids = JSON.parse(fs.readFileSync(`${argsFile}.pids`, 'utf8')) as number[];
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], 'npm and its child are gone');
    assertClean(root);
  });

  it('a second installation replaces the first one', async () => {
    const { env, root } = fakeNpm('ok');
    const first = await installNativeBackend({ backend: 'tensorflow', root, env });
    assert.equal(first.ok, true);
    const marker = path.join(root, 'tensorflow', 'old-marker');
    fs.writeFileSync(marker, '');
    const second = await installNativeBackend({ backend: 'tensorflow', root, env });
    assert.equal(second.ok, true);
    assert.equal(fs.existsSync(marker), false);
    assert.deepEqual(fs.readdirSync(root), ['tensorflow']);
  });
});

describe('npm is started without a shell (issue 16, point 12)', () => {
  it(
    'a global-storage path with spaces and shell characters reaches npm as one argument, running nothing',
    { skip: !posix },
    async () => {
      const { env, argsFile } = fakeNpm('ok');
      const base = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-npm-'));
      const root = path.join(
        base,
        'Code - Insiders',
        'User',
        'globalStorage',
        'x $(touch PWNED) `touch PWNED2`; touch PWNED3',
      );
      const result = await installNativeBackend({ backend: 'tensorflow', root, env });
      assert.equal(result.ok, true, JSON.stringify(result));
      const args = JSON.parse(fs.readFileSync(argsFile, 'utf8')) as string[];
      const prefix = args[args.indexOf('--prefix') + 1];
      assert.equal(path.dirname(prefix), root, 'the prefix is one argument, exactly the path');
      for (const dir of [process.cwd(), base, root]) {
        assert.deepEqual(
          fs.readdirSync(dir).filter((f) => f.startsWith('PWNED')),
          [],
          `nothing ran in ${dir}`,
        );
      }
    },
  );

  it('on Windows, npm.cmd runs through cmd.exe with every argument escaped, not joined by a shell', () => {
    assert.equal(npmSpawnOptions(process.env, os.tmpdir()).shell, false);
    // cross-spawn's command line for cmd.exe, built as on Windows (its module reads the platform once).
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    const modules = ['parse', 'util/escape', 'util/resolveCommand', 'util/readShebang'].map((m) =>
      require.resolve(`cross-spawn/lib/${m}`),
    );
    const prefix = 'C:\\Users\\me\\AppData\\Roaming\\Code - Insiders\\User\\globalStorage\\f & b';
    let line: string;
    try {
      Object.defineProperty(process, 'platform', { value: 'win32' });
      modules.forEach((m) => delete require.cache[m]);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const parse = require('cross-spawn/lib/parse') as (
        c: string,
        a: string[],
        o: object,
      ) => { command: string; args: string[] };
      const parsed = parse('npm', ['install', '--prefix', prefix], { env: { PATH: '' } });
      assert.match(parsed.command, /cmd\.exe$/i);
      line = parsed.args.join(' ');
    } finally {
      Object.defineProperty(process, 'platform', platform);
      modules.forEach((m) => delete require.cache[m]);
    }
    assert.ok(
      line.includes('^"C:\\Users\\me\\AppData\\Roaming\\Code^ -^ Insiders\\User\\globalStorage\\f^ ^&^ b^"'),
      `the prefix is one escaped argument: ${line}`,
    );
  });
});

describe('classifying npm failures', () => {
  it('tells a blocked libtensorflow download from a blocked registry from anything else', () => {
    assert.equal(
      classifyInstallFailure(
        'tensorflow',
        'node scripts/install.js\nError: connect ETIMEDOUT 142.250.1.1:443',
        1,
      ).kind,
      'native-download',
    );
    assert.equal(
      classifyInstallFailure('tensorflow', 'npm error code EAI_AGAIN\nnpm error network request failed', 1)
        .kind,
      'registry',
    );
    assert.equal(
      classifyInstallFailure('tensorflow', 'npm error code EACCES\nnpm error syscall mkdir', 243).kind,
      'permissions',
    );
    assert.equal(
      classifyInstallFailure('tensorflow', "'npm' is not recognized as an internal or external command", 1)
        .kind,
      'no-npm',
    );
    const other = classifyInstallFailure('tensorflow-gpu', 'npm error code E404\nnpm error 404 Not Found', 1);
    assert.equal(other.kind, 'other');
    assert.match(other.message, /@tensorflow\/tfjs-node-gpu@4\.22\.0 failed \(exit code 1\)/);
  });

  it('keeps only the lines that show the cause, once each, the last ones', () => {
    const lines = causeLines('added 3 packages\nnpm error a\nnpm error a\ninfo ok\nError: b\n', 12);
    assert.deepEqual(lines, ['npm error a', 'Error: b']);
    assert.equal(causeLines(Array.from({ length: 30 }, (_, i) => `npm error ${i}`).join('\n'), 5).length, 5);
  });
});

const SMI_H200 = `+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+`;
const LDCONFIG_CUDA12 = `1234 libs found in cache \`/etc/ld.so.cache'
	libcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9
	libcudart.so.12 (libc6,x86-64) => /usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12
	libc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6`;

function fakeCommands(
  outputs: Record<string, { code: number | null; stdout?: string; error?: string }>,
): RunCommand {
  return async (command, args) => {
    const key = [command, ...args].join(' ');
    const answer = outputs[key] ?? outputs[command] ?? { code: null, error: `spawn ${command} ENOENT` };
    return {
      code: answer.code,
      stdout: answer.stdout ?? '',
      ...(answer.error ? { error: answer.error } : {}),
    };
  };
}

describe('CUDA / cuDNN check for tfjs-node-gpu 4.22', () => {
  it('parses nvidia-smi and ldconfig -p', () => {
    assert.deepEqual(parseNvidiaSmi(SMI_H200), { driverVersion: '550.54.15', cudaVersion: '12.4' });
    const libs = parseLdconfig(LDCONFIG_CUDA12);
    assert.deepEqual(libs.get('libcudart.so.12'), [
      '/usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12',
    ]);
    assert.equal(libs.size, 3);
  });

  it('a CUDA 12 / cuDNN 9 machine: warns that tfjs-node-gpu 4.22 cannot use them', async () => {
    const report = await checkCuda({
      platform: 'linux',
      env: {},
      run: fakeCommands({
        'nvidia-smi': { code: 0, stdout: SMI_H200 },
        'nvidia-smi --query-gpu=name --format=csv,noheader': { code: 0, stdout: 'NVIDIA H200\n' },
        'ldconfig -p': { code: 0, stdout: LDCONFIG_CUDA12 },
      }),
    });
    assert.deepEqual(report.gpus, ['NVIDIA H200']);
    assert.equal(report.driverCudaVersion, '12.4');
    assert.equal(report.cudart11, undefined);
    assert.equal(report.problems.length, 2);
    assert.match(
      report.problems[0],
      /CUDA 11\.2 runtime \(libcudart\.so\.11\.0\) was not found — only libcudart\.so\.12, which tfjs-node-gpu 4\.22 cannot use/,
    );
    assert.match(report.problems[1], /cuDNN 8\.1 \(libcudnn\.so\.8\) was not found — only libcudnn\.so\.9/);
  });

  it('CUDA 11.2 + cuDNN 8 found through LD_LIBRARY_PATH: no problems', async () => {
    const lib = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-cuda-'));
    for (const name of ['libcudart.so.11.0', 'libcudnn.so.8']) fs.writeFileSync(path.join(lib, name), '');
    const report = await checkCuda({
      platform: 'linux',
      env: { LD_LIBRARY_PATH: lib },
      run: fakeCommands({
        'nvidia-smi': { code: 0, stdout: SMI_H200 },
        'ldconfig -p': { code: 0, stdout: LDCONFIG_CUDA12 },
      }),
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.cudart11, path.join(lib, 'libcudart.so.11.0'));
    assert.deepEqual(report.otherCudart, ['libcudart.so.12']);
  });

  it('no driver, an old driver, and macOS each get their own explanation', async () => {
    const none = await checkCuda({
      platform: 'linux',
      env: {},
      run: fakeCommands({ 'ldconfig -p': { code: 0, stdout: '' } }),
    });
    assert.match(none.problems[0], /No NVIDIA driver found: nvidia-smi is not on the PATH/);
    const old = await checkCuda({
      platform: 'linux',
      env: {},
      run: fakeCommands({
        'nvidia-smi': { code: 0, stdout: 'Driver Version: 418.1   CUDA Version: 10.1' },
        'ldconfig -p': { code: 0, stdout: '' },
      }),
    });
    assert.match(old.problems[0], /supports CUDA up to 10\.1; tfjs-node-gpu 4\.22 needs CUDA 11\.2/);
    const mac = await checkCuda({ platform: 'darwin', run: fakeCommands({}) });
    assert.match(mac.problems[0], /no build for darwin/);
  });
});
