/**
 * The Slurm side of a sweep, as text: the batch script of one array job (a task per trial, the array
 * index is the trial number, each task runs `<command> train` on its trial's experiment into the shared
 * runs folder), the `--array` specification with its `%parallel` throttle, and squeue's output parsed
 * into task states. Pure, so it is unit-tested without a cluster.
 */
import type { SlurmExecutorConfig } from '../../protocol/sweepConfig';

/** In a trial's folder: the run folder to continue (`train --resume`) instead of starting a run. */
export const RESUME_RUN_FILE = 'resume-run';

/** Quotes a word for bash: everything inside single quotes is literal. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `0-7`, or `1,3,5-7` for the trials a resumed sweep still has to run; `%parallel` added when it throttles. */
export function arraySpec(indices: readonly number[], parallel: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return `${parts.join(',')}${parallel < sorted.length ? `%${parallel}` : ''}`;
}

export interface BatchScriptInput {
  sweepId: string;
  sweepDir: string;
  runsDir: string;
  executor: SlurmExecutorConfig;
  /** Extra `train` arguments (backend, memory budget, cache), already words. */
  trainArgs?: string[];
}

/**
 * The batch script. The `#SBATCH` lines carry what the sweep file sets (partition, time, CPUs, GPUs);
 * `--array` and sbatchArgs go on the sbatch command line (see sbatchArgs()). The task checks that the
 * command exists on its node, so a missing installation fails with a sentence, not "command not found".
 */
export function batchScript(input: BatchScriptInput): string {
  const { executor } = input;
  const command = executor.command ?? 'finetune';
  const directives = [
    `--job-name=${shellQuote(`finetune-${input.sweepId}`.slice(0, 60))}`,
    // %a: the array index, i.e. the trial; the trial's folder exists before the job is submitted.
    `--output=${shellQuote(`${input.sweepDir}/trials/%a/slurm-%A_%a.log`)}`,
    ...(executor.partition ? [`--partition=${shellQuote(executor.partition)}`] : []),
    ...(executor.time ? [`--time=${shellQuote(executor.time)}`] : []),
    ...(executor.cpusPerTask ? [`--cpus-per-task=${executor.cpusPerTask}`] : []),
    ...(executor.gpus !== undefined && executor.gpus !== 0
      ? [`--gpus=${shellQuote(String(executor.gpus))}`]
      : []),
  ];
  const trainArgs = (input.trainArgs ?? []).map(shellQuote).join(' ');
  const first = command.trim().split(/\s+/)[0];
  return [
    '#!/bin/bash',
    `# Written by Fine-Tune Studio for sweep ${input.sweepId}: one array task per trial (index = trial).`,
    ...directives.map((d) => `#SBATCH ${d}`),
    'set -u',
    `SWEEP_DIR=${shellQuote(input.sweepDir)}`,
    `RUNS_DIR=${shellQuote(input.runsDir)}`,
    'TRIAL_DIR="$SWEEP_DIR/trials/$SLURM_ARRAY_TASK_ID"',
    `if ! command -v ${shellQuote(first)} >/dev/null 2>&1; then`,
    `  echo "finetune-sweep: '${first.replace(/'/g, '')}' is not on the PATH of $(hostname) — install Fine-Tune Studio's CLI there, or set \\"command\\" in the sweep file's executor." >&2`,
    '  exit 127',
    'fi',
    // exec: the trainer gets Slurm's signals itself (SIGTERM on scancel or at the time limit: it stops cleanly).
    // A trial a resumed sweep continues has its run folder in resume-run: it goes on from its checkpoint.
    `if [ -f "$TRIAL_DIR/${RESUME_RUN_FILE}" ]; then`,
    `  exec ${command} train --resume "$(cat "$TRIAL_DIR/${RESUME_RUN_FILE}")" --runs-dir "$RUNS_DIR" --sweep-trial "$TRIAL_DIR/trial.json"`,
    'fi',
    `exec ${command} train "$TRIAL_DIR/experiment.json" --runs-dir "$RUNS_DIR" --sweep-trial "$TRIAL_DIR/trial.json"${trainArgs ? ` ${trainArgs}` : ''}`,
    '',
  ].join('\n');
}

/** sbatch's arguments for one array job. */
export function sbatchArgs(
  executor: SlurmExecutorConfig,
  indices: number[],
  parallel: number,
  script: string,
) {
  return ['--parsable', `--array=${arraySpec(indices, parallel)}`, ...(executor.sbatchArgs ?? []), script];
}

export type SlurmTaskState = 'waiting' | 'running' | 'ended';

/**
 * `squeue -h -r -o '%i|%T|%r'` lines → task id (`123_4`, or `123` for a single job) → state and reason.
 * Finished tasks are not listed (no accounting database: sacct has nothing), so absence means ended.
 */
export function parseSqueue(
  output: string,
): Map<string, { state: SlurmTaskState; slurmState: string; reason: string }> {
  const tasks = new Map<string, { state: SlurmTaskState; slurmState: string; reason: string }>();
  for (const line of output.split('\n')) {
    const [id, slurmState, reason = ''] = line.trim().split('|');
    if (!id || !slurmState) continue;
    const state: SlurmTaskState =
      slurmState === 'PENDING' || slurmState === 'CONFIGURING' || slurmState === 'REQUEUED'
        ? 'waiting'
        : slurmState === 'RUNNING' ||
            slurmState === 'COMPLETING' ||
            slurmState === 'SUSPENDED' ||
            slurmState === 'STOPPED'
          ? 'running'
          : 'ended';
    tasks.set(id, { state, slurmState, reason });
  }
  return tasks;
}
