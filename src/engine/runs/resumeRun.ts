/**
 * Resume: whether a run folder can be continued, and what continuing it takes — its run.json (whose config
 * snapshot is what the run trains with, even if the experiment file changed since) and its last epoch
 * checkpoint. Stopped, crashed and failed runs with a checkpoint can be resumed; a completed run has
 * nothing left to do and a running one is still someone's.
 */
import * as path from 'node:path';
import type { RunRecord } from '../../protocol/runRecord';
import type { FitCheckpoint } from '../training/checkpoint';
import { readCheckpoint } from '../training/checkpointFiles';
import { UserError } from '../../core/userError';
import { readRun } from '../../core/runs/readRuns';
import { CHECKPOINT_DIR, resumeProblem } from '../../core/runs/resumable';

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
  const problem = resumeProblem(listing);
  if (problem) throw new UserError(problem, dir);
  const checkpoint = readCheckpoint(dir);
  if (!checkpoint) {
    throw new UserError(
      `Run ${listing.id}'s checkpoint in ${path.join(dir, CHECKPOINT_DIR)} is damaged (unreadable or truncated): start a new run instead.`,
      dir,
    );
  }
  const record = listing.record as RunRecord;
  return { runDir: dir, record, checkpoint, was: listing.effectiveStatus as RunRecord['status'] };
}
