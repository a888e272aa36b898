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
import { writeFileAtomic, writeFileAtomicAsync } from '../atomicFile';
import { isFileReadError, READ_LIMITS, readTextFile, readTextFileSync } from '../files/regularFile';
import { isProcessAlive } from '../files/writerId';

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
  /** Why metrics.jsonl could not be read, when it exists but is not a readable file (a FIFO, too large). */
  metricsUnreadable?: string;
  /** The recorded status, except that a `running` run whose trainer process is gone is `crashed`. */
  effectiveStatus: RunStatus | 'unreadable';
  /**
   * readRunAsync only, when run.json is missing and no epoch was read: the folder's last change (a run
   * just created by its trainer, which has not written run.json yet, looks like this for a moment).
   */
  folderMtimeMs?: number;
}

/** The message markCrashedRuns records; the trainer writes run.json and the best model as it goes. */
export function crashedRunError(pid: number): string {
  return `trainer process ${pid} is gone (killed or crashed) — the last completed epoch and best model are kept`;
}

/** What a run.json's text holds: a record with a valid status, or why not. */
export function parseRecordText(text: string): { record?: RunRecord; unreadable?: string } {
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

function readFailure(error: unknown): { unreadable: string } {
  if (isFileReadError(error)) {
    return {
      unreadable:
        error.reason === 'missing'
          ? `${RUN_FILE} is missing`
          : `${RUN_FILE} is unreadable (${error.reason}${error.detail ? `, ${error.detail}` : ''})`,
    };
  }
  return { unreadable: `cannot read ${RUN_FILE}: ${String(error)}` };
}

/** run.json and metrics.jsonl are read with a byte cap, as regular files only (files/regularFile.ts). */
const RECORD_READ = { maxBytes: READ_LIMITS.runRecord };
const METRICS_READ = { maxBytes: READ_LIMITS.metrics };

function readRecord(file: string): { record?: RunRecord; unreadable?: string } {
  let text: string;
  try {
    text = readTextFileSync(file, RECORD_READ);
  } catch (error) {
    return readFailure(error);
  }
  return parseRecordText(text);
}

async function readRecordAsync(file: string): Promise<{ record?: RunRecord; unreadable?: string }> {
  let text: string;
  try {
    text = await readTextFile(file, RECORD_READ);
  } catch (error) {
    return readFailure(error);
  }
  return parseRecordText(text);
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

/** metrics.jsonl that cannot be read: no epochs to show, and why when it is not simply absent. */
function metricsFailure(error: unknown): { metrics: EpochMetrics[]; skipped: number; unreadable?: string } {
  // No metrics yet (the first epoch has not ended) is normal; a FIFO, a device or a huge file is not.
  if (isFileReadError(error) && error.reason === 'missing') return { metrics: [], skipped: 0 };
  const reason = isFileReadError(error) ? error.reason : String(error);
  return { metrics: [], skipped: 0, unreadable: `${METRICS_FILE} is unreadable (${reason})` };
}

function readMetrics(file: string): { metrics: EpochMetrics[]; skipped: number; unreadable?: string } {
  try {
    return parseMetricsLines(readTextFileSync(file, METRICS_READ));
  } catch (error) {
    return metricsFailure(error);
  }
}

async function readMetricsAsync(
  file: string,
): Promise<{ metrics: EpochMetrics[]; skipped: number; unreadable?: string }> {
  try {
    return parseMetricsLines(await readTextFile(file, METRICS_READ));
  } catch (error) {
    return metricsFailure(error);
  }
}

export { isProcessAlive };

function effectiveStatusOf(record: RunRecord): RunStatus {
  if (record.status !== 'running') return record.status;
  // Only a trainer on this machine can be checked; a run on another host (shared folder) keeps its status.
  // A record without a usable pid cannot be judged either, so it is left as it says.
  if (record.hostname !== os.hostname() || !Number.isInteger(record.pid) || record.pid <= 0) return 'running';
  return isProcessAlive(record.pid) ? 'running' : 'crashed';
}

function listingOf(
  dir: string,
  { record, unreadable }: { record?: RunRecord; unreadable?: string },
  metrics: { metrics: EpochMetrics[]; skipped: number; unreadable?: string },
): RunListing {
  return {
    id: path.basename(dir),
    dir,
    record,
    metrics: metrics.metrics,
    skippedMetricLines: metrics.skipped,
    ...(unreadable ? { unreadable } : {}),
    ...(metrics.unreadable ? { metricsUnreadable: metrics.unreadable } : {}),
    effectiveStatus: record ? effectiveStatusOf(record) : 'unreadable',
  };
}

/** Reads one run folder. Never throws: problems end up in `unreadable` and `skippedMetricLines`. */
export function readRun(runDir: string): RunListing {
  const dir = path.resolve(runDir);
  return listingOf(dir, readRecord(path.join(dir, RUN_FILE)), readMetrics(path.join(dir, METRICS_FILE)));
}

/** readRun without blocking the thread (the extension host's views). */
export async function readRunAsync(runDir: string): Promise<RunListing> {
  const dir = path.resolve(runDir);
  const [record, metrics] = await Promise.all([
    readRecordAsync(path.join(dir, RUN_FILE)),
    readMetricsAsync(path.join(dir, METRICS_FILE)),
  ]);
  const listing = listingOf(dir, record, metrics);
  if (!listing.record && listing.metrics.length === 0 && listing.unreadable === `${RUN_FILE} is missing`) {
    const stat = await fs.promises.stat(dir).catch(() => undefined);
    if (stat) listing.folderMtimeMs = stat.mtimeMs;
  }
  return listing;
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

function runsFolderError(runsDir: string, error: unknown): UserError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return undefined;
  if (code === 'ENOTDIR')
    return new UserError(`The runs folder ${runsDir} is a file, not a folder.`, runsDir);
  return new UserError(`Cannot read the runs folder ${runsDir} (${code ?? String(error)}).`, runsDir);
}

/**
 * Run folders of a listing: real sub-folders only (a symbolic link is not a run we wrote, and following it
 * would read — and mark crashed — folders outside the runs folder), not hidden (RunWriter assembles a new
 * run under a hidden name before it appears), newest names first, at most `maxRuns`.
 */
function runFolderNames(entries: fs.Dirent[], maxRuns: number): string[] {
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .slice(0, maxRuns);
}

function newestFirst(listings: RunListing[], keyOf: (listing: RunListing) => number): RunListing[] {
  const keyed = listings.map((listing) => ({ listing, key: keyOf(listing) }));
  keyed.sort(
    (a, b) => b.key - a.key || (a.listing.id < b.listing.id ? 1 : a.listing.id > b.listing.id ? -1 : 0),
  );
  return keyed.map((k) => k.listing);
}

/** Run folders read at most per runs folder (run ids start with their start time: the newest are kept). */
export const MAX_RUNS_LISTED = 5000;

/** Every sub-folder of `runsDir` as a run, newest first. A missing folder has no runs. */
export function listRuns(runsDir: string, maxRuns = MAX_RUNS_LISTED): RunListing[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsDir, { withFileTypes: true });
  } catch (error) {
    const problem = runsFolderError(runsDir, error);
    if (problem) throw problem;
    return [];
  }
  const listings = runFolderNames(entries, maxRuns).map((name) => readRun(path.join(runsDir, name)));
  return newestFirst(listings, sortKey);
}

/** listRuns without blocking the thread; a few runs are read at a time. */
export async function listRunsAsync(runsDir: string, maxRuns = MAX_RUNS_LISTED): Promise<RunListing[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(runsDir, { withFileTypes: true });
  } catch (error) {
    const problem = runsFolderError(runsDir, error);
    if (problem) throw problem;
    return [];
  }
  const names = runFolderNames(entries, maxRuns);
  const listings: RunListing[] = [];
  const PARALLEL = 8;
  for (let i = 0; i < names.length; i += PARALLEL) {
    listings.push(
      ...(await Promise.all(
        names.slice(i, i + PARALLEL).map((name) => readRunAsync(path.join(runsDir, name))),
      )),
    );
  }
  const folderTimes = new Map<string, number>();
  await Promise.all(
    listings
      .filter((listing) => !Number.isFinite(Date.parse(listing.record?.startedAt ?? '')))
      .map(async (listing) => {
        const stat = await fs.promises.stat(listing.dir).catch(() => undefined);
        folderTimes.set(listing.dir, stat?.mtimeMs ?? 0);
      }),
  );
  return newestFirst(listings, (listing) => {
    const started = Date.parse(listing.record?.startedAt ?? '');
    return Number.isFinite(started) ? started : (folderTimes.get(listing.dir) ?? 0);
  });
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

async function lastSignOfLifeAsync(listing: RunListing): Promise<Date> {
  const times = (
    await Promise.all(
      [RUN_FILE, METRICS_FILE].map((file) =>
        fs.promises.stat(path.join(listing.dir, file)).then(
          (stat) => stat.mtimeMs,
          () => undefined,
        ),
      ),
    )
  ).filter((t): t is number => t !== undefined);
  return times.length > 0 ? new Date(Math.max(...times)) : new Date();
}

/** markRunCrashed without blocking the thread (the extension host, when its trainer died). */
export async function markRunCrashedAsync(run: string | RunListing, error: string): Promise<boolean> {
  const listing = typeof run === 'string' ? await readRunAsync(run) : run;
  if (!listing.record || listing.record.status !== 'running') return false;
  const record: RunRecord = {
    ...listing.record,
    status: 'crashed',
    endedAt: (await lastSignOfLifeAsync(listing)).toISOString(),
    error,
  };
  try {
    await writeFileAtomicAsync(path.join(listing.dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
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
