/**
 * Whether a run folder can be resumed, decided from run.json and the checkpoint's presence alone — no
 * TensorFlow.js, so the extension host can ask before it starts a trainer (the trainer then loads the
 * checkpoint itself: runs/resumeRun.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRun, readRunAsync, type RunListing } from './readRuns';
import { liveLockHolder, liveLockHolderAsync, type RunLockHolder } from './runLock';

/** Sub-folder of a run folder that holds its last epoch checkpoint (training/checkpoint.ts writes it). */
export const CHECKPOINT_DIR = 'checkpoint';
export const CHECKPOINT_STATE_FILE = 'state.json';

/** Why the run cannot be resumed, in words; undefined when it can. */
export function resumeProblem(run: string | RunListing): string | undefined {
  const listing = typeof run === 'string' ? readRun(run) : run;
  return problemOf(
    listing,
    () => liveLockHolder(listing.dir),
    () => fs.existsSync(path.join(listing.dir, CHECKPOINT_DIR, CHECKPOINT_STATE_FILE)),
  );
}

/** resumeProblem without blocking the thread (the extension host). */
export async function resumeProblemAsync(run: string | RunListing): Promise<string | undefined> {
  const listing = typeof run === 'string' ? await readRunAsync(run) : run;
  const holder = await liveLockHolderAsync(listing.dir);
  const checkpoint = await fs.promises
    .lstat(path.join(listing.dir, CHECKPOINT_DIR, CHECKPOINT_STATE_FILE))
    .then(
      () => true,
      () => false,
    );
  return problemOf(
    listing,
    () => holder,
    () => checkpoint,
  );
}

function problemOf(
  listing: RunListing,
  lockHolder: () => RunLockHolder | undefined,
  hasCheckpoint: () => boolean,
): string | undefined {
  const id = listing.id;
  if (!listing.record) return `Cannot resume run ${id}: ${listing.unreadable ?? 'no run.json'}.`;
  const status = listing.effectiveStatus;
  if (status === 'running') {
    return `Run ${id} is still running (trainer process ${listing.record.pid} on ${listing.record.hostname}): stop it before resuming.`;
  }
  // Another window or terminal is resuming it right now (its run.json may not say running yet).
  const holder = lockHolder();
  if (holder) {
    return `Run ${id} is being written by another trainer (process ${holder.pid} on ${holder.host}): wait for it to end or stop it there.`;
  }
  if (status === 'completed') {
    return `Run ${id} completed (${listing.record.endReason ?? 'all epochs done'}): there is nothing to resume. To train longer, start a new run with more epochs.`;
  }
  if (!hasCheckpoint()) {
    return `Run ${id} has no checkpoint (it ended before its first epoch finished): start a new run instead.`;
  }
  return undefined;
}
