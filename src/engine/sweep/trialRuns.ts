/**
 * Finds the run folder of each trial of a sweep: the run whose run.json says `sweep.id` = this sweep and
 * `sweep.trial` = the trial. Each folder of the runs folder is read once (run ids never change meaning),
 * so a large runs folder costs one readdir per look once its old runs have been seen.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUN_FILE } from '../../core/runs/readRuns';

export class TrialRunFinder {
  private readonly examined = new Set<string>();
  private readonly found = new Map<number, string>();

  constructor(
    private readonly runsDir: string,
    private readonly sweepId: string,
  ) {}

  remember(trial: number, runDir: string): void {
    this.found.set(trial, runDir);
    this.examined.add(path.basename(runDir));
  }

  find(trial: number): string | undefined {
    if (!this.found.has(trial)) this.scan();
    return this.found.get(trial);
  }

  private scan(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.runsDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.') || this.examined.has(name)) continue;
      let record: { sweep?: { id?: unknown; trial?: unknown } };
      try {
        record = JSON.parse(
          fs.readFileSync(path.join(this.runsDir, name, RUN_FILE), 'utf8'),
        ) as typeof record;
      } catch {
        // Not a run folder, or not readable yet: a visible run folder always has its run.json, so skip it.
        this.examined.add(name);
        continue;
      }
      this.examined.add(name);
      if (record.sweep?.id === this.sweepId && typeof record.sweep.trial === 'number')
        this.found.set(record.sweep.trial, path.join(this.runsDir, name));
    }
  }
}
