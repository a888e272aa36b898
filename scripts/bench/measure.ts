/**
 * One benchmark section — one model on one backend — in its own process (so its peak memory is its own):
 * inference, head-only training without and with the activation cache, full fine-tuning, time to first
 * epoch, a 10-epoch cached head-only run end to end, peak memory. Every training figure comes from real
 * runs of the engine (runExperiment) timed by its own events.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice } from '../../src/protocol/experimentConfig';
import type { TrainingEvent } from '../../src/protocol/trainingEvents';
import { currentAdapter, currentBackend, initBackend } from '../../src/engine/backend/selectBackend';
import { adapterLabel } from '../../src/protocol/gpuAdapter';
import type { PipelineOptions } from '../../src/engine/cache/prepareInputs';
import { loadExperiment } from '../../src/core/config/loadExperiment';
import { buildTrainingModel } from '../../src/engine/model/buildTrainingModel';
import { loadBaseModel } from '../../src/engine/model/loadBaseModel';
import { runExperiment } from '../../src/engine/runExperiment';

/** What a section is told to do; the sizes keep each section within its share of the bench's time. */
export interface SectionPlan {
  label: string;
  backend: BackendChoice;
  /** Experiment files: all pre-trained layers frozen, augmentation off / every layer trainable. */
  headOnlyFile: string;
  fullFile: string;
  workDir: string;
  inferenceBatches: number;
  /** Head-only without cache: whole epochs, or stop after this many batches. */
  headNoCache: { epochs: number } | { batches: number };
  /** Full fine-tuning: whole epochs (the first includes warm-up), or stop after this many batches (cpu). */
  full: { epochs: number } | { batches: number };
  /** Threads of the wasm backend (default: every core). */
  threads?: number;
}

export interface RunTiming {
  /** Training images per second, batches only (validation and saving excluded), first batch excluded. */
  imagesPerSecond: number;
  batchesTimed: number;
  timeToFirstEpochS?: number;
  /** From the run's start to its first finished batch. */
  timeToFirstBatchS?: number;
  /** Each whole epoch: training, validation, metrics, best model and checkpoint written (s). */
  epochS: number[];
  /** The training part of each whole epoch (s). */
  epochTrainS: number[];
  /** From the run's start to its first epoch (reading, decoding, building; before the first batch). */
  startupS?: number;
  /** The first batch of the run (the first step's one-time costs show here). */
  firstBatchS?: number;
  wallS: number;
  /** Seconds the activation cache took to compute, when this run computed it. */
  cacheBuildS?: number;
  /** Of cacheBuildS: in the frozen layers, and waiting for the decoding worker (from the run log). */
  cacheForwardS?: number;
  cacheDecodeWaitS?: number;
  /**
   * Where the run's wall time went: start-up (experiment, backend, dataset scan, model), inputs (decoding
   * and the activation cache), the run folder until beforeFit, the epochs' batches, the epochs' validation
   * + metrics + best model + checkpoint, and the end (final evaluation, summary, closing).
   */
  phases?: {
    startupS: number;
    inputsS: number;
    folderS: number;
    trainS: number;
    epochEndS: number;
    endS: number;
  };
  cacheMode?: string;
  /** The run took its activation cache from an earlier run's, on disk. */
  cacheReused?: boolean;
  epochs: number;
  trainCount: number;
  valCount: number;
}

export interface SectionResult {
  label: string;
  backend: string;
  /** Backend webgpu: the adapter, in words. */
  adapter?: string;
  inferenceImagesPerSecond: number;
  headNoCache: RunTiming;
  headCachedCold: RunTiming;
  headCachedWarm: RunTiming;
  full: RunTiming;
  fullEpochEstimateS: number;
  /** Threads the wasm backend ran on. */
  threads?: number;
  peakRssMiB: number;
  peakTfMiB: number;
}

/**
 * Peak RSS, sampled every 5 ms on a worker thread: the main thread is busy inside each training step,
 * exactly when memory peaks, so a timer there would miss it.
 */
function startRssSampler(): { peak: () => Promise<number>; stop: () => Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     let peak = 0;
     const sample = () => { peak = Math.max(peak, process.memoryUsage.rss()); };
     setInterval(sample, 5);
     parentPort.on('message', () => { sample(); parentPort.postMessage(peak); });`,
    { eval: true },
  );
  const peak = (): Promise<number> =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage('peak');
    });
  return {
    peak,
    stop: async () => {
      const value = await peak();
      await worker.terminate();
      return value;
    },
  };
}

/**
 * Peak of tf.memory().numBytes, including inside a step (gradients, saved activations): the engine's byte
 * counter is watched through a setter. Diagnostic code for the bench only.
 */
function trackTfPeak(): () => number {
  const state = tf.engine().state as unknown as { numBytes: number };
  let value = state.numBytes;
  let peak = value;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (next: number) => {
      value = next;
      if (next > peak) peak = next;
    },
  });
  return () => peak;
}

async function timedRun(
  file: string,
  plan: SectionPlan,
  options: { epochs?: number; stopAfterBatches?: number; pipeline: PipelineOptions },
): Promise<RunTiming> {
  const controller = new AbortController();
  const started = performance.now();
  let lastBatchAt = started;
  const durations: { seconds: number; images: number }[] = [];
  let firstEpochAt: number | undefined;
  let firstBatchAt: number | undefined;
  let startupS: number | undefined;
  let epochStartedAt = started;
  let epochTrainedAt = started;
  const epochS: number[] = [];
  const epochTrainS: number[] = [];
  let batchSize = 0;
  let trainCount = 0;
  let valCount = 0;
  let epochs = 0;
  let cacheBuildS: number | undefined;
  let cacheMode: string | undefined;
  let cacheReused = false;
  let batches = 0;
  let cacheForwardS: number | undefined;
  let cacheDecodeWaitS: number | undefined;
  /** performance.now() at: inputs begin (first log of the pipeline), inputs ready, beforeFit, last afterEpoch. */
  let inputsFrom: number | undefined;
  let inputsReady: number | undefined;
  let fitFrom: number | undefined;
  let lastEpochAt: number | undefined;
  const onEvent = (event: TrainingEvent): void => {
    const now = performance.now();
    switch (event.type) {
      case 'beforeFit':
        fitFrom = now;
        inputsReady ??= now;
        startupS ??= (now - started) / 1000;
        trainCount = event.trainCount;
        valCount = event.valCount;
        batchSize = Math.ceil(event.trainCount / event.batchesPerEpoch);
        break;
      case 'beforeEpoch':
        lastBatchAt = now;
        epochStartedAt = now;
        break;
      case 'afterBatch': {
        const images = event.batch < event.batches ? batchSize : trainCount - batchSize * (event.batches - 1);
        durations.push({ seconds: (now - lastBatchAt) / 1000, images });
        lastBatchAt = now;
        epochTrainedAt = now;
        firstBatchAt ??= now;
        if (options.stopAfterBatches !== undefined && ++batches >= options.stopAfterBatches)
          controller.abort();
        break;
      }
      case 'afterEpoch':
        lastEpochAt = now;
        firstEpochAt ??= now;
        epochs = event.metrics.epoch;
        epochS.push((now - epochStartedAt) / 1000);
        epochTrainS.push((epochTrainedAt - epochStartedAt) / 1000);
        break;
      case 'log': {
        // The pipeline's first words: from here on the run decodes images or computes the cache.
        if (/^(Computing the frozen|Decoding \d+ training|Checking that)/.test(event.message))
          inputsFrom ??= now;
        // Its last: the inputs are ready (logged before the run folder is created).
        if (/^(Activation cache: (activations|reusing)|Activation cache off)/.test(event.message))
          inputsReady ??= now;
        const built = /computed in ([\d.]+) s/.exec(event.message);
        if (built) cacheBuildS = Number(built[1]);
        const split = /frozen layers ([\d.]+) s, waiting for decoded images ([\d.]+) s/.exec(event.message);
        if (split) {
          cacheForwardS = Number(split[1]);
          cacheDecodeWaitS = Number(split[2]);
        }
        if (/^Activation cache: /.test(event.message)) cacheMode = 'cached';
        if (/^Activation cache: reusing/.test(event.message)) cacheReused = true;
        if (/decoded per batch/.test(event.message)) cacheMode = 'streamed';
        break;
      }
    }
  };
  const outcome = await runExperiment({
    experimentPath: file,
    runsDir: path.join(plan.workDir, 'runs'),
    overrides: { backend: plan.backend, ...(options.epochs !== undefined ? { epochs: options.epochs } : {}) },
    pipeline: options.pipeline,
    signal: controller.signal,
    onEvent,
  });
  if (outcome.status === 'failed') throw new Error(`${plan.label}: run failed: ${outcome.error}`);
  const ended = performance.now();
  const wallS = (ended - started) / 1000;
  const trainS = epochTrainS.reduce((a, b) => a + b, 0);
  const epochEndS = epochS.reduce((a, b) => a + b, 0) - trainS;
  const phases =
    fitFrom !== undefined && lastEpochAt !== undefined
      ? {
          startupS: ((inputsFrom ?? inputsReady ?? fitFrom) - started) / 1000,
          inputsS: ((inputsReady ?? fitFrom) - (inputsFrom ?? inputsReady ?? fitFrom)) / 1000,
          folderS: (fitFrom - (inputsReady ?? fitFrom)) / 1000,
          trainS,
          epochEndS,
          endS: (ended - lastEpochAt) / 1000,
        }
      : undefined;
  const timed = durations.length > 1 ? durations.slice(1) : durations;
  const seconds = timed.reduce((s, d) => s + d.seconds, 0);
  const images = timed.reduce((s, d) => s + d.images, 0);
  return {
    imagesPerSecond: images / seconds,
    batchesTimed: timed.length,
    ...(firstEpochAt !== undefined ? { timeToFirstEpochS: (firstEpochAt - started) / 1000 } : {}),
    ...(firstBatchAt !== undefined ? { timeToFirstBatchS: (firstBatchAt - started) / 1000 } : {}),
    epochS,
    epochTrainS,
    ...(startupS !== undefined ? { startupS } : {}),
    ...(durations.length > 0 ? { firstBatchS: durations[0].seconds } : {}),
    wallS,
    ...(cacheBuildS !== undefined ? { cacheBuildS } : {}),
    ...(cacheForwardS !== undefined ? { cacheForwardS } : {}),
    ...(cacheDecodeWaitS !== undefined ? { cacheDecodeWaitS } : {}),
    ...(phases ? { phases } : {}),
    ...(cacheMode ? { cacheMode } : { cacheMode: 'images in memory' }),
    cacheReused,
    epochs,
    trainCount,
    valCount,
  };
}

/** Inference through our graph walk (what evaluation runs), batch 32, after one warm-up batch. */
async function inference(plan: SectionPlan): Promise<number> {
  const { config } = await loadExperiment(plan.headOnlyFile);
  const { model: base, inputShape } = await loadBaseModel(config.baseModel);
  const model = buildTrainingModel(base, config, inputShape[2], 10);
  const [h, w] = config.dataset.imageSize;
  const x = tf.randomUniform([32, h, w, inputShape[2]], 0, 1, 'float32', 1);
  const once = async (): Promise<void> => {
    const y = tf.tidy(() => model.forward(x, false));
    await y.data();
    y.dispose();
  };
  await once();
  const started = performance.now();
  for (let i = 0; i < plan.inferenceBatches; i++) await once();
  const seconds = (performance.now() - started) / 1000;
  x.dispose();
  model.dispose();
  return (32 * plan.inferenceBatches) / seconds;
}

export async function runSection(plan: SectionPlan): Promise<SectionResult> {
  const rss = startRssSampler();
  try {
    const selection = await initBackend(plan.backend, plan.threads ? { threads: plan.threads } : {});
    const tfPeak = trackTfPeak();
    const progress = (what: string): void => void process.stderr.write(`  [${plan.label}] ${what}\n`);
    progress('inference');
    const inferenceImagesPerSecond = await inference(plan);
    progress('head-only training, no cache');
    const headNoCache = await timedRun(plan.headOnlyFile, plan, {
      pipeline: { activationCache: false },
      ...('epochs' in plan.headNoCache
        ? { epochs: plan.headNoCache.epochs }
        : { epochs: 1, stopAfterBatches: plan.headNoCache.batches }),
    });
    const cacheDir = path.join(plan.workDir, 'cache');
    fs.rmSync(cacheDir, { recursive: true, force: true });
    progress('head-only training on cached activations, 10 epochs (cache computed)');
    const headCachedCold = await timedRun(plan.headOnlyFile, plan, { epochs: 10, pipeline: { cacheDir } });
    // The same 10 epochs again, now that the cache is on disk: what re-running head-only training after
    // changing a head setting (dropout, L2, learning rate) costs — no decoding, no frozen layers.
    progress('head-only training on cached activations, 10 epochs (cache reused from disk)');
    const headCachedWarm = await timedRun(plan.headOnlyFile, plan, { epochs: 10, pipeline: { cacheDir } });
    // A figure labelled "cache reused" must be one: a run that computed the cache again is a bench error.
    if (!headCachedWarm.cacheReused)
      throw new Error(`the second head-only run did not reuse the activation cache in ${cacheDir}`);
    const full =
      'epochs' in plan.full
        ? (progress(`full fine-tuning, ${plan.full.epochs} epochs`),
          await timedRun(plan.fullFile, plan, { epochs: plan.full.epochs, pipeline: {} }))
        : (progress(`full fine-tuning, ${plan.full.batches} batches`),
          await timedRun(plan.fullFile, plan, {
            epochs: 1,
            stopAfterBatches: plan.full.batches,
            pipeline: {},
          }));
    const adapter = currentAdapter();
    return {
      label: plan.label,
      backend: currentBackend(),
      ...(adapter ? { adapter: adapterLabel(adapter) } : {}),
      inferenceImagesPerSecond,
      headNoCache,
      headCachedCold,
      headCachedWarm,
      full,
      fullEpochEstimateS: full.trainCount / full.imagesPerSecond,
      ...(selection.threads ? { threads: selection.threads } : {}),
      peakRssMiB: (await rss.peak()) / 2 ** 20,
      peakTfMiB: tfPeak() / 2 ** 20,
    };
  } finally {
    await rss.stop();
  }
}
