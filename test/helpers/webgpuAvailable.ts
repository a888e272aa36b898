/**
 * Whether this machine has a WebGPU adapter for the webgpu tests, decided once, synchronously (so a
 * describe can be skipped): the engine's own probe script, run as the engine runs it. In CI (CI=true)
 * there must be one — .ci/run installs Mesa's EGL/GLES (llvmpipe) — so a missing adapter fails there
 * instead of skipping; locally the tests are skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { ProbeOutcome } from '../../src/engine/backend/webgpu/adapterChoice';
import { PROBE_RESULT_PREFIX } from '../../src/engine/backend/webgpu/probeAdapters';

const probeScript = path.resolve(__dirname, '../../src/engine/backend/webgpu/gpuProbe.js');

function probe(): ProbeOutcome[] {
  const result = spawnSync(process.execPath, [probeScript], {
    encoding: 'utf8',
    env: { ...process.env, EGL_PLATFORM: process.env.EGL_PLATFORM ?? 'surfaceless' },
    timeout: 30_000,
  });
  const line = (result.stdout ?? '').split('\n').find((l) => l.startsWith(PROBE_RESULT_PREFIX));
  return line ? (JSON.parse(line.slice(PROBE_RESULT_PREFIX.length)) as ProbeOutcome[]) : [];
}

export const webgpuOutcomes = probe();

/** Undefined when an adapter exists; else why the webgpu tests are skipped (never in CI). */
export const webgpuSkip: string | undefined = webgpuOutcomes.some((o) => o.adapter)
  ? undefined
  : process.env.CI === 'true'
    ? undefined // CI must have one: the tests run and fail with the engine's message
    : `no WebGPU adapter here (${webgpuOutcomes.map((o) => `${o.target.dawnBackend}: ${o.reason}`).join('; ') || 'probe failed'}); bash scripts/webgpu-setup.sh installs Mesa's software one`;

/** True when the only adapters are software ones (as in CI). */
export const webgpuSoftwareOnly = webgpuOutcomes.every((o) => !o.adapter || o.adapter.software);
