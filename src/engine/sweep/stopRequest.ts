/**
 * How a sweep reaches a trial it wants stopped — ASHA at a rung, or a cancel — whatever runs the trial
 * (a local process, a Slurm task on another node): a `stop-request.json` in the trial's run folder, the
 * one place both sides can always see (shared storage on a cluster). The trainer polls for it while it
 * trains and, when it appears, stops as Stop does (after the current batch, the best model kept, status
 * `stopped`) with the request's reason as its end reason. No TensorFlow.js here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../core/atomicFile';

export const STOP_REQUEST_FILE = 'stop-request.json';

/** How often a training run looks for a stop request: a stat per 200 ms costs nothing next to a batch. */
const POLL_MS = 200;
/** How long a trial at an ASHA rung waits for the sweep's verdict before it goes on without one. */
export const RUNG_VERDICT_TIMEOUT_MS = 30_000;
const RUNG_POLL_MS = 50;

/** The sweep's "go on" for a trial at a rung (a stop is a stop request). */
export const rungVerdictFile = (rung: number): string => `asha-rung-${rung}.json`;

export function writeRungVerdict(runDir: string, rung: number): void {
  writeFileAtomic(path.join(runDir, rungVerdictFile(rung)), `${JSON.stringify({ rung, continue: true })}\n`);
}

export interface StopRequest {
  reason: string;
  at: string;
}

/** Asks the trainer of `runDir` to stop; written atomically so it never reads half a request. */
export function requestStop(runDir: string, reason: string): void {
  const request: StopRequest = { reason, at: new Date().toISOString() };
  writeFileAtomic(path.join(runDir, STOP_REQUEST_FILE), `${JSON.stringify(request)}\n`);
}

export function readStopRequest(runDir: string): StopRequest | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(path.join(runDir, STOP_REQUEST_FILE), 'utf8')) as unknown;
    const reason = (value as { reason?: unknown } | null)?.reason;
    return {
      reason: typeof reason === 'string' ? reason : 'stop requested',
      at: String((value as StopRequest).at),
    };
  } catch {
    return undefined;
  }
}

export interface StopRequestWatch {
  /** Aborted by the caller's own signal or by a stop request in the run folder. */
  readonly signal: AbortSignal;
  /** The request's reason once one stopped the run. */
  readonly reason: string | undefined;
  /**
   * Called when an epoch has been saved. At an ASHA rung the trial waits here for the sweep's verdict —
   * go on, or a stop request — so it is stopped exactly at the rung, not an epoch later.
   */
  atEpochEnd(epoch: number): Promise<void>;
  dispose(): void;
}

/**
 * Watches `runDir` for a stop request while a run trains. A request already there belongs to an earlier
 * life of the folder (a resumed run was stopped by one) and is removed first.
 */
export function watchStopRequest(
  runDir: string,
  parent?: AbortSignal,
  rungs: readonly number[] = [],
  verdictTimeoutMs = RUNG_VERDICT_TIMEOUT_MS,
): StopRequestWatch {
  const file = path.join(runDir, STOP_REQUEST_FILE);
  fs.rmSync(file, { force: true });
  const controller = new AbortController();
  let reason: string | undefined;
  const onParentAbort = (): void => controller.abort();
  if (parent?.aborted) controller.abort();
  parent?.addEventListener('abort', onParentAbort);
  const look = (): boolean => {
    if (controller.signal.aborted) return true;
    if (!fs.existsSync(file)) return false;
    reason = readStopRequest(runDir)?.reason ?? 'stop requested';
    controller.abort();
    return true;
  };
  const timer = setInterval(look, POLL_MS);
  timer.unref();
  const atEpochEnd = async (epoch: number): Promise<void> => {
    if (!rungs.includes(epoch)) return;
    const verdict = path.join(runDir, rungVerdictFile(epoch));
    const deadline = Date.now() + verdictTimeoutMs;
    while (!look() && !fs.existsSync(verdict) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, RUNG_POLL_MS));
    fs.rmSync(verdict, { force: true });
  };
  return {
    atEpochEnd,
    signal: controller.signal,
    get reason() {
      return reason;
    },
    dispose: () => {
      clearInterval(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
