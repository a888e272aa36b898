/**
 * The training loop. It trains and evaluates, and fires the named events — beforeFit, beforeEpoch,
 * beforeBatch, afterBatch, afterEpoch, afterFit — to callbacks (callbacks/), which do everything else:
 * stop requests, the learning-rate schedule, gradual unfreezing, the divergence guard, the overfitting
 * signal, early stopping with restore-best, metrics recording, checkpoints and the progress events. Given
 * a checkpoint back, the same callbacks restore their state and the run continues as if never stopped.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { EpochMetrics } from '../../protocol/runRecord';
import type { TrainingEvent } from '../../protocol/trainingEvents';
import { prefetchBatches } from '../data/prefetch';
import type { DataSplit } from '../data/rowStore';
import type { TrainingModel } from '../model/buildTrainingModel';
import { createRng, shuffled, type Rng, type RngState, type SeededRng } from '../../core/rng';
import { CheckpointCallback } from './callbacks/checkpoint';
import { DivergenceGuardCallback } from './callbacks/divergenceGuard';
import { EarlyStoppingCallback } from './callbacks/earlyStopping';
import { GradualUnfreezingCallback } from './callbacks/gradualUnfreezing';
import { LearningRateScheduleCallback } from './callbacks/learningRateSchedule';
import { OverfittingSignalCallback } from './callbacks/overfittingSignal';
import { ProgressEventsCallback } from './callbacks/progressEvents';
import { StopOnSignalCallback } from './callbacks/stopOnSignal';
import {
  CallbackList,
  CancelFit,
  FitProgress,
  type FitOutcome,
  type TrainingCallback,
} from './callbacks/trainingCallback';
import type { FitCheckpoint } from './checkpoint';
import { evaluate } from './evaluate';
import { LearningRateGroups } from './learningRateGroups';
import { batchRanges } from './tensorData';
import { prepareTrainingBatch, type BatchTechniques } from './trainingBatch';
import { lossTargetsOf, validationLossOnTrainingTargets } from './trainingTargets';
import { trainStep, type StepModel } from './trainStep';

export interface FitOptions {
  model: TrainingModel;
  /** Rows to train on: images, or activations of a frozen prefix (then `forward` runs the rest). */
  train: DataSplit;
  val: DataSplit;
  /** The model on the rows; default `model.forward` (rows are images). */
  forward?: (x: tf.Tensor, training: boolean) => tf.Tensor;
  numClasses: number;
  config: ExperimentConfig;
  emit: (event: TrainingEvent) => void;
  signal?: AbortSignal;
  /** Augments a training batch of images (returns a new tensor); absent when augmentation is off. */
  augment?: (x: tf.Tensor4D, rng: Rng) => tf.Tensor4D;
  /** Called when an epoch is the best so far (save the model now). */
  onBest: (metrics: EpochMetrics) => Promise<void>;
  /** Called once per finished epoch, before the checkpoint and `afterEpoch` (append metrics.jsonl). */
  onEpoch: (metrics: EpochMetrics) => void;
  /** Resume: continue after this checkpoint's epoch, with its weights, optimizers, tracker and generators. */
  resumeFrom?: FitCheckpoint;
  /** Called after every finished epoch with what a resume needs (written to the run folder). */
  onCheckpoint?: (checkpoint: FitCheckpoint) => void | Promise<void>;
  /** The state of the generator behind Math.random now (the caller seeded it), for checkpoints. */
  mathRandomState?: () => RngState;
  /** The learning-rate finder's suggestion for this experiment, for the divergence message. */
  lrSuggestion?: number;
  /** More callbacks, after the standard ones (their afterEpoch sees the epoch recorded and checkpointed). */
  callbacks?: TrainingCallback[];
}

export interface FitResult extends FitOutcome {
  history: EpochMetrics[];
  bestEpoch?: number;
  best?: EpochMetrics;
  /** Snapshot of every model weight (BN statistics included) at the best epoch; the caller disposes it. */
  bestWeights: tf.Tensor[] | null;
}

/** Lets IPC messages (stop) and timers run between batches; training is otherwise synchronous. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What one epoch of training needs. */
interface EpochRun {
  options: FitOptions;
  callbacks: CallbackList;
  state: FitProgress;
  rates: LearningRateGroups;
  rng: SeededRng;
  step: StepModel;
  techniques: BatchTechniques;
  batches: number;
}

export async function fit(options: FitOptions): Promise<FitResult> {
  const { model, config } = options;
  const t = config.training;
  const resume = options.resumeFrom;
  const rng = createRng(`train:${t.seed}`, resume?.rng);
  const rates = new LearningRateGroups(model, config);
  const state = new FitProgress(resume);
  const earlyStopping = new EarlyStoppingCallback(t.earlyStopping, model.model, options.onBest);
  // The order is part of the behaviour: a stop request before the batch's rate is set; the guard before
  // the batch is reported; the epoch's logs completed (schedule, overfitting, best epoch) before they are
  // recorded, the checkpoint written before the epoch is announced; `beforeEpoch` announced before the
  // unfreezing phase it starts.
  const callbacks: CallbackList = new CallbackList([
    new StopOnSignalCallback(options.signal),
    new LearningRateScheduleCallback(rates),
    new DivergenceGuardCallback({
      learningRate: t.learningRate,
      numClasses: options.numClasses,
      suggestion: options.lrSuggestion,
    }),
    new OverfittingSignalCallback(t.overfitPatience),
    earlyStopping,
    { afterEpoch: (logs) => options.onEpoch(logs.metrics) },
    new CheckpointCallback(
      {
        weights: model.model,
        optimizers: rates.optimizers,
        rng,
        mathRandomState: options.mathRandomState,
        parts: () => callbacks.checkpointState(),
      },
      options.onCheckpoint,
    ),
    new ProgressEventsCallback(options.emit),
    new GradualUnfreezingCallback(rates, options.emit),
    ...(options.callbacks ?? []),
  ]);
  const run: EpochRun = {
    options,
    callbacks,
    state,
    rates,
    rng,
    step: {
      forward: options.forward ?? model.forward,
      penalty: model,
      regularization: config.regularization,
    },
    techniques: {
      augment: options.augment,
      mix: { mixup: t.mixup, cutmix: t.cutmix },
      labelSmoothing: t.labelSmoothing,
    },
    batches: batchRanges(options.train.count, t.batchSize).length,
  };

  let outcome: FitOutcome;
  try {
    await callbacks.beforeFit(state);
    for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= t.epochs && !state.stopRequest; epoch++) {
      await callbacks.beforeEpoch(epoch, state);
      const metrics = await trainEpoch(run, epoch);
      state.history.push(metrics);
      await callbacks.afterEpoch({ metrics, isBest: false, bestEpoch: 0 }, state);
    }
    outcome = state.stopRequest ?? { status: 'completed', endReason: `all ${t.epochs} epochs done` };
  } catch (error) {
    if (!(error instanceof CancelFit)) {
      earlyStopping.dispose();
      throw error;
    } else outcome = error.outcome;
  } finally {
    rates.dispose();
  }
  await callbacks.afterFit(outcome, state);
  return {
    ...outcome,
    history: state.history,
    bestEpoch: earlyStopping.best?.epoch,
    best: earlyStopping.best,
    bestWeights: earlyStopping.takeBestWeights(),
  };
}

/** Trains one epoch (a shuffled pass over the training rows), then evaluates: the epoch's metrics. */
async function trainEpoch(run: EpochRun, epoch: number): Promise<EpochMetrics> {
  const { options, callbacks, state, rates, rng } = run;
  const t = options.config.training;
  const started = Date.now();
  const order = Int32Array.from(shuffled(indicesOf(options.train.count), rng));
  let lossSum = 0;
  let penaltySum = 0;
  let correct = 0;
  let seen = 0;
  let batch = 0;
  for await (const rows of prefetchBatches(options.train, order, t.batchSize, options.numClasses)) {
    let prepared: ReturnType<typeof prepareTrainingBatch> | undefined;
    try {
      await yieldToEventLoop();
      batch += 1;
      const info = { epoch, batch, batches: run.batches };
      await callbacks.beforeBatch(info, state);
      prepared = prepareTrainingBatch(rows.x, rows.y, run.techniques, rng);
      const s = await trainStep(run.step, rates, prepared.input, prepared.targets, rows.labels);
      const size = rows.labels.length;
      lossSum += s.loss * size;
      penaltySum += s.penalty * size;
      correct += s.correct;
      seen += size;
      await callbacks.afterBatch(
        { ...info, ...s, accuracy: s.correct / size, size, lr: rates.headLearningRate },
        state,
      );
    } finally {
      prepared?.dispose();
      rows.x.dispose();
      rows.y.dispose();
    }
  }

  const forward = run.step.forward;
  const evalBatch = Math.max(t.batchSize, 64);
  const evaluation = await evaluate(forward, options.val, options.numClasses, evalBatch);
  const loss = lossSum / seen;
  // With soft targets the gap compares `loss` with the validation loss on targets made the same way.
  const targets = lossTargetsOf(run.techniques);
  const sameTargets =
    targets === 'hard'
      ? undefined
      : await validationLossOnTrainingTargets(
          forward,
          options.val,
          options.numClasses,
          evalBatch,
          run.techniques,
          t.seed,
        );
  return {
    epoch,
    loss,
    accuracy: correct / seen,
    val_loss: evaluation.loss,
    val_accuracy: evaluation.accuracy,
    lr: rates.headLearningRate,
    ...(rates.baseLearningRate !== undefined ? { lr_base: rates.baseLearningRate } : {}),
    ...(state.unfreezePhase !== undefined ? { phase: state.unfreezePhase } : {}),
    ...(penaltySum > 0 ? { reg_loss: penaltySum / seen } : {}),
    time_s: (Date.now() - started) / 1000,
    gap: (sameTargets ?? evaluation.loss) - loss,
    // Set by the overfitting signal's callback.
    overfitting: false,
    loss_targets: targets,
    val_loss_targets: 'hard',
    ...(sameTargets !== undefined ? { val_loss_same_targets: sameTargets } : {}),
    gap_of: sameTargets !== undefined ? 'val_loss_same_targets' : 'val_loss',
  };
}

function indicesOf(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}
