/**
 * `finetune train --sweep-trial <trial.json>`: which sweep and trial this run is, recorded as run.json
 * `sweep`. Under Slurm the job id comes from the task's environment (`<array job id>_<array index>`), so
 * a run says which task trained it.
 */
import * as fs from 'node:fs';
import type { SweepTrialRef } from '../../protocol/sweepConfig';
import { UserError } from '../../core/userError';

export interface TrialFile {
  ref: SweepTrialRef;
  /** ASHA rungs (epochs) at which the trial waits for the sweep's verdict; empty without ASHA. */
  rungs: number[];
}

/** trials/<n>/trial.json: the run.json `sweep` reference plus the ASHA rungs. */
export type TrialFileContents = Omit<SweepTrialRef, 'jobId'> & { rungs?: number[] };

export function readTrialRef(file: string, env: Record<string, string | undefined> = process.env): TrialFile {
  let value: Partial<TrialFileContents>;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<TrialFileContents>;
  } catch (error) {
    throw new UserError(`Cannot read the sweep trial file ${file}: ${(error as Error).message}`, file);
  }
  if (
    typeof value.id !== 'string' ||
    typeof value.trial !== 'number' ||
    typeof value.params !== 'object' ||
    value.params === null ||
    (value.executor !== 'local' && value.executor !== 'slurm')
  ) {
    throw new UserError(`${file} is not a sweep trial file (it needs id, trial, params and executor).`, file);
  }
  const jobId = env.SLURM_ARRAY_JOB_ID;
  const index = env.SLURM_ARRAY_TASK_ID;
  const rungs = Array.isArray(value.rungs)
    ? value.rungs.filter((r: unknown): r is number => Number.isInteger(r) && (r as number) > 0)
    : [];
  return {
    ref: {
      id: value.id,
      trial: value.trial,
      params: value.params,
      executor: value.executor,
      ...(value.executor === 'slurm' && jobId && index !== undefined ? { jobId: `${jobId}_${index}` } : {}),
    },
    rungs,
  };
}
