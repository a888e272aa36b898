/**
 * The learning-rate finder (fastai's lr_find): a short sweep that trains the experiment's model, prepared
 * exactly as a run would be (prepareRun.ts), while the learning rate grows exponentially from `startLr` to
 * `endLr`, one step per batch. The loss per step and its smoothed curve show which rates learn fast and
 * where training blows up; the suggestion is read off that curve (training/lrSuggestion.ts).
 *
 * The model is thrown away afterwards and no run folder is created: the run store is never touched. The
 * only thing it may write is the frozen-prefix activation cache, when `cacheDir` is given — the same
 * cache training runs use, so a run started after the sweep finds the activations already computed.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice } from '../protocol/experimentConfig';
import { LR_FINDER_DEFAULTS, type LrFinderPoint, type LrFinderResult } from '../protocol/lrFinder';
import { currentBackend } from './backend/selectBackend';
import { prepareInputs, type TrainingInputs } from './cache/prepareInputs';
import { augmentBatch, isAugmentationActive } from './data/augment';
import { isMixActive, mixBatch, smoothLabels } from './data/mixBatch';
import { prefetchBatches } from './data/prefetch';
import { prepareRun, type PreparedRun } from './prepareRun';
import { createRng, seedMathRandom, shuffled, type Rng } from '../core/rng';
import { crossEntropy } from './training/evaluate';
import { LearningRateGroups } from './training/learningRateGroups';
import { SmoothedLoss, hasDiverged, suggestLearningRate, sweepLearningRate } from './training/lrSuggestion';
import { regularizationPenalty } from './training/penalties';
import { UserError } from '../core/userError';

export interface LrFinderOptions {
  experimentPath: string;
  /** First learning rate of the sweep (default 1e-7). */
  startLr?: number;
  /** Last learning rate of the sweep (default 10). */
  endLr?: number;
  /** Training steps (batches) of the sweep (default 100). */
  steps?: number;
  /** Overrides the experiment's training.backend. */
  backend?: BackendChoice;
  /**
   * Folder of the frozen-prefix activation cache shared with training runs (the extension passes
   * `<workspace>/.finetune/cache`). Without it the activation cache is not used and nothing is written.
   */
  cacheDir?: string;
  /** After each step: its 1-based number, the steps planned, its learning rate and loss. */
  onProgress?(step: number, steps: number, lr: number, loss: number): void;
  /** Notes and warnings of the preparation (backend, decoding, cache), as a run would log them. */
  onLog?(level: 'info' | 'warn', message: string): void;
  /** Aborting ends the sweep after the current step; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Lets IPC messages (stop) through between steps; training is otherwise synchronous. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function checkSweep(startLr: number, endLr: number, steps: number): void {
  if (!(Number.isFinite(startLr) && startLr > 0 && Number.isFinite(endLr) && endLr > startLr)) {
    throw new UserError(
      `The learning-rate sweep needs 0 < start < end (got start ${startLr}, end ${endLr}), e.g. 1e-7 to 10.`,
    );
  }
  if (!Number.isInteger(steps) || steps < 5 || steps > 10000) {
    throw new UserError(`The learning-rate sweep needs 5 to 10000 steps (got ${steps}); 100 is usual.`);
  }
}

export async function findLearningRate(options: LrFinderOptions): Promise<LrFinderResult> {
  const started = Date.now();
  const startLr = options.startLr ?? LR_FINDER_DEFAULTS.startLr;
  const endLr = options.endLr ?? LR_FINDER_DEFAULTS.endLr;
  const steps = options.steps ?? LR_FINDER_DEFAULTS.steps;
  checkSweep(startLr, endLr, steps);
  const log = (level: 'info' | 'warn', message: string): void => options.onLog?.(level, message);

  const prepared = await prepareRun(
    options.experimentPath,
    options.backend !== undefined ? { backend: options.backend } : undefined,
    log,
  );
  prepared.warnings.forEach((w) => log('warn', w));
  let inputs: TrainingInputs;
  try {
    inputs = await prepareInputs({
      model: prepared.model,
      config: prepared.config,
      split: prepared.split,
      classNames: prepared.scan.classNames,
      datasetFingerprint: prepared.fingerprint,
      backend: currentBackend(),
      channels: prepared.channels,
      // The runs folder only locates the activation cache, and `cacheDir` overrides it; with the
      // cache off it is not read at all. Nothing is created there.
      runsDir: options.cacheDir ?? '',
      options: options.cacheDir ? { cacheDir: options.cacheDir } : { activationCache: false },
      log: (message) => log('info', message),
    });
  } catch (error) {
    prepared.model.dispose();
    throw error;
  }
  inputs.notes.forEach((note) => log('info', note));
  inputs.warnings.forEach((w) => log('warn', w));

  try {
    const sweep = await sweepSteps(prepared, inputs, { startLr, endLr, steps }, options);
    const { suggestion, minLossLr, note } = suggestLearningRate(sweep.points);
    return {
      points: sweep.points,
      suggestion,
      minLossLr,
      stoppedEarly: sweep.stoppedEarly,
      backend: currentBackend(),
      startLr,
      endLr,
      steps,
      experimentName: prepared.config.name,
      currentLr: prepared.config.training.learningRate,
      seconds: (Date.now() - started) / 1000,
      ...(note ? { note } : {}),
    };
  } finally {
    await inputs.close();
    prepared.model.dispose();
  }
}

interface Sweep {
  points: LrFinderPoint[];
  stoppedEarly: boolean;
}

/**
 * The sweep's training steps: one batch each, as the training loop trains (augmentation, mixup/CutMix,
 * label smoothing, weight penalties and decay, the layers the first epoch trains), passing over the
 * training set as often as the steps need.
 */
async function sweepSteps(
  prepared: PreparedRun,
  inputs: TrainingInputs,
  range: { startLr: number; endLr: number; steps: number },
  options: LrFinderOptions,
): Promise<Sweep> {
  const { config, model } = prepared;
  const t = config.training;
  const numClasses = prepared.scan.classNames.length;
  const train = inputs.train;
  if (train.count === 0) throw new UserError('No training images could be read: nothing to sweep on.');
  const restoreRandom = seedMathRandom(`fit:${t.seed}`);
  const rng = createRng(`train:${t.seed}`);
  const rates = new LearningRateGroups(model, config);
  // With gradual unfreezing the run starts by training the head only: sweep what the first epoch trains.
  rates.enterEpoch(1);
  const augmentation = config.augmentation;
  const augment = isAugmentationActive(augmentation)
    ? (x: tf.Tensor4D, r: Rng) => augmentBatch(x, augmentation, config.dataset.pixelRange, r)
    : undefined;
  const mix = { mixup: t.mixup, cutmix: t.cutmix };

  const trainStep = async (x: tf.Tensor, y: tf.Tensor2D): Promise<number> => {
    let dataLoss: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      dataLoss = tf.keep(crossEntropy(inputs.forward(x, true), y));
      const penalty = regularizationPenalty(model, config.regularization);
      return penalty === null ? dataLoss : (tf.add(dataLoss, penalty) as tf.Scalar);
    }, rates.variables());
    rates.apply(grads);
    try {
      return (await (dataLoss as unknown as tf.Scalar).data())[0];
    } finally {
      tf.dispose([value, dataLoss as unknown as tf.Scalar, ...Object.values(grads)]);
    }
  };

  // Full batches only, when there is at least one (fastai's drop_last): a small last batch of an epoch
  // gives a noisier loss, which would show as a spike at an arbitrary learning rate.
  const perPass = train.count >= t.batchSize ? train.count - (train.count % t.batchSize) : train.count;
  const indices = Array.from({ length: train.count }, (_, i) => i);
  const points: LrFinderPoint[] = [];
  const smoother = new SmoothedLoss();
  let minSmoothed = Number.POSITIVE_INFINITY;
  let step = 0;
  try {
    sweep: while (step < range.steps) {
      const order = Int32Array.from(shuffled(indices, rng).slice(0, perPass));
      for await (const batch of prefetchBatches(train, order, t.batchSize, numClasses)) {
        await yieldToEventLoop();
        if (options.signal?.aborted) {
          tf.dispose([batch.x, batch.y]);
          options.signal.throwIfAborted();
        }
        const lr = sweepLearningRate(step, range.steps, range.startLr, range.endLr);
        rates.setHeadLearningRate(lr);
        const augmented = augment ? augment(batch.x as tf.Tensor4D, rng) : batch.x;
        const mixed = isMixActive(mix) ? mixBatch(augmented as tf.Tensor4D, batch.y, mix, rng) : undefined;
        const input = mixed?.x ?? augmented;
        const targets = smoothLabels(mixed?.y ?? batch.y, t.labelSmoothing);
        const loss = await trainStep(input, targets);
        tf.dispose([batch.x, batch.y, augmented, input, targets, ...(mixed ? [mixed.y] : [])]);
        step += 1;
        const smoothed = smoother.add(loss);
        if (Number.isFinite(smoothed)) {
          minSmoothed = Math.min(minSmoothed, smoothed);
          points.push({ lr, loss, smoothed });
          options.onProgress?.(step, range.steps, lr, loss);
        }
        if (hasDiverged(loss, smoothed, minSmoothed)) {
          if (points.length === 0) {
            throw new UserError(
              `The loss was ${loss} from the first step of the sweep (learning rate ${range.startLr}): check dataset.pixelRange and the base model in ${options.experimentPath}.`,
              options.experimentPath,
            );
          }
          return { points, stoppedEarly: true };
        }
        if (step >= range.steps) break sweep;
      }
    }
    return { points, stoppedEarly: false };
  } finally {
    rates.dispose();
    restoreRandom();
  }
}
