/**
 * `finetune train --sweep-trial <trial.json>`: which sweep and trial this run is, recorded as run.json
 * `sweep`. Under Slurm the job id comes from the task's environment (`<array job id>_<array index>`), so
 * a run says which task trained it.
 */
import * as fs from 'node:fs';
import type { SweepTrialRef } from '../../protocol/sweepConfig';
import { UserError } from '../userError';

export function readTrialRef(
  file: string,
  env: Record<string, string | undefined> = process.env,
): SweepTrialRef {
  let value: Partial<SweepTrialRef>;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SweepTrialRef>;
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
  return {
    id: value.id,
    trial: value.trial,
    params: value.params,
    executor: value.executor,
    ...(value.executor === 'slurm' && jobId && index !== undefined ? { jobId: `${jobId}_${index}` } : {}),
  };
}
