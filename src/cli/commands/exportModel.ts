/** `finetune export <run> <folder>`: the run's best model, labels, preprocessing and a README to a folder. */
import * as path from 'node:path';
import { exportRunModel } from '../../core/export/exportModel';
import { resolveRunRef } from '../../core/runs/readRuns';
import type { CliIO } from '../io';
import { runsDirOf } from '../inputPaths';

export async function exportModelCommand(
  runRef: string,
  folder: string,
  options: { runsDir?: string; force?: boolean; json?: boolean },
  io: CliIO,
): Promise<number> {
  const run = resolveRunRef(runsDirOf(io.cwd, options.runsDir), runRef);
  const result = exportRunModel(run.dir, path.resolve(io.cwd, folder), { overwrite: options.force });
  if (options.json) {
    io.out(JSON.stringify({ run: run.id, outDir: result.outDir, files: result.files }, null, 2) + '\n');
  } else {
    io.out(`exported run ${run.id}'s best model to ${result.outDir}\n`);
    for (const file of result.files) io.out(`  ${path.basename(file)}\n`);
    io.out(`try it: cd ${result.outDir} && npm install @tensorflow/tfjs sharp && node predict.js <image>\n`);
  }
  return 0;
}
