/**
 * `finetune predict <run> <image…>`: classifies images with a run's best model, decoding them as the run
 * was trained (its image size, pixel range and channels). Exit code 2 when an image cannot be read (the
 * others are still classified and printed).
 */
import { initBackend } from '../../engine/backend/selectBackend';
import { classifyImages } from '../../engine/export/classifyImages';
import { readRunModel } from '../../core/export/runModel';
import { resolveRunRef } from '../../core/runs/readRuns';
import type { BackendChoice } from '../../protocol/experimentConfig';
import { type CliIO, routeConsoleToStderr } from '../io';
import { runsDirOf } from '../inputPaths';
import { formatTable } from '../table';

export interface PredictOptions {
  runsDir?: string;
  json?: boolean;
  top?: number;
  backend?: BackendChoice;
  /** Threads of the wasm backend (default: every core). */
  threads?: number;
}

export async function predictCommand(
  runRef: string,
  images: string[],
  options: PredictOptions,
  io: CliIO,
): Promise<number> {
  const run = resolveRunRef(runsDirOf(io.cwd, options.runsDir), runRef);
  const model = readRunModel(run);
  const restoreConsole = options.json ? routeConsoleToStderr(io) : () => {};
  try {
    const backend = await initBackend(options.backend ?? 'auto', { threads: options.threads });
    const results = await classifyImages(model, images, { topK: options.top ?? 3, cwd: io.cwd });
    const failed = results.filter((r) => r.error !== undefined).length;
    if (options.json) {
      io.out(
        JSON.stringify(
          {
            run: model.runId,
            backend: backend.backend,
            imageSize: model.imageSize,
            pixelRange: model.pixelRange,
            channels: model.channels,
            results,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      const rows: string[][] = [];
      for (const result of results) {
        if (!result.predictions) continue;
        result.predictions.forEach((p, rank) =>
          rows.push([rank === 0 ? result.file : '', p.className, `${(p.probability * 100).toFixed(1)}%`]),
        );
      }
      if (rows.length > 0)
        io.out(formatTable(['image', 'class', 'probability'], rows, ['left', 'left', 'right']));
      for (const result of results) if (result.error) io.err(`error: ${result.error}\n`);
      io.out(
        `\n${results.length - failed} of ${results.length} image${results.length === 1 ? '' : 's'} classified with run ${model.runId} (${model.imageSize.join('×')}, ${backend.backend})\n`,
      );
    }
    return failed > 0 ? 2 : 0;
  } finally {
    restoreConsole();
  }
}
