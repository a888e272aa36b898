/** `finetune compare <runId…>`: runs side by side, with only the parameters that differ between them. */
import { compareTable, diffParameters, summarizeRun } from '../../core/runs/compareRuns';
import { markCrashedRuns, resolveRunRef } from '../../core/runs/readRuns';
import type { CliIO } from '../io';
import { runsDirOf } from '../inputPaths';
import { formatTable } from '../table';

export async function compareCommand(
  refs: string[],
  options: { runsDir?: string; json?: boolean },
  io: CliIO,
): Promise<number> {
  const runsDir = runsDirOf(io.cwd, options.runsDir);
  markCrashedRuns(runsDir);
  const runs = refs.map((ref) => resolveRunRef(runsDir, ref));
  const now = Date.now();
  const table = compareTable(runs, now);
  const parameters = diffParameters(runs.map((run) => run.record?.config));
  if (options.json) {
    io.out(
      JSON.stringify({ ...table, runs: runs.map((run) => summarizeRun(run, now)), parameters }, null, 2) +
        '\n',
    );
    return 0;
  }
  io.out(formatTable(table.columns, table.rows));
  if (runs.length > 1 && parameters.length === 0) io.out('\n(the runs have identical parameters)\n');
  for (const run of runs) {
    if (run.unreadable) io.out(`\nnote: ${run.id}: ${run.unreadable}\n`);
  }
  return 0;
}
