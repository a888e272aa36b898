/**
 * Entry point of the trainer child process (forked by the extension host with an IPC channel).
 * Protocol (src/protocol/trainerMessages.ts): pick the backend → `ready` → wait for `start` → events →
 * `done` or `failed` → exit. `stop` ends the run after the current batch. A parent that disappears
 * (window reload, VS Code exit) counts as a stop, so the run is recorded as stopped, not left running.
 */
import { BACKEND_CHOICES, type BackendChoice } from '../protocol/experimentConfig';
import {
  TRAINER_BACKEND_ARG,
  TRAINER_CACHE_DIR_ARG,
  TRAINER_DESCRIBE_ARG,
  TRAINER_FIND_LR_ARG,
  TRAINER_THREADS_ARG,
  type StartRequest,
  type TrainerToHost,
} from '../protocol/trainerMessages';
import { isHostToTrainer } from '../protocol/messageGuards';
import {
  TRAINER_PREVIEW_AUGMENTATION_ARG,
  TRAINER_PREVIEW_COUNT_ARG,
  TRAINER_PREVIEW_SEED_ARG,
} from '../protocol/augmentationPreview';
import { TRAINER_ANALYZE_DATA_ARG, TRAINER_EXPLAIN_ARG } from '../protocol/dataInsight';
import { configureThreads, initBackend } from './backend/selectBackend';
import { analyzeDataOnce, explainOnce } from './insight/trainerModes';
import { pipelineOptions } from './cache/prepareInputs';
import { findLearningRate } from './lrFinder';
import { previewAugmentation } from './data/augmentationPreview';
import { describeModel } from './model/layerTree';
import { loadBaseModel } from './model/loadBaseModel';
import { runExperiment } from './runExperiment';
import { errorMessage, isUserError } from '../core/userError';

function send(message: TrainerToHost): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

function requestedBackend(argv: string[]): BackendChoice {
  const i = argv.indexOf(TRAINER_BACKEND_ARG);
  const value = i >= 0 ? argv[i + 1] : 'auto';
  return (BACKEND_CHOICES as readonly string[]).includes(value) ? (value as BackendChoice) : 'auto';
}

/** `--threads <n>`: the wasm backend's threads (absent or not a positive integer: every core). */
function requestedThreads(argv: string[]): number | undefined {
  const i = argv.indexOf(TRAINER_THREADS_ARG);
  const value = i >= 0 ? Number(argv[i + 1]) : Number.NaN;
  return Number.isInteger(value) && value >= 1 ? value : undefined;
}

/** `--describe <model.json>`: the extension host's way to read a layer tree without loading TensorFlow.js itself. */
async function describe(modelJsonPath: string): Promise<void> {
  try {
    await initBackend('cpu');
    const { model, inputShape } = await loadBaseModel(modelJsonPath);
    await send({ type: 'layers', layers: describeModel(model), inputShape });
  } catch (error) {
    await send({ type: 'failed', error: errorMessage(error) });
  }
  process.exit(0);
}

/**
 * `--preview-augmentation <experiment> [--count N] [--seed N]`: real training images before and after the
 * experiment's augmentation, for the experiment panel; then it exits. The cpu backend starts fastest and
 * has every kernel augmentation uses.
 */
async function previewAugmentationOnce(argv: string[], at: number): Promise<void> {
  const numberAfter = (flag: string): number | undefined => {
    const i = argv.indexOf(flag);
    const value = i >= 0 ? Number(argv[i + 1]) : Number.NaN;
    return Number.isInteger(value) ? value : undefined;
  };
  try {
    await initBackend('cpu');
    const images = await previewAugmentation({
      experimentPath: argv[at + 1] ?? '',
      count: numberAfter(TRAINER_PREVIEW_COUNT_ARG),
      seed: numberAfter(TRAINER_PREVIEW_SEED_ARG),
    });
    await send({ type: 'augmentationPreview', images });
  } catch (error) {
    await send({ type: 'failed', error: errorMessage(error) });
  }
  process.exit(0);
}

/**
 * `--find-lr <experiment>`: the learning-rate finder, then exit. Nothing is kept but the answer, so a
 * `stop` or a parent that goes away simply ends the process.
 */
async function findLr(experimentPath: string): Promise<void> {
  const abort = new AbortController();
  process.on('message', (message: unknown) => {
    if (isHostToTrainer(message) && message.type === 'stop') abort.abort();
  });
  process.on('disconnect', () => abort.abort());
  const cacheAt = process.argv.indexOf(TRAINER_CACHE_DIR_ARG);
  try {
    const result = await findLearningRate({
      experimentPath,
      ...(cacheAt >= 0 && process.argv[cacheAt + 1] ? { cacheDir: process.argv[cacheAt + 1] } : {}),
      signal: abort.signal,
      onLog: (level, message) => void send({ type: 'event', event: { type: 'log', level, message } }),
      onProgress: (step, steps, lr, loss) => void send({ type: 'lrFinderProgress', step, steps, lr, loss }),
    });
    await send({ type: 'lrFinderResult', result });
    process.exit(0);
  } catch (error) {
    if (abort.signal.aborted) process.exit(0);
    if (!isUserError(error)) console.error(error);
    await send({ type: 'failed', error: errorMessage(error) });
    process.exit(1);
  }
}

async function main(): Promise<void> {
  configureThreads(requestedThreads(process.argv));
  if (!process.send) {
    console.error(
      'The trainer runs as a child process with an IPC channel; use the `finetune` CLI from a terminal.',
    );
    process.exit(2);
  }
  const describeAt = process.argv.indexOf(TRAINER_DESCRIBE_ARG);
  if (describeAt >= 0) return describe(process.argv[describeAt + 1] ?? '');
  const findLrAt = process.argv.indexOf(TRAINER_FIND_LR_ARG);
  if (findLrAt >= 0) return findLr(process.argv[findLrAt + 1] ?? '');
  const previewAt = process.argv.indexOf(TRAINER_PREVIEW_AUGMENTATION_ARG);
  if (previewAt >= 0) return previewAugmentationOnce(process.argv, previewAt);
  // Data insight (label issues, duplicates, embedding, top losses; Grad-CAM): one answer, then exit.
  const analyzeAt = process.argv.indexOf(TRAINER_ANALYZE_DATA_ARG);
  if (analyzeAt >= 0) {
    const code = await analyzeDataOnce(
      process.argv,
      process.argv[analyzeAt + 1] ?? '',
      requestedBackend(process.argv),
      send,
    );
    process.exit(code);
  }
  const explainAt = process.argv.indexOf(TRAINER_EXPLAIN_ARG);
  if (explainAt >= 0) {
    const code = await explainOnce(
      process.argv,
      process.argv[explainAt + 1] ?? '',
      requestedBackend(process.argv),
      send,
    );
    process.exit(code);
  }
  const abort = new AbortController();
  let started = false;
  const start = new Promise<StartRequest>((resolve) => {
    process.on('message', (message: unknown) => {
      if (!isHostToTrainer(message)) return;
      if (message.type === 'stop') abort.abort();
      else if (!started) {
        started = true;
        resolve(message);
      }
    });
  });
  process.on('disconnect', () => {
    abort.abort();
    if (!started) process.exit(0);
  });

  try {
    const selection = await initBackend(requestedBackend(process.argv));
    await send({
      type: 'ready',
      backend: selection.backend,
      available: selection.available,
      pid: process.pid,
      ...(selection.adapter ? { adapter: selection.adapter } : {}),
    });
  } catch (error) {
    await send({ type: 'failed', error: errorMessage(error) });
    process.exit(1);
  }

  const request = await start;
  // The start message's setting wins (the same as --threads when the host sent both).
  if (request.pipeline?.trainerThreads !== undefined) configureThreads(request.pipeline.trainerThreads);
  try {
    const outcome = await runExperiment({
      experimentPath: request.experimentPath,
      runsDir: request.runsDir,
      overrides: request.overrides,
      ...(request.resume ? { resume: request.resume } : {}),
      pipeline: pipelineOptions(request.pipeline),
      signal: abort.signal,
      onEvent: (event) => void send({ type: 'event', event }),
    });
    await send({ type: 'done', ...outcome });
    process.exit(0);
  } catch (error) {
    if (!isUserError(error)) console.error(error);
    await send({ type: 'failed', error: errorMessage(error) });
    process.exit(1);
  }
}

void main();
