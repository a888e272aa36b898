/**
 * The e2e tests' view of a workspace's run folders, read straight from disk (not through the extension),
 * kept apart from the harness so a unit test can check it without a browser.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A run folder's run.json, parsed, or undefined while it does not exist or is mid-write. */
export function readRunJson(runDir: string): { id: string; name: string; status: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Run folders under <workspace>/.finetune/runs/, oldest first (run ids start with a timestamp). A trainer
 * assembles a run under a hidden `.<id>.creating-*` name and renames it into place, so hidden folders are
 * left out as the product's own listing does: taking the staging folder for the run (it already holds
 * run.json) waits forever on a folder that has been renamed away.
 */
export function listRuns(workspace: string): string[] {
  const runs = path.join(workspace, '.finetune', 'runs');
  if (!fs.existsSync(runs)) return [];
  return fs
    .readdirSync(runs, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => path.join(runs, d.name))
    .sort();
}
