/**
 * `finetune export <run> <folder> [--format tfjs|onnx]`: the run's best model, labels, preprocessing and a
 * README to a new (or empty) folder. tfjs copies the TensorFlow.js files (with predict.js); onnx converts the
 * model to model.onnx, which needs TensorFlow.js to read it (the cpu backend: weights are only read).
 */
import * as path from 'node:path';
import { initBackend } from '../../engine/backend/selectBackend';
import { exportRunModel } from '../../core/export/exportModel';
import { exportRunModelOnnx } from '../../engine/export/exportOnnx';
import { resolveRunRef } from '../../core/runs/readRuns';
import { type CliIO, routeConsoleToStderr } from '../io';
import { runsDirOf } from '../inputPaths';

export const MODEL_EXPORT_FORMATS = ['tfjs', 'onnx'] as const;
export type ModelExportFormat = (typeof MODEL_EXPORT_FORMATS)[number];

export async function exportModelCommand(
  runRef: string,
  folder: string,
  options: {
    runsDir?: string;
    force?: boolean;
    keepReplaced?: boolean;
    json?: boolean;
    format?: ModelExportFormat;
  },
  io: CliIO,
): Promise<number> {
  const run = resolveRunRef(runsDirOf(io.cwd, options.runsDir), runRef);
  const target = path.resolve(io.cwd, folder);
  const format = options.format ?? 'tfjs';
  const folderOptions = { overwrite: options.force, keepReplaced: options.keepReplaced };
  if (format === 'onnx') {
    const restoreConsole = options.json ? routeConsoleToStderr(io) : () => {};
    try {
      await initBackend('cpu');
      const result = await exportRunModelOnnx(run.dir, target, folderOptions);
      if (options.json) {
        io.out(
          JSON.stringify(
            {
              run: run.id,
              format,
              outDir: result.outDir,
              files: result.files,
              onnxBytes: result.onnxBytes,
              replaced: result.replacedFiles,
              ...(result.replaced ? { replacedTo: result.replaced } : {}),
              weightBytes: result.weightBytes,
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        io.out(
          `exported run ${run.id}'s best model as ONNX (${(result.onnxBytes / 1024).toFixed(0)} KiB, ${result.opTypes.length} nodes) to ${result.outDir}\n`,
        );
        for (const file of result.files) io.out(`  ${path.basename(file)}\n`);
        io.out(`the README there shows how to run it with ONNX Runtime (Python and Node.js)\n`);
        reportReplaced(result, io);
      }
    } finally {
      restoreConsole();
    }
    return 0;
  }
  const result = exportRunModel(run.dir, target, folderOptions);
  if (options.json) {
    io.out(
      JSON.stringify(
        {
          run: run.id,
          format,
          outDir: result.outDir,
          files: result.files,
          imageSize: result.model.imageSize,
          classes: result.model.classNames.length,
          replaced: result.replacedFiles,
          ...(result.replaced ? { replacedTo: result.replaced } : {}),
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    io.out(`exported run ${run.id}'s best model to ${result.outDir}\n`);
    for (const file of result.files) io.out(`  ${path.basename(file)}\n`);
    io.out(`try it: cd ${result.outDir} && npm install @tensorflow/tfjs sharp && node predict.js <image>\n`);
    reportReplaced(result, io);
  }
  return 0;
}

/** With --force an earlier export was replaced (a folder holding only export files): say which files went. */
function reportReplaced(
  result: { outDir: string; replacedFiles: readonly string[]; replaced?: string },
  io: CliIO,
): void {
  if (result.replacedFiles.length === 0) return;
  const where = result.replaced ? `moved to ${result.replaced}` : 'deleted';
  io.err(
    `replaced the earlier export in ${result.outDir} (--force); its files (${result.replacedFiles.join(', ')}) were ${where}\n`,
  );
}
