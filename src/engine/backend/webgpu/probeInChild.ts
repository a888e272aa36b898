/**
 * Runs the GPU probe (gpuProbe.ts) in a child process of the same Node executable and reads its answer.
 * A probe that crashes (a faulty driver), hangs, or finds nothing is an answer too: `auto` then goes on
 * to the next backend, and an explicit `webgpu` says why, with what Dawn printed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeTargets, type ProbeOutcome } from './adapterChoice';
import { PROBE_RESULT_PREFIX } from './probeAdapters';

const PROBE_TIMEOUT_MS = 20_000;

export interface ProbeReport {
  outcomes: ProbeOutcome[];
  /** What Dawn and the drivers printed while probing (trimmed, de-duplicated lines). */
  dawnLog: string[];
}

/** dist/gpuProbe.js beside the bundled trainer, CLI or bench, or gpuProbe.js beside this file (tests). */
function probeScript(): string {
  const script = path.join(__dirname, 'gpuProbe.js');
  if (!fs.existsSync(script)) throw new Error(`The GPU probe ${script} is missing: run "npm run build".`);
  return script;
}

/** Dawn's warnings without its source locations ("at InitializeImpl (/…/PhysicalDeviceVk.cpp:257)"). */
export function dawnLogLines(stderr: string): string[] {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^at \S+ \(.*:\d+\)$/.test(l) && !/^- While /.test(l));
  return [...new Set(lines)];
}

function failed(reason: string, stderr: string): ProbeReport {
  return {
    outcomes: probeTargets(process.platform).map((target) => ({ target, reason })),
    dawnLog: dawnLogLines(stderr),
  };
}

export function probeInChild(): Promise<ProbeReport> {
  return new Promise((resolve) => {
    let script: string;
    try {
      script = probeScript();
    } catch (error) {
      resolve(failed((error as Error).message, ''));
      return;
    }
    const env = { ...process.env };
    if (process.platform === 'linux' && !env.EGL_PLATFORM) env.EGL_PLATFORM = 'surfaceless';
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16384)));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(failed(`the GPU probe could not start (${error.message})`, stderr));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(PROBE_RESULT_PREFIX));
      if (line) {
        try {
          const outcomes = JSON.parse(line.slice(PROBE_RESULT_PREFIX.length)) as ProbeOutcome[];
          resolve({ outcomes, dawnLog: dawnLogLines(stderr) });
          return;
        } catch {
          // fall through: reported as a failed probe
        }
      }
      const how =
        signal === 'SIGKILL'
          ? `the GPU probe did not answer within ${PROBE_TIMEOUT_MS / 1000} s (a hanging driver?)`
          : signal
            ? `the GPU probe crashed (${signal}: a faulty GPU driver?)`
            : `the GPU probe failed (exit code ${code})`;
      resolve(failed(how, stderr));
    });
  });
}
