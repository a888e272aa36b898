/**
 * What the sweep tests share: sweep files over the bundled sample experiment, the CLI run in-process or as
 * a process of its own (dist/cli.js, as users and the local executor run it), waiting for a condition on
 * disk (never for a time), and reading a sweep's state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/program';
import type { CliIO } from '../../src/cli/io';
import type { RunRecord } from '../../src/protocol/runRecord';
import type { SweepState } from '../../src/protocol/sweepConfig';

export const repo = path.resolve(__dirname, '..', '..', '..');
export const sampleExperiment = path.join(repo, 'samples', 'digits', 'digits-frozen-conv.finetune.json');
export const cliJs = path.join(repo, 'dist', 'cli.js');

export function tempWorkspace(prefix: string): { dir: string; runsDir: string; sweepsDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    runsDir: path.join(dir, '.finetune', 'runs'),
    sweepsDir: path.join(dir, '.finetune', 'sweeps'),
  };
}

/** Writes `<dir>/<name>.sweep.json` over the sample experiment; returns its path. */
export function writeSweep(dir: string, name: string, fields: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.sweep.json`);
  fs.writeFileSync(
    file,
    `// ${name}\n${JSON.stringify({ name, experiment: sampleExperiment, method: 'grid', ...fields }, null, 2)}\n`,
  );
  return file;
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], cwd: string): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    cwd,
    env: process.env,
  };
  const code = await main(['node', 'finetune', ...args], io);
  return { code, stdout, stderr };
}

export interface SpawnedCli {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnedCli {
  const child = spawn(process.execPath, [cliJs, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Polls `check` until it returns a value (not undefined/false); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined | false;
    try {
      value = check();
    } catch {
      value = undefined; // a file caught mid-replace reads as not there yet
    }
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function onlySweepDir(sweepsDir: string): string {
  const names = fs.readdirSync(sweepsDir).filter((n) => !n.startsWith('.'));
  if (names.length !== 1) throw new Error(`expected one sweep in ${sweepsDir}, found ${names.join(', ')}`);
  return path.join(sweepsDir, names[0]);
}

export function readState(sweepDir: string): SweepState {
  return JSON.parse(fs.readFileSync(path.join(sweepDir, 'state.json'), 'utf8')) as SweepState;
}

export function readRunRecord(runDir: string): RunRecord {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as RunRecord;
}

export function metricLines(runDir: string): number {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

/** Kills a process by id if it still runs (a trial's trainer, a controller). */
export function killIfAlive(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
