/**
 * `finetune explain <run> <image…> [--out dir] [--class name]`: Grad-CAM overlays with a run's best
 * model, one PNG per image (`<out>/<image name>.gradcam.png`), for the predicted class or the one given.
 * Exit code 2 when an image cannot be read (the others are still written).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BackendChoice } from '../../protocol/experimentConfig';
import { writeFileAtomicAsync } from '../../core/atomicFile';
import { readRunModel } from '../../core/export/runModel';
import { resolveRunRef } from '../../core/runs/readRuns';
import { UserError, errorMessage } from '../../core/userError';
import { initBackend } from '../../engine/backend/selectBackend';
import { Explainer } from '../../engine/insight/explainImages';
import { type CliIO, routeConsoleToStderr } from '../io';
import { runsDirOf } from '../inputPaths';
import { formatTable } from '../table';

export interface ExplainOptions {
  out?: string;
  /** Class name (or index) to explain; default: each image's predicted class. */
  class?: string;
  runsDir?: string;
  backend?: BackendChoice;
  /** Threads of the wasm backend (default: every core). */
  threads?: number;
  json?: boolean;
}

export const DEFAULT_EXPLAIN_DIR = 'gradcam';

/** `<name>.gradcam.png`, with -2, -3… when two images share a name. */
function overlayName(image: string, taken: Set<string>): string {
  const base = path.basename(image, path.extname(image));
  let name = `${base}.gradcam.png`;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}.gradcam.png`;
  taken.add(name);
  return name;
}

export async function explainCommand(
  runRef: string,
  images: string[],
  options: ExplainOptions,
  io: CliIO,
): Promise<number> {
  const run = resolveRunRef(runsDirOf(io.cwd, options.runsDir), runRef);
  const model = readRunModel(run);
  let classIndex: number | undefined;
  if (options.class !== undefined) {
    classIndex = model.classNames.indexOf(options.class);
    if (classIndex < 0 && /^\d+$/.test(options.class)) classIndex = Number(options.class);
    if (!(classIndex >= 0 && classIndex < model.classNames.length)) {
      throw new UserError(
        `--class ${options.class} is not a class of run ${model.runId}: use one of ${model.classNames.join(', ')}.`,
      );
    }
  }
  const outDir = path.resolve(io.cwd, options.out ?? DEFAULT_EXPLAIN_DIR);
  // The default folder is in the (perhaps cloned) working folder: a `gradcam` link planted there would
  // send the overlays wherever it points. A folder given with --out is the user's own choice.
  if (options.out === undefined && (await fs.lstat(outDir).catch(() => undefined))?.isSymbolicLink()) {
    throw new UserError(
      `${outDir} is a symbolic link: finetune explain does not write through it. Remove it, or name a folder with --out.`,
      outDir,
    );
  }
  await fs.mkdir(outDir, { recursive: true });
  const restoreConsole = options.json ? routeConsoleToStderr(io) : () => {};
  try {
    const backend = await initBackend(options.backend ?? 'auto', { threads: options.threads });
    const explainer = await Explainer.open(model);
    const taken = new Set<string>();
    const results: Record<string, unknown>[] = [];
    let failed = 0;
    try {
      for (const image of images) {
        const abs = path.resolve(io.cwd, image);
        try {
          const { png, ...explanation } = await explainer.explain(abs, image, classIndex);
          const out = path.join(outDir, overlayName(image, taken));
          // A temp file (O_EXCL | O_NOFOLLOW) renamed over the name: never written through a link there.
          await writeFileAtomicAsync(out, png);
          results.push({ ...explanation, output: out });
        } catch (error) {
          failed += 1;
          results.push({ file: image, error: errorMessage(error) });
        }
      }
    } finally {
      explainer.dispose();
    }
    if (options.json) {
      io.out(`${JSON.stringify({ run: model.runId, backend: backend.backend, results }, null, 2)}\n`);
    } else {
      const ok = results.filter((r) => r.output !== undefined);
      if (ok.length > 0) {
        io.out(
          formatTable(
            ['image', 'class', 'p(class)', 'predicted', 'overlay'],
            ok.map((r) => [
              String(r.file),
              String(r.className),
              `${((r.probability as number) * 100).toFixed(1)}%`,
              String(r.predicted),
              path.relative(io.cwd, String(r.output)),
            ]),
            ['left', 'left', 'right', 'left', 'left'],
          ),
        );
        const layer = ok[0].layer as string;
        const size = ok[0].mapSize as number[];
        io.out(
          `\nGrad-CAM at layer "${layer}" (${size.join('×')}), run ${model.runId}, ${backend.backend}\n`,
        );
      }
      for (const r of results) if (r.error) io.err(`error: ${r.file}: ${String(r.error)}\n`);
    }
    return failed > 0 ? 2 : 0;
  } finally {
    restoreConsole();
  }
}
