/**
 * Who wrote a staged file, so cleaners can tell a dead writer's leftover from a live writer's work in
 * progress. A pid alone does not say it: a dev container and the machine around it share a bind-mounted
 * workspace but not their process tables, so pid 57 may be alive there and unknown here. Staged names
 * therefore carry the pid and a tag of the host (`…-<pid>-<host tag><random>`); a leftover is removed only
 * when its host is this one and its pid is gone, or — written on another host, or in the old format
 * without a tag — when it is older than any write can take.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** 8 hex digits of the host name's hash: short enough for file names, enough to tell hosts apart. */
export const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

/** A staged write of another host (or of an old writer without a tag) older than this is abandoned. */
export const FOREIGN_STALE_MS = 24 * 60 * 60 * 1000;

/** `<pid>-<host tag><8 random hex>`: the writer part of a staged name. */
export function writerSuffix(): string {
  return `${process.pid}-${HOST_TAG}${randomBytes(4).toString('hex')}`;
}

/** The writer named by a suffix written by writerSuffix (or a bare pid, the old format). */
export interface StagedWriter {
  pid: number;
  hostTag?: string;
}

/** Parses `<pid>` or `<pid>-<host tag><random>` (what writerSuffix writes); undefined for anything else. */
export function parseWriter(suffix: string): StagedWriter | undefined {
  const match = /^(\d+)(?:-([0-9a-f]{8})[0-9a-f]{8})?$/.exec(suffix);
  if (!match) return undefined;
  return { pid: Number(match[1]), ...(match[2] ? { hostTag: match[2] } : {}) };
}

/**
 * Whether a process with this id exists on this machine. EPERM means it exists but belongs to another
 * user, which still counts as alive. Non-positive ids are rejected because kill(0 or negative) addresses
 * process groups, not a trainer.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A killed process whose parent died too waits as a zombie until init reaps it, and some containers' init
 * never does; kill(pid, 0) still succeeds for it. On Linux /proc says so (state Z); elsewhere: not known.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/**
 * True when the staged item's writer is certainly gone: this host's process that no longer exists, or an
 * item of another host (or untagged) whose last change is older than FOREIGN_STALE_MS.
 */
export function isAbandoned(writer: StagedWriter, mtimeMs: number, now = Date.now()): boolean {
  if (writer.hostTag === HOST_TAG) return writer.pid !== process.pid && !isProcessAlive(writer.pid);
  return now - mtimeMs > FOREIGN_STALE_MS;
}
