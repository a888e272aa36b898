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
import { writeFileAtomic, writeFileAtomicAsync } from '../atomicFile';
import { isFileReadError, READ_LIMITS, readTextFile, readTextFileSync } from '../files/regularFile';
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

/**
 * Sweep files are read like run files (files/regularFile.ts): regular files only, never through a link
 * (we write them ourselves), with a byte cap — a state.json that is a link to /dev/zero in a cloned
 * repository lists as unreadable instead of reading forever.
 */
const STATE_READ = { maxBytes: READ_LIMITS.runRecord, noFollow: true };
const SNAPSHOT_READ = { maxBytes: READ_LIMITS.runRecord, noFollow: true };
const CANCEL_READ = { maxBytes: READ_LIMITS.smallJson, noFollow: true };

/** Sweep folders read at most per sweeps folder (ids start with their start time: the newest are kept). */
export const MAX_SWEEPS_LISTED = 1000;

export function readSnapshot(sweepDir: string): SweepSnapshot {
  const file = path.join(sweepDir, SWEEP_FILE);
  try {
    return JSON.parse(readTextFileSync(file, SNAPSHOT_READ)) as SweepSnapshot;
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

/** A sweep folder whose state.json could not be read, and why. */
function unreadableSweep(dir: string, error: unknown): SweepListing {
  const unreadable =
    isFileReadError(error) && error.reason === 'missing'
      ? `${STATE_FILE} is missing`
      : `${STATE_FILE} is unreadable (${isFileReadError(error) ? error.reason : (error as Error).message})`;
  return { id: path.basename(dir), dir, unreadable, effectiveStatus: 'unreadable' };
}

/** A sweep folder from its state.json's text. */
function sweepOfText(dir: string, text: string): SweepListing {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return unreadableSweep(dir, error);
  }
  const id = path.basename(dir);
  if (!isState(value))
    return { id, dir, unreadable: `${STATE_FILE} is not a sweep state`, effectiveStatus: 'unreadable' };
  return { id, dir, state: value, effectiveStatus: effectiveSweepStatus(value) };
}

/** Reads one sweep folder. Never throws. */
export function readSweep(sweepDir: string): SweepListing {
  const dir = path.resolve(sweepDir);
  try {
    return sweepOfText(dir, readTextFileSync(path.join(dir, STATE_FILE), STATE_READ));
  } catch (error) {
    return unreadableSweep(dir, error);
  }
}

/** readSweep without blocking the thread (the extension host). */
export async function readSweepAsync(sweepDir: string): Promise<SweepListing> {
  const dir = path.resolve(sweepDir);
  try {
    return sweepOfText(dir, await readTextFile(path.join(dir, STATE_FILE), STATE_READ));
  } catch (error) {
    return unreadableSweep(dir, error);
  }
}

/** Real sub-folders only (a link is not a sweep we wrote), not hidden, newest names first, at most MAX_SWEEPS_LISTED. */
function sweepFolderNames(entries: fs.Dirent[]): string[] {
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .slice(0, MAX_SWEEPS_LISTED);
}

function newestSweepsFirst(listings: SweepListing[]): SweepListing[] {
  return listings.sort(
    (a, b) =>
      (b.state?.createdAt ?? b.id).localeCompare(a.state?.createdAt ?? a.id) || b.id.localeCompare(a.id),
  );
}

/** Every sweep in `sweepsDir`, newest first. A missing folder has none. */
export function listSweeps(sweepsDir: string): SweepListing[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(sweepsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  return newestSweepsFirst(sweepFolderNames(entries).map((name) => readSweep(path.join(sweepsDir, name))));
}

/** listSweeps without blocking the thread (the extension host's Runs view). */
export async function listSweepsAsync(sweepsDir: string): Promise<SweepListing[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(sweepsDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const listings: SweepListing[] = [];
  for (const name of sweepFolderNames(entries))
    listings.push(await readSweepAsync(path.join(sweepsDir, name)));
  return newestSweepsFirst(listings);
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

/** requestCancel without blocking the thread (the extension host). */
export async function requestCancelAsync(sweepDir: string, reason: string): Promise<void> {
  const text = `${JSON.stringify({ reason, at: new Date().toISOString() }, null, 2)}\n`;
  await writeFileAtomicAsync(path.join(sweepDir, CANCEL_REQUEST_FILE), text);
}

export function readCancelRequest(sweepDir: string): string | undefined {
  try {
    const value = JSON.parse(readTextFileSync(path.join(sweepDir, CANCEL_REQUEST_FILE), CANCEL_READ)) as {
      reason?: unknown;
    };
    return typeof value.reason === 'string' ? value.reason : 'cancel requested';
  } catch {
    return fs.existsSync(path.join(sweepDir, CANCEL_REQUEST_FILE)) ? 'cancel requested' : undefined;
  }
}
