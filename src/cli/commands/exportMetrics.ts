/**
 * `finetune export-metrics <run> --format csv|tensorboard`: a run's epochs as metrics.csv, or as
 * TensorBoard event files in the run folder (`tensorboard --logdir .finetune/runs` then shows the run).
 */
import { quoteArg, shellKindOf } from '../../core/portable/shellQuote';
import * as path from 'node:path';
import { exportMetrics, type MetricsFormat } from '../../core/export/exportMetrics';
import { resolveRunRef } from '../../core/runs/readRuns';
import { UserError } from '../../core/userError';
import type { CliIO } from '../io';
import { runsDirOf } from '../inputPaths';

export async function exportMetricsCommand(
  runRefs: string[],
  options: { runsDir?: string; format: MetricsFormat; out?: string; json?: boolean },
  io: CliIO,
): Promise<number> {
  const runsDir = runsDirOf(io.cwd, options.runsDir);
  const runs = runRefs.map((ref) => resolveRunRef(runsDir, ref));
  if (options.out !== undefined && runs.length > 1) {
    // One --out for several runs would make them overwrite each other.
    throw new UserError('--out takes one run; without --out each run is exported into its own folder.');
  }
  const out = options.out !== undefined ? path.resolve(io.cwd, options.out) : undefined;
  const results = runs.map((run) => ({ run: run.id, ...exportMetrics(run.dir, options.format, out) }));
  if (options.json) {
    io.out(JSON.stringify(results, null, 2) + '\n');
    return 0;
  }
  for (const r of results) io.out(`${r.run}: ${r.epochs} epoch${r.epochs === 1 ? '' : 's'} → ${r.path}\n`);
  if (options.format === 'tensorboard')
    io.out(
      `view: tensorboard --logdir ${quoteArg(out ? path.dirname(results[0].path) : runsDir, shellKindOf(io.env.SHELL ?? io.env.ComSpec ?? '', process.platform))}\n`,
    );
  return 0;
}
