/**
 * The training loop: named events (beforeFit is the caller's; beforeEpoch, afterBatch, afterEpoch here),
 * two learning rates (new head vs. trainable pre-trained layers), weight penalties, early stopping with
 * restore-best, the overfitting signal, divergence detection, and cancellation at the next batch. After
 * every epoch it hands out a checkpoint of its whole state; given one back, it continues as if never stopped.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { EpochMetrics } from '../../protocol/runRecord';
import type { TrainingEvent } from '../../protocol/trainingEvents';
import { prefetchBatches } from '../data/prefetch';
import type { DataSplit } from '../data/rowStore';
import type { TrainingModel } from '../model/buildTrainingModel';
import { createRng, shuffled, type Rng, type RngState } from '../../core/rng';
import { UserError } from '../../core/userError';
import { captureOptimizer, loadTensor, restoreOptimizer, saveTensor, type FitCheckpoint } from './checkpoint';
import { BestEpochTracker } from './earlyStopping';
import { crossEntropy, evaluate } from './evaluate';
import { isMixActive, mixBatch, smoothLabels } from '../data/mixBatch';
import { LearningRateGroups } from './learningRateGroups';
import { overfittingSignal } from '../../core/portable/overfitting';
import { regularizationPenalty } from './penalties';
import { batchRanges } from './tensorData';

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
  /** Called once per finished epoch, before `afterEpoch` is emitted (append metrics.jsonl). */
  onEpoch: (metrics: EpochMetrics) => void;
  /** Resume: continue after this checkpoint's epoch, with its weights, optimizers, tracker and generators. */
  resumeFrom?: FitCheckpoint;
  /** Called after every finished epoch with what a resume needs (written to the run folder). */
  onCheckpoint?: (checkpoint: FitCheckpoint) => void | Promise<void>;
  /** The state of the generator behind Math.random now (the caller seeded it), for checkpoints. */
  mathRandomState?: () => RngState;
}

export interface FitResult {
  status: 'completed' | 'stopped' | 'failed';
  endReason: string;
  error?: string;
  history: EpochMetrics[];
  bestEpoch?: number;
  best?: EpochMetrics;
  /** Snapshot of every model weight (BN statistics included) at the best epoch; the caller disposes it. */
  bestWeights: tf.Tensor[] | null;
}

interface StepResult {
  loss: number;
  penalty: number;
  correct: number;
}

/** Lets IPC messages (stop) and timers run between batches; training is otherwise synchronous. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function fit(options: FitOptions): Promise<FitResult> {
  const { model, train, val, numClasses, config, emit, signal } = options;
  const forward = options.forward ?? model.forward;
  const t = config.training;
  const resume = options.resumeFrom;
  const rng = createRng(`train:${t.seed}`, resume?.rng);
  const rates = new LearningRateGroups(model, config);
  const mix = { mixup: t.mixup, cutmix: t.cutmix };
  const tracker = new BestEpochTracker(t.earlyStopping);
  const history: EpochMetrics[] = [];
  let bestWeights: tf.Tensor[] | null = null;
  let best: EpochMetrics | undefined;
  let result: Pick<FitResult, 'status' | 'endReason' | 'error'> | null = null;

  const step = async (x: tf.Tensor, y: tf.Tensor2D, labels: Int32Array): Promise<StepResult> => {
    const variables = rates.variables();
    let dataLoss: tf.Scalar | null = null;
    let penalty: tf.Scalar | null = null;
    let predicted: tf.Tensor1D | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const probs = forward(x, true);
      dataLoss = tf.keep(crossEntropy(probs, y));
      predicted = tf.keep(tf.argMax(probs, -1) as tf.Tensor1D);
      penalty = regularizationPenalty(model, config.regularization);
      if (penalty === null) return dataLoss;
      tf.keep(penalty);
      return tf.add(dataLoss, penalty) as tf.Scalar;
    }, variables);
    rates.apply(grads);
    try {
      // Asynchronous reads: the webgpu backend cannot read GPU memory synchronously in Node.
      const loss = (await (dataLoss as unknown as tf.Scalar).data())[0];
      const pen = penalty === null ? 0 : (await (penalty as tf.Scalar).data())[0];
      const predictions = await (predicted as unknown as tf.Tensor1D).data();
      let correct = 0;
      for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct += 1;
      return { loss, penalty: pen, correct };
    } finally {
      tf.dispose(
        [value, dataLoss, penalty, predicted, ...Object.values(grads)].filter(
          (v): v is tf.Tensor => v != null,
        ),
      );
    }
  };

  /** Everything the next epoch depends on, read out now (see checkpoint.ts). */
  const checkpoint = async (epoch: number): Promise<FitCheckpoint> => {
    const schedule = rates.scheduleState();
    const optimizers = [];
    for (const optimizer of rates.optimizers) optimizers.push(await captureOptimizer(optimizer));
    return {
      epoch,
      history: [...history],
      tracker: tracker.state(),
      ...(best ? { best } : {}),
      rng: rng.state(),
      ...(options.mathRandomState ? { mathRandom: options.mathRandomState() } : {}),
      extra: schedule ? { schedule } : {},
      weights: await Promise.all(model.model.getWeights().map((w) => saveTensor(w))),
      bestWeights: bestWeights ? await Promise.all(bestWeights.map((w) => saveTensor(w))) : null,
      optimizers,
    };
  };

  const ranges = batchRanges(train.count, t.batchSize);
  const indices = Array.from({ length: train.count }, (_, i) => i);
  try {
    if (resume) {
      const weights = model.model.getWeights();
      if (
        resume.weights.length !== weights.length ||
        resume.weights.some((w, i) => w.shape.join() !== weights[i].shape.join()) ||
        resume.optimizers.length !== rates.optimizers.length
      ) {
        throw new UserError(
          "The run's checkpoint does not fit the model this experiment builds now (the base model or the layer settings changed). Start a new run instead.",
        );
      }
      const restored = resume.weights.map(loadTensor);
      model.model.setWeights(restored);
      tf.dispose(restored);
      for (const [i, optimizer] of rates.optimizers.entries())
        await restoreOptimizer(optimizer, resume.optimizers[i]);
      rates.restoreSchedule(resume.extra.schedule as Parameters<typeof rates.restoreSchedule>[0]);
      tracker.restore(resume.tracker);
      history.push(...resume.history);
      best = resume.best;
      bestWeights = resume.bestWeights ? resume.bestWeights.map(loadTensor) : null;
    }
    for (let epoch = (resume?.epoch ?? 0) + 1; epoch <= t.epochs && result === null; epoch++) {
      emit({ type: 'beforeEpoch', epoch });
      const phase = rates.enterEpoch(epoch);
      if (phase && (phase.unfrozenNow.length > 0 || epoch === 1)) {
        emit({
          type: 'phase',
          epoch,
          phase: phase.phase,
          phases: rates.blocks.length,
          trainable: phase.trainable,
          unfrozenNow: phase.unfrozenNow,
        });
        emit({
          type: 'log',
          level: 'info',
          message:
            phase.phase === 0
              ? `gradual unfreezing: epoch ${epoch} trains the head only (${rates.blocks.length} blocks wait)`
              : `gradual unfreezing: epoch ${epoch} unfreezes ${phase.unfrozenNow.join(', ')} (block ${phase.phase} of ${rates.blocks.length})`,
        });
      }
      const started = Date.now();
      const order = Int32Array.from(shuffled(indices, rng));
      let lossSum = 0;
      let penaltySum = 0;
      let correct = 0;
      let seen = 0;
      let b = 0;
      for await (const batch of prefetchBatches(train, order, t.batchSize, numClasses)) {
        await yieldToEventLoop();
        if (signal?.aborted) {
          tf.dispose([batch.x, batch.y]);
          result = {
            status: 'stopped',
            endReason: `stopped by request during epoch ${epoch} (that epoch is discarded)`,
          };
          break;
        }
        b += 1;
        rates.setProgress(epoch - 1 + (b - 1) / ranges.length);
        const augmented = options.augment ? options.augment(batch.x as tf.Tensor4D, rng) : batch.x;
        // Mixup/CutMix mix images and labels; label smoothing softens the targets. Accuracy is still
        // counted against each image's own label.
        const mixed = isMixActive(mix) ? mixBatch(augmented as tf.Tensor4D, batch.y, mix, rng) : undefined;
        const input = mixed?.x ?? augmented;
        const targets = smoothLabels(mixed?.y ?? batch.y, t.labelSmoothing);
        const s = await step(input, targets, batch.labels);
        tf.dispose([batch.x, batch.y, augmented, input, targets, ...(mixed ? [mixed.y] : [])]);
        if (!Number.isFinite(s.loss) || !Number.isFinite(s.penalty)) {
          result = {
            status: 'failed',
            endReason: 'diverged',
            error: `Training diverged at epoch ${epoch}, batch ${b}: the loss became ${s.loss}. Lower training.learningRate (now ${t.learningRate}), or check the data's pixelRange.`,
          };
          break;
        }
        const n = batch.labels.length;
        lossSum += s.loss * n;
        penaltySum += s.penalty * n;
        correct += s.correct;
        seen += n;
        emit({
          type: 'afterBatch',
          epoch,
          batch: b,
          batches: ranges.length,
          loss: s.loss,
          accuracy: s.correct / n,
          lr: rates.headLearningRate,
        });
      }
      if (result !== null) break;

      const evaluation = await evaluate(forward, val, numClasses, Math.max(t.batchSize, 64));
      const loss = lossSum / seen;
      const metrics: EpochMetrics = {
        epoch,
        loss,
        accuracy: correct / seen,
        val_loss: evaluation.loss,
        val_accuracy: evaluation.accuracy,
        lr: rates.headLearningRate,
        ...(rates.baseLearningRate !== undefined ? { lr_base: rates.baseLearningRate } : {}),
        ...(phase ? { phase: phase.phase } : {}),
        ...(penaltySum > 0 ? { reg_loss: penaltySum / seen } : {}),
        time_s: (Date.now() - started) / 1000,
        gap: evaluation.loss - loss,
        overfitting: false,
      };
      rates.endEpoch(evaluation.loss);
      const signalNow = overfittingSignal([...history, metrics], t.overfitPatience);
      metrics.overfitting = signalNow.overfitting;
      const verdict = tracker.update(epoch, metrics[tracker.monitor]);
      if (verdict.improved) {
        tf.dispose(bestWeights ?? []);
        bestWeights = model.model.getWeights().map((w) => w.clone());
        best = metrics;
        await options.onBest(metrics);
      }
      history.push(metrics);
      options.onEpoch(metrics);
      if (options.onCheckpoint) await options.onCheckpoint(await checkpoint(epoch));
      const previous = history.length > 1 ? history[history.length - 2].overfitting : false;
      emit({
        type: 'afterEpoch',
        metrics,
        isBest: verdict.improved,
        bestEpoch: verdict.bestEpoch,
        ...(signalNow.overfitting && !previous ? { overfittingReason: signalNow.reason } : {}),
      });
      if (verdict.stop) {
        result = {
          status: 'completed',
          endReason: `early stopping: ${tracker.monitor} did not improve for ${verdict.wait} epochs (best: epoch ${verdict.bestEpoch})`,
        };
      }
    }
    if (result === null) result = { status: 'completed', endReason: `all ${t.epochs} epochs done` };
    return { ...result, history, bestEpoch: best?.epoch, best, bestWeights };
  } catch (error) {
    tf.dispose(bestWeights ?? []);
    throw error;
  } finally {
    rates.dispose();
  }
}
