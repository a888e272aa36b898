/**
 * Resume: whether a run folder can be continued, and what continuing it takes — its run.json (whose config
 * snapshot is what the run trains with, even if the experiment file changed since) and its last epoch
 * checkpoint. Stopped, crashed and failed runs with a checkpoint can be resumed; a completed run has
 * nothing left to do and a running one is still someone's.
 */
import * as path from 'node:path';
import type { RunRecord } from '../../protocol/runRecord';
import { readCheckpoint, type FitCheckpoint } from '../training/checkpoint';
import { UserError } from '../userError';
import { readRun } from './readRuns';

export interface ResumePlan {
  runDir: string;
  record: RunRecord;
  checkpoint: FitCheckpoint;
  /** How the run had ended (a dead trainer's `running` counts as crashed). */
  was: RunRecord['status'];
}

export function planResume(runDir: string): ResumePlan {
  const dir = path.resolve(runDir);
  const listing = readRun(dir);
  const id = listing.id;
  if (!listing.record)
    throw new UserError(`Cannot resume run ${id}: ${listing.unreadable ?? 'no run.json'}.`, dir);
  const status = listing.effectiveStatus as RunRecord['status'];
  if (status === 'running') {
    throw new UserError(
      `Run ${id} is still running (trainer process ${listing.record.pid} on ${listing.record.hostname}): stop it before resuming.`,
      dir,
    );
  }
  if (status === 'completed') {
    throw new UserError(
      `Run ${id} completed (${listing.record.endReason ?? 'all epochs done'}): there is nothing to resume. To train longer, start a new run with more epochs.`,
      dir,
    );
  }
  const checkpoint = readCheckpoint(dir);
  if (!checkpoint) {
    throw new UserError(
      `Run ${id} has no usable checkpoint in ${path.join(dir, 'checkpoint')} (it ended before its first epoch finished, or its checkpoint is damaged): start a new run instead.`,
      dir,
    );
  }
  return { runDir: dir, record: listing.record, checkpoint, was: status };
}
