/** Resolving and checking the paths given on the command line, with messages that say what to pass. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../core/userError';

export const DEFAULT_RUNS_DIR = path.join('.finetune', 'runs');

/** An existing file, resolved against `cwd`; a missing one or a folder is a UserError naming `what`. */
export function existingFile(cwd: string, given: string, what: string): string {
  const abs = path.resolve(cwd, given);
  let stats: fs.Stats;
  try {
    stats = fs.statSync(abs);
  } catch {
    throw new UserError(`${what} not found: ${abs}.`, abs);
  }
  if (stats.isDirectory()) throw new UserError(`${what} expected, but ${abs} is a folder.`, abs);
  return abs;
}

/** `--runs-dir`, else `.finetune/runs` under the current folder, as an absolute path. */
export function runsDirOf(cwd: string, given: string | undefined): string {
  return path.resolve(cwd, given ?? DEFAULT_RUNS_DIR);
}
