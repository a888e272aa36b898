/**
 * The sweep folder, `<runs folder>/../sweeps/<sweepId>/`, beside the runs folder:
 *   sweep.json           snapshot: the sweep file's text and resolved config, the experiment's text
 *   state.json           every trial's state, the best trial so far, the controller (replaced atomically)
 *   cancel-request.json  written by `finetune sweep cancel` / VS Code; the controller stops every trial
 *   trials/<n>/          experiment.json (the trial's experiment), trial.json (its run.json `sweep`), trial.log
 *   slurm/               the generated batch scripts
 * Reads tolerate what a disk holds (a missing or garbage state.json lists as unreadable); a sweep whose
 * state says running but whose controller process is gone reads as `interrupted` — it can be resumed.
 * No TensorFlow.js, no vscode: the CLI, the controller and the extension host all use it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SweepConfig, SweepState, SweepStatus, TrialState } from '../../protocol/sweepConfig';
import { TRIAL_STATES } from '../../protocol/sweepConfig';
import { writeFileAtomic } from '../atomicFile';
import { isProcessAlive } from '../runs/readRuns';
import { UserError } from '../userError';

export const SWEEP_FILE = 'sweep.json';
export const STATE_FILE = 'state.json';
export const CANCEL_REQUEST_FILE = 'cancel-request.json';

/** `<runs folder>/../sweeps`, as DESIGN fixes it. */
export function sweepsDirOf(runsDir: string): string {
  return path.join(path.dirname(path.resolve(runsDir)), 'sweeps');
}

export const trialDirOf = (sweepDir: string, trial: number): string =>
  path.join(sweepDir, 'trials', String(trial));

export interface SweepSnapshot {
  id: string;
  createdAt: string;
  /** The sweep file as it was when the sweep started (a resume checks it is unchanged). */
  sweepText: string;
  config: SweepConfig;
  experimentText: string;
}

export interface SweepListing {
  id: string;
  dir: string;
  state?: SweepState;
  unreadable?: string;
  /** The recorded status, except that `running` with its controller gone is `interrupted`. */
  effectiveStatus: SweepStatus | 'unreadable';
}

/** `20261203-143005-digits-dropout-lr`: sorts by start time, readable, safe as a folder name. */
export function makeSweepId(name: string, now = new Date(), taken: (id: string) => boolean = () => false) {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'sweep';
  let id = `${stamp}-${slug}`;
  for (let i = 2; taken(id); i++) id = `${stamp}-${slug}-${i}`;
  return id;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function writeState(sweepDir: string, state: SweepState): void {
  writeJsonAtomic(path.join(sweepDir, STATE_FILE), state);
}

export function readSnapshot(sweepDir: string): SweepSnapshot {
  const file = path.join(sweepDir, SWEEP_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SweepSnapshot;
  } catch (error) {
    throw new UserError(`Cannot read ${file}: ${(error as Error).message}`, file);
  }
}

export function countTrials(trials: SweepState['trials']): Record<TrialState, number> {
  const counts = Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as Record<TrialState, number>;
  for (const trial of trials) if (trial.state in counts) counts[trial.state] += 1;
  return counts;
}

function isState(value: unknown): value is SweepState {
  const v = value as Partial<SweepState> | null;
  return typeof v === 'object' && v !== null && typeof v.status === 'string' && Array.isArray(v.trials);
}

export function effectiveSweepStatus(state: SweepState): SweepStatus {
  if (state.status !== 'running') return state.status;
  const controller = state.controller;
  // A controller on another machine (a shared folder) cannot be checked; it keeps its status.
  if (!controller || controller.hostname !== os.hostname()) return 'running';
  return isProcessAlive(controller.pid) ? 'running' : 'interrupted';
}

/** Reads one sweep folder. Never throws. */
export function readSweep(sweepDir: string): SweepListing {
  const dir = path.resolve(sweepDir);
  const id = path.basename(dir);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const unreadable =
      code === 'ENOENT'
        ? `${STATE_FILE} is missing`
        : `${STATE_FILE} is unreadable (${(error as Error).message})`;
    return { id, dir, unreadable, effectiveStatus: 'unreadable' };
  }
  if (!isState(value))
    return { id, dir, unreadable: `${STATE_FILE} is not a sweep state`, effectiveStatus: 'unreadable' };
  return { id, dir, state: value, effectiveStatus: effectiveSweepStatus(value) };
}

/** Every sweep in `sweepsDir`, newest first. A missing folder has none. */
export function listSweeps(sweepsDir: string): SweepListing[] {
  let names: string[];
  try {
    names = fs
      .readdirSync(sweepsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  return names
    .map((name) => readSweep(path.join(sweepsDir, name)))
    .sort(
      (a, b) =>
        (b.state?.createdAt ?? b.id).localeCompare(a.state?.createdAt ?? a.id) || b.id.localeCompare(a.id),
    );
}

/** A sweep by exact id, unique id prefix, or folder path; unknown and ambiguous ones are UserErrors. */
export function resolveSweepRef(sweepsDir: string, ref: string): SweepListing {
  const trimmed = ref.trim();
  const asPath = path.resolve(trimmed);
  if (trimmed !== '' && fs.existsSync(path.join(asPath, STATE_FILE))) return readSweep(asPath);
  const sweeps = listSweeps(sweepsDir);
  const exact = sweeps.find((s) => s.id === trimmed);
  if (exact) return exact;
  // A prefix of the id, else a part of it or the sweep's name — whichever names exactly one sweep.
  const prefixed = trimmed === '' ? [] : sweeps.filter((s) => s.id.startsWith(trimmed));
  const matches =
    prefixed.length > 0 || trimmed === ''
      ? prefixed
      : sweeps.filter((s) => s.id.includes(trimmed) || s.state?.name === trimmed);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1)
    throw new UserError(`Sweep "${ref}" is ambiguous: it matches ${matches.map((m) => m.id).join(', ')}.`);
  if (sweeps.length === 0)
    throw new UserError(
      `No sweep "${ref}": ${sweepsDir} holds no sweeps. Start one with \`finetune sweep <file.sweep.json>\`, or pass --runs-dir.`,
    );
  throw new UserError(
    `No sweep "${ref}" in ${sweepsDir}. Sweeps, newest first: ${sweeps
      .slice(0, 10)
      .map((s) => s.id)
      .join(', ')}.`,
  );
}

export function requestCancel(sweepDir: string, reason: string): void {
  writeJsonAtomic(path.join(sweepDir, CANCEL_REQUEST_FILE), { reason, at: new Date().toISOString() });
}

export function readCancelRequest(sweepDir: string): string | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(path.join(sweepDir, CANCEL_REQUEST_FILE), 'utf8')) as {
      reason?: unknown;
    };
    return typeof value.reason === 'string' ? value.reason : 'cancel requested';
  } catch {
    return fs.existsSync(path.join(sweepDir, CANCEL_REQUEST_FILE)) ? 'cancel requested' : undefined;
  }
}
