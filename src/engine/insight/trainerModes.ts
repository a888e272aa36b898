/**
 * The trainer's one-shot data-insight modes, for the extension host (which never loads TensorFlow.js):
 *   --analyze-data <experiment> [--run <runDir>] [--folds K] [--cache-dir D] [--backend B]
 *       → `dataInsightProgress`*, log `event`s, then `dataInsightResult` or `failed`; `stop` cancels.
 *   --explain <runDir> --image <file relative to the dataset folder> [--class k] [--backend B]
 *       → `gradCamResult` or `failed`.
 * Both write nothing but the shared activation cache.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import {
  TRAINER_CLASS_ARG,
  TRAINER_FOLDS_ARG,
  TRAINER_IMAGE_ARG,
  TRAINER_RUN_ARG,
} from '../../protocol/dataInsight';
import type { BackendChoice } from '../../protocol/experimentConfig';
import { isHostToTrainer } from '../../protocol/messageGuards';
import { TRAINER_CACHE_DIR_ARG, type TrainerToHost } from '../../protocol/trainerMessages';
import { readRunModel } from '../../core/export/runModel';
import { readRun } from '../../core/runs/readRuns';
import { UserError, errorMessage, isUserError } from '../../core/userError';
import { initBackend } from '../backend/selectBackend';
import { analyzeData } from './analyzeData';
import { Explainer } from './explainImages';

type Send = (message: TrainerToHost) => Promise<void>;

function valueAfter(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function analyzeDataOnce(
  argv: string[],
  experimentPath: string,
  backend: BackendChoice,
  send: Send,
): Promise<number> {
  const abort = new AbortController();
  process.on('message', (message: unknown) => {
    if (isHostToTrainer(message) && message.type === 'stop') abort.abort();
  });
  process.on('disconnect', () => abort.abort());
  const folds = Number(valueAfter(argv, TRAINER_FOLDS_ARG));
  const runDir = valueAfter(argv, TRAINER_RUN_ARG);
  const cacheDir = valueAfter(argv, TRAINER_CACHE_DIR_ARG);
  try {
    await initBackend(backend);
    const report = await analyzeData({
      experimentPath,
      ...(runDir ? { runDir } : {}),
      ...(Number.isInteger(folds) ? { folds } : {}),
      ...(cacheDir ? { cacheDir } : {}),
      backend,
      thumbnails: true,
      signal: abort.signal,
      onLog: (level, message) => void send({ type: 'event', event: { type: 'log', level, message } }),
      onProgress: (progress) => void send({ type: 'dataInsightProgress', progress }),
    });
    await send({ type: 'dataInsightResult', report });
    return 0;
  } catch (error) {
    if (abort.signal.aborted) return 0;
    if (!isUserError(error)) console.error(error);
    await send({ type: 'failed', error: errorMessage(error) });
    return 1;
  }
}

/** The image `file` (relative to the run's dataset folder) must be inside that folder, links resolved. */
async function datasetImage(datasetDir: string, file: string): Promise<string> {
  const root = await fs.realpath(datasetDir);
  const abs = path.resolve(root, file);
  let real: string;
  try {
    real = await fs.realpath(abs);
  } catch {
    throw new UserError(`The image ${file} is no longer in the dataset folder ${datasetDir}.`);
  }
  if (!real.startsWith(root + path.sep)) {
    throw new UserError(`${file} is not inside the dataset folder ${datasetDir}.`);
  }
  return real;
}

export async function explainOnce(
  argv: string[],
  runDir: string,
  backend: BackendChoice,
  send: Send,
): Promise<number> {
  try {
    const file = valueAfter(argv, TRAINER_IMAGE_ARG) ?? '';
    const classArg = valueAfter(argv, TRAINER_CLASS_ARG);
    const classIndex = classArg !== undefined && /^\d+$/.test(classArg) ? Number(classArg) : undefined;
    const run = readRun(runDir);
    const datasetDir = run.record?.config.dataset.path;
    if (!datasetDir) throw new UserError(`Run ${run.id} has no readable run.json.`);
    const abs = await datasetImage(datasetDir, file);
    await initBackend(backend);
    const explainer = await Explainer.open(readRunModel(run));
    try {
      const { png, ...result } = await explainer.explain(abs, file, classIndex);
      await send({
        type: 'gradCamResult',
        result: { ...result, overlay: `data:image/png;base64,${png.toString('base64')}` },
      });
    } finally {
      explainer.dispose();
    }
    return 0;
  } catch (error) {
    if (!isUserError(error)) console.error(error);
    await send({ type: 'failed', error: errorMessage(error) });
    return 1;
  }
}
