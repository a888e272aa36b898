/**
 * The read side of the run store (`.finetune/runs/<runId>/`). The run folder is the source of truth, so
 * everything here tolerates what a real disk holds: a run.json that is missing or garbage, a metrics.jsonl
 * whose last line was torn by a killed trainer, and a run.json that still says `running` although its
 * trainer is long gone. Nothing here imports TensorFlow.js or vscode: the CLI and the extension host both
 * read runs through this module.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EpochMetrics, RunRecord, RunStatus } from '../../protocol/runRecord';
import { UserError } from '../userError';
import { writeFileAtomic } from '../atomicFile';

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';

const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'stopped', 'failed', 'crashed'];

export interface RunListing {
  /** Folder name, which is the run id. */
  id: string;
  /** Absolute path of the run folder. */
  dir: string;
  /** Parsed run.json; absent when it is missing or unreadable. */
  record?: RunRecord;
  /** Parsed lines of metrics.jsonl, in file order. */
  metrics: EpochMetrics[];
  /** Lines of metrics.jsonl that were not a metrics object (a torn last line, garbage). */
  skippedMetricLines: number;
  /** Why run.json could not be used, when it could not. */
  unreadable?: string;
  /** The recorded status, except that a `running` run whose trainer process is gone is `crashed`. */
  effectiveStatus: RunStatus | 'unreadable';
}

/** The message markCrashedRuns records; the trainer writes run.json and the best model as it goes. */
export function crashedRunError(pid: number): string {
  return `trainer process ${pid} is gone (killed or crashed) — the last completed epoch and best model are kept`;
}

function readRecord(file: string): { record?: RunRecord; unreadable?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      unreadable: code === 'ENOENT' ? `${RUN_FILE} is missing` : `cannot read ${RUN_FILE}: ${code ?? error}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { unreadable: `${RUN_FILE} is not valid JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { unreadable: `${RUN_FILE} does not hold a JSON object` };
  }
  const status = (value as { status?: unknown }).status;
  if (!RUN_STATUSES.includes(status as RunStatus)) {
    return { unreadable: `${RUN_FILE} has no valid "status" (got ${JSON.stringify(status)})` };
  }
  return { record: value as RunRecord };
}

/** Parses metrics.jsonl line by line; a line that is not a JSON object with a numeric epoch is skipped. */
export function parseMetricsLines(text: string): { metrics: EpochMetrics[]; skipped: number } {
  const metrics: EpochMetrics[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { epoch?: unknown }).epoch === 'number'
      ) {
        metrics.push(value as EpochMetrics);
        continue;
      }
    } catch {
      // A trainer killed mid-append leaves a torn last line; it is counted below, not fatal.
    }
    skipped++;
  }
  return { metrics, skipped };
}

function readMetrics(file: string): { metrics: EpochMetrics[]; skipped: number } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // No metrics yet (the first epoch has not ended) or unreadable: either way, no epochs to show.
    return { metrics: [], skipped: 0 };
  }
  return parseMetricsLines(text);
}

/**
 * Whether a process with this id exists on this machine. EPERM means it exists but belongs to another
 * user, which still counts as alive. Non-positive ids are rejected because kill(0 or negative) addresses
 * process groups, not a trainer.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent died too waits as a zombie until init reaps it, and some containers' init
 * never does; kill(pid, 0) still succeeds for it. On Linux /proc says so (state Z); elsewhere: not known.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

function effectiveStatusOf(record: RunRecord): RunStatus {
  if (record.status !== 'running') return record.status;
  // Only a trainer on this machine can be checked; a run on another host (shared folder) keeps its status.
  // A record without a usable pid cannot be judged either, so it is left as it says.
  if (record.hostname !== os.hostname() || !Number.isInteger(record.pid) || record.pid <= 0) return 'running';
  return isProcessAlive(record.pid) ? 'running' : 'crashed';
}

/** Reads one run folder. Never throws: problems end up in `unreadable` and `skippedMetricLines`. */
export function readRun(runDir: string): RunListing {
  const dir = path.resolve(runDir);
  const { record, unreadable } = readRecord(path.join(dir, RUN_FILE));
  const { metrics, skipped } = readMetrics(path.join(dir, METRICS_FILE));
  return {
    id: path.basename(dir),
    dir,
    record,
    metrics,
    skippedMetricLines: skipped,
    unreadable,
    effectiveStatus: record ? effectiveStatusOf(record) : 'unreadable',
  };
}

function mtimeMs(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function sortKey(listing: RunListing): number {
  const started = listing.record ? Date.parse(listing.record.startedAt) : NaN;
  return Number.isFinite(started) ? started : (mtimeMs(listing.dir) ?? 0);
}

/** Every sub-folder of `runsDir` as a run, newest first. A missing folder has no runs. */
export function listRuns(runsDir: string): RunListing[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsDir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR')
      throw new UserError(`The runs folder ${runsDir} is a file, not a folder.`, runsDir);
    throw new UserError(`Cannot read the runs folder ${runsDir} (${code ?? String(error)}).`, runsDir);
  }
  const keyed = entries
    // Hidden folders are not runs: RunWriter assembles a new run under a hidden name before it appears.
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => {
      const listing = readRun(path.join(runsDir, entry.name));
      return { listing, key: sortKey(listing) };
    });
  keyed.sort(
    (a, b) => b.key - a.key || (a.listing.id < b.listing.id ? 1 : a.listing.id > b.listing.id ? -1 : 0),
  );
  return keyed.map((k) => k.listing);
}

/** When the trainer was last seen working: the newest write to run.json or metrics.jsonl. */
function lastSignOfLife(listing: RunListing): Date {
  const times = [
    mtimeMs(path.join(listing.dir, RUN_FILE)),
    mtimeMs(path.join(listing.dir, METRICS_FILE)),
  ].filter((t): t is number => t !== undefined);
  return times.length > 0 ? new Date(Math.max(...times)) : new Date();
}

/**
 * Records as `crashed` every run whose run.json says `running` but whose trainer process is gone, so that
 * every later reader (and the extension's Runs view) agrees. Returns the ids it rewrote; a run.json that
 * cannot be written is left as it is (its effectiveStatus still says crashed).
 */
export function markCrashedRuns(runsDir: string): string[] {
  return listRuns(runsDir)
    .filter((listing) => listing.effectiveStatus === 'crashed' && listing.record?.status === 'running')
    .filter((listing) => markRunCrashed(listing, crashedRunError(listing.record!.pid)))
    .map((listing) => listing.id);
}

/**
 * Rewrites one run's run.json from `running` to `crashed` with `error` (the parent that watched the trainer
 * die passes the tail of its stderr). Returns false when the run is not `running` or cannot be written —
 * a read-only runs folder (someone else's, a mounted share) still lists; readers see it as crashed.
 */
export function markRunCrashed(run: string | RunListing, error: string): boolean {
  const listing = typeof run === 'string' ? readRun(run) : run;
  if (!listing.record || listing.record.status !== 'running') return false;
  const record: RunRecord = {
    ...listing.record,
    status: 'crashed',
    // The moment it died is unknown; its last write is the closest honest estimate of when it ended.
    endedAt: lastSignOfLife(listing).toISOString(),
    error,
  };
  try {
    writeFileAtomic(path.join(listing.dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
    return true;
  } catch {
    return false;
  }
}

function looksLikeRunFolder(candidate: string): boolean {
  return fs.existsSync(path.join(candidate, RUN_FILE)) || fs.existsSync(path.join(candidate, METRICS_FILE));
}

/**
 * Finds a run by exact id, by unique id prefix, or by the path of its folder. Unknown and ambiguous
 * references are UserErrors that list the candidates.
 */
export function resolveRunRef(runsDir: string, ref: string): RunListing {
  const trimmed = ref.trim();
  if (trimmed !== '' && !trimmed.includes('/') && !trimmed.includes(path.sep)) {
    const exact = path.join(runsDir, trimmed);
    if (fs.existsSync(exact) && fs.statSync(exact).isDirectory()) return readRun(exact);
  }
  const asPath = path.resolve(trimmed);
  if (
    trimmed !== '' &&
    fs.existsSync(asPath) &&
    fs.statSync(asPath).isDirectory() &&
    looksLikeRunFolder(asPath)
  ) {
    return readRun(asPath);
  }
  const runs = listRuns(runsDir);
  const matches = trimmed === '' ? [] : runs.filter((run) => run.id.startsWith(trimmed));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new UserError(
      `Run "${ref}" is ambiguous: it matches ${matches.map((m) => m.id).join(', ')}. Give more of the run id.`,
    );
  }
  if (runs.length === 0) {
    throw new UserError(
      `No run "${ref}": ${runsDir} holds no runs. Train one with \`finetune train <file.finetune.json>\`, or pass --runs-dir.`,
    );
  }
  const shown = runs.slice(0, 10).map((run) => run.id);
  const more = runs.length > shown.length ? ` (and ${runs.length - shown.length} older)` : '';
  throw new UserError(`No run "${ref}" in ${runsDir}. Runs, newest first: ${shown.join(', ')}${more}.`);
}
