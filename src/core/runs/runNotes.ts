/**
 * A user's own label and note for a run (Rename / Add Note in the Runs view), stored in the run's
 * run.json as `displayName` and `note`. The recorded `name` (the experiment's) is never changed, so a
 * rename can be undone and tools that group runs by experiment keep working.
 *
 * Why run.json and not a sidecar file: the run folder stays one self-describing record that every reader
 * (the CLI's `--json`, the Runs view, a copied folder) sees whole. The cost is that a trainer rewrites
 * run.json from its in-memory record on every status change, so a label written while it runs would be
 * lost: runs that are running are refused (they can be renamed as soon as they end). A run whose run.json
 * says `running` but whose trainer is gone is not written to by anyone and may be edited.
 */
import * as path from 'node:path';
import type { RunRecord } from '../../protocol/runRecord';
import { writeFileAtomic, writeFileAtomicAsync } from '../atomicFile';
import { UserError } from '../userError';
import { readRun, readRunAsync, RUN_FILE, type RunListing } from './readRuns';

export interface RunNotes {
  /** Shown instead of the experiment name. */
  displayName?: string;
  /** Free text (what was tried, what was learned). */
  note?: string;
}

export const MAX_DISPLAY_NAME_LENGTH = 200;
export const MAX_NOTE_LENGTH = 4000;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value : undefined;

/** The label and note recorded in a run.json (ignoring values of the wrong type). */
export function runNotesOf(record: RunRecord | undefined): RunNotes {
  const fields = (record ?? {}) as Partial<RunRecord> & { displayName?: unknown; note?: unknown };
  const displayName = text(fields.displayName);
  const note = text(fields.note);
  return { ...(displayName ? { displayName } : {}), ...(note ? { note } : {}) };
}

/** The name to show for a run: its display name, else the experiment name, else the run id. */
export function runDisplayName(run: Pick<RunListing, 'id' | 'record'>): string {
  return runNotesOf(run.record).displayName ?? text(run.record?.name) ?? run.id;
}

/** Why a run's notes cannot be edited now, or undefined when they can. */
export function notesLockedReason(run: RunListing): string | undefined {
  if (!run.record)
    return `Run ${run.id} has no readable ${RUN_FILE} (${run.unreadable ?? 'unknown problem'}).`;
  if (run.effectiveStatus === 'running')
    return `Run ${runDisplayName(run)} is still running: its trainer rewrites ${RUN_FILE} as it goes, so it can be renamed or annotated once it has ended.`;
  return undefined;
}

/**
 * Sets (a string) or removes (`null` or blank) the display name and/or note of a run that is not running,
 * rewriting its run.json atomically; keys left undefined are kept. Reads run.json again first, so the
 * rest of the record is whatever is on disk now. Returns the record written.
 */
export function updateRunNotes(
  runDir: string,
  changes: { displayName?: string | null; note?: string | null },
): RunRecord {
  const run = readRun(runDir);
  const record = withNotes(run, changes);
  writeFileAtomic(path.join(run.dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** updateRunNotes without blocking the thread (the extension host's Rename and Add Note). */
export async function updateRunNotesAsync(
  runDir: string,
  changes: { displayName?: string | null; note?: string | null },
): Promise<RunRecord> {
  const run = await readRunAsync(runDir);
  const record = withNotes(run, changes);
  await writeFileAtomicAsync(path.join(run.dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

function withNotes(
  run: RunListing,
  changes: { displayName?: string | null; note?: string | null },
): RunRecord {
  const locked = notesLockedReason(run);
  if (locked) throw new UserError(locked, path.join(run.dir, RUN_FILE));
  const record = { ...run.record! } as RunRecord & RunNotes;
  if (changes.displayName !== undefined) {
    const name = (changes.displayName ?? '').replace(/\s+/g, ' ').trim();
    if (name.length > MAX_DISPLAY_NAME_LENGTH)
      throw new UserError(`A run name can be at most ${MAX_DISPLAY_NAME_LENGTH} characters long.`);
    if (name === '' || name === run.record!.name) delete record.displayName;
    else record.displayName = name;
  }
  if (changes.note !== undefined) {
    const note = (changes.note ?? '').trim();
    if (note.length > MAX_NOTE_LENGTH)
      throw new UserError(`A run note can be at most ${MAX_NOTE_LENGTH} characters long.`);
    if (note === '') delete record.note;
    else record.note = note;
  }
  return record;
}
