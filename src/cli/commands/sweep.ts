/**
 * `finetune sweep <file.sweep.json>` runs a sweep to its end (or until Ctrl-C, which stops every trial
 * cleanly) and prints the best trial; `finetune sweep status <id>` and `finetune sweep cancel <id>` look at
 * and stop a sweep from another terminal. Started with an IPC channel (by VS Code), a `cancel` message
 * cancels, and a parent that goes away interrupts the sweep (resumable).
 */
import { errorMessage } from '../../core/userError';
import type { BackendChoice } from '../../protocol/experimentConfig';
import type { ExecutorType, SweepState } from '../../protocol/sweepConfig';
import { readSweep, requestCancel, resolveSweepRef, sweepsDirOf } from '../../core/sweep/sweepStore';
import { cancelOrphanedSweep, startSweep } from '../../engine/sweep/startSweep';
import type { CliIO } from '../io';
import { existingFile, runsDirOf } from '../inputPaths';
import { createSweepReporter, summary, trialTable } from '../sweepReporter';
import { EXIT_INTERRUPTED } from './train';

export interface SweepOptions {
  executor?: ExecutorType;
  parallel?: number;
  runsDir?: string;
  json?: boolean;
  backend?: BackendChoice;
  /** `--new`: start a fresh sweep even when an unfinished one of this file could be resumed. */
  new?: boolean;
  memoryBudget?: number;
  cache?: boolean;
  /** `--threads`: each trial's wasm threads. */
  threads?: number;
}

/** How often `sweep cancel` looks whether the controller has finished stopping. */
const CANCEL_POLL_MS = 250;
const CANCEL_WAIT_MS = 120_000;

export async function sweepCommand(file: string, options: SweepOptions, io: CliIO): Promise<number> {
  const runsDir = runsDirOf(io.cwd, options.runsDir);
  const sweepFile = existingFile(io.cwd, file, 'Sweep file');
  const reporter = createSweepReporter(io, options.json === true);
  const abort = new AbortController();
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1) {
      reporter.notice('stopping every trial (their best models are kept); Ctrl-C again to quit now');
      abort.abort('stopped');
      return;
    }
    process.exit(EXIT_INTERRUPTED);
  };
  const onDisconnect = (): void => abort.abort('interrupted');
  const onMessage = (message: unknown): void => {
    if ((message as { type?: unknown } | null)?.type === 'cancel') abort.abort('stopped');
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  if (process.connected) {
    process.on('disconnect', onDisconnect);
    process.on('message', onMessage);
  }
  const trainArgs = [
    ...(options.backend ? ['--backend', options.backend] : []),
    ...(options.memoryBudget !== undefined ? ['--memory-budget', String(options.memoryBudget)] : []),
    ...(options.cache === false ? ['--no-cache'] : []),
  ];
  try {
    const state = await startSweep(
      {
        sweepFile,
        runsDir,
        ...(options.executor ? { executor: options.executor } : {}),
        ...(options.parallel ? { parallel: options.parallel } : {}),
        ...(options.backend ? { backend: options.backend } : {}),
        ...(options.threads ? { threads: options.threads } : {}),
        fresh: options.new === true,
      },
      {
        trainArgs,
        signal: abort.signal,
        onEvent: (event) => reporter.event(event),
        onPrepared: (prepared) => {
          reporter.setMetric(prepared.state.metric.name);
          for (const warning of prepared.warnings) io.err(`warning: ${warning}\n`);
          for (const note of prepared.notes) reporter.notice(note);
        },
      },
    );
    return state.status === 'failed' ? 1 : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    process.off('disconnect', onDisconnect);
    process.off('message', onMessage);
  }
}

export async function sweepStatusCommand(
  ref: string,
  options: { runsDir?: string; json?: boolean },
  io: CliIO,
) {
  const listing = resolveSweepRef(sweepsDirOf(runsDirOf(io.cwd, options.runsDir)), ref);
  if (!listing.state) {
    io.err(`error: sweep ${listing.id} cannot be read: ${listing.unreadable}\n`);
    return 1;
  }
  if (options.json) {
    io.out(
      `${JSON.stringify({ ...listing.state, effectiveStatus: listing.effectiveStatus, dir: listing.dir }, null, 2)}\n`,
    );
    return 0;
  }
  io.out(trialTable(listing.state));
  io.out(`\n${summary({ ...listing.state, status: listing.effectiveStatus as SweepState['status'] })}\n`);
  if (listing.effectiveStatus === 'interrupted')
    io.out(`Its controller is gone; \`finetune sweep ${listing.state.sweepPath}\` resumes it.\n`);
  return 0;
}

export async function sweepCancelCommand(
  ref: string,
  options: { runsDir?: string; json?: boolean },
  io: CliIO,
) {
  const listing = resolveSweepRef(sweepsDirOf(runsDirOf(io.cwd, options.runsDir)), ref);
  if (!listing.state) {
    io.err(`error: sweep ${listing.id} cannot be read: ${listing.unreadable}\n`);
    return 1;
  }
  const done = (state: SweepState): number => {
    if (options.json) io.out(`${JSON.stringify(state, null, 2)}\n`);
    else io.out(`${summary(state)}\n`);
    return 0;
  };
  if (listing.effectiveStatus === 'running') {
    requestCancel(listing.dir, 'cancelled with `finetune sweep cancel`');
    if (!options.json) io.out(`asked the controller of sweep ${listing.id} to stop every trial…\n`);
    const deadline = Date.now() + CANCEL_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, CANCEL_POLL_MS));
      const now = readSweep(listing.dir);
      if (now.state && now.effectiveStatus !== 'running') return done(now.state);
    }
    io.err(
      `error: the controller of sweep ${listing.id} did not finish stopping within ${CANCEL_WAIT_MS / 1000} s; \`finetune sweep status ${listing.id}\` shows where it is.\n`,
    );
    return 1;
  }
  if (listing.effectiveStatus === 'interrupted' || listing.state.trials.some((t) => t.state === 'running')) {
    // Nobody drives it: stop its trials from here.
    try {
      return done(await cancelOrphanedSweep(listing, { onEvent: () => {} }));
    } catch (error) {
      io.err(`error: ${errorMessage(error)}\n`);
      return 1;
    }
  }
  io.out(`sweep ${listing.id} has already ended (${listing.effectiveStatus}); nothing to cancel.\n`);
  return 0;
}
