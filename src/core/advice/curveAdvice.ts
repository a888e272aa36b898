/**
 * Rules that read a run's curves (and its config and dataset size) and say what is going on, with the
 * evidence and suggestions that can be applied with a click — "val_loss has risen for 4 epochs while loss
 * falls: overfitting from epoch 7; try …". Pure: unit-tested on scripted curves.
 */
import type { Advice, AdviceSuggestion } from '../../protocol/advice';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { EpochMetrics } from '../../protocol/runRecord';
import { divergenceVerdict } from '../portable/divergence';
import { comparableValLoss, overfittingSignal, valLossName } from '../portable/overfitting';

export interface AdviceInput {
  metrics: Pick<
    EpochMetrics,
    'epoch' | 'loss' | 'accuracy' | 'val_loss' | 'val_accuracy' | 'val_loss_same_targets'
  >[];
  config: ExperimentConfig;
  /** Smallest number of training images in a class. */
  minImagesPerClass: number;
  /** Trainable parameters of pre-trained layers (0 when the base is frozen). */
  trainablePretrainedParams: number;
  /** Path of the head cut (for "freeze the whole base"). */
  cutAt?: string;
  /** Classes of the run (the loss of guessing is ln K): needed to tell a diverged run. */
  numClasses?: number;
  /** The learning-rate finder's suggestion for this experiment, when it has run (lrFinderRecord.ts). */
  lrSuggestion?: number;
}

const f3 = (n: number): string => n.toFixed(3);

function overfittingAdvice(input: AdviceInput): Advice | undefined {
  const { metrics, config } = input;
  // The engine's patience, so the advice and metrics.jsonl's `overfitting` turn on at the same epoch.
  const signal = overfittingSignal(metrics, config.training.overfitPatience);
  if (!signal.overfitting || signal.since === undefined) return undefined;
  const since = signal.since;
  const from = metrics.find((m) => m.epoch === since)!;
  const last = metrics[metrics.length - 1];
  const suggestions: AdviceSuggestion[] = [];
  if (config.head.dropout < 0.5) {
    suggestions.push({
      label: `More dropout: ${config.head.dropout} → ${Math.min(0.6, config.head.dropout + 0.2).toFixed(1)}`,
      action: {
        kind: 'setValue',
        path: ['head', 'dropout'],
        value: +Math.min(0.6, config.head.dropout + 0.2).toFixed(1),
      },
    });
  }
  const a = config.augmentation;
  suggestions.push({
    label: 'Stronger augmentation (rotation 15°, translate 0.1, zoom 0.1, brightness 0.2)',
    action: {
      kind: 'setValue',
      path: ['augmentation'],
      value: {
        ...a,
        rotation: Math.max(a.rotation, 15),
        translate: Math.max(a.translate, 0.1),
        zoom: Math.max(a.zoom, 0.1),
        brightness: Math.max(a.brightness, 0.2),
      },
    },
  });
  if (input.trainablePretrainedParams > 0 && input.cutAt) {
    suggestions.push({
      label: `Freeze more layers: the whole base up to ${input.cutAt}`,
      action: { kind: 'layerEdit', edit: { kind: 'freezeUpTo', path: input.cutAt } },
    });
  }
  if (config.regularization.l2sp === 0 && input.trainablePretrainedParams > 0) {
    suggestions.push({
      label: 'L2-SP 0.01: keep fine-tuned weights near the pre-trained ones',
      action: { kind: 'setValue', path: ['regularization', 'l2sp'], value: 0.01 },
    });
  }
  const es = config.training.earlyStopping;
  if (es === false || es.patience > 3 || !es.restoreBestWeights) {
    suggestions.push({
      label: 'Early stopping, patience 3, restore best weights',
      action: {
        kind: 'setValue',
        path: ['training', 'earlyStopping'],
        value: { monitor: 'val_loss', patience: 3, minDelta: 0, restoreBestWeights: true },
      },
    });
  }
  return {
    id: 'overfitting',
    severity: 'warning',
    title: `Overfitting from epoch ${since}`,
    evidence: `${valLossName(last)} has risen for ${signal.streak} epochs in a row (${f3(comparableValLoss(from))} → ${f3(comparableValLoss(last))}) while loss fell (${f3(from.loss)} → ${f3(last.loss)}).`,
    suggestions,
  };
}

function underfittingAdvice(input: AdviceInput): Advice | undefined {
  const { metrics, config } = input;
  if (metrics.length < 3) return undefined;
  const last = metrics[metrics.length - 1];
  if (last.accuracy >= 0.7 || last.val_accuracy > last.accuracy + 0.1) return undefined;
  const lr = config.training.learningRate;
  return {
    id: 'underfitting',
    severity: 'warning',
    title: 'Underfitting: training accuracy is low too',
    evidence: `After ${last.epoch} epochs training accuracy is ${f3(last.accuracy)} (validation ${f3(last.val_accuracy)}): the model cannot even fit the training set.`,
    suggestions: [
      { label: 'Unfreeze more layers', action: { kind: 'layerEdit', edit: { kind: 'unfreezeAll' } } },
      {
        label: `Raise the learning rate: ${lr} → ${+(lr * 3).toPrecision(2)}`,
        action: { kind: 'setValue', path: ['training', 'learningRate'], value: +(lr * 3).toPrecision(2) },
      },
      {
        label: `Train longer: ${config.training.epochs} → ${config.training.epochs * 2} epochs`,
        action: { kind: 'setValue', path: ['training', 'epochs'], value: config.training.epochs * 2 },
      },
    ],
  };
}

function smallDatasetAdvice(input: AdviceInput): Advice | undefined {
  if (input.minImagesPerClass >= 30 || input.trainablePretrainedParams === 0 || !input.cutAt)
    return undefined;
  return {
    id: 'small-dataset',
    severity: 'info',
    title: `Dataset has ${input.minImagesPerClass} images per class: keep the base frozen`,
    evidence: `${input.trainablePretrainedParams.toLocaleString('en-US')} pre-trained parameters are trainable, but the smallest class has only ${input.minImagesPerClass} training images — fine-tuning the base on so few tends to overfit; train the head first.`,
    suggestions: [
      {
        label: `Freeze the whole base (up to ${input.cutAt})`,
        action: { kind: 'layerEdit', edit: { kind: 'freezeUpTo', path: input.cutAt } },
      },
    ],
  };
}

/**
 * A run that diverged without NaN (divergence.ts): the very rule the trainer's divergence guard ends runs
 * with, so the advice and the run's error say the same.
 */
function divergedAdvice(input: AdviceInput): Advice | undefined {
  const { metrics, config, numClasses, lrSuggestion } = input;
  if (numClasses === undefined) return undefined;
  const verdict = divergenceVerdict(metrics, numClasses);
  if (!verdict) return undefined;
  const lr = config.training.learningRate;
  const lower = lrSuggestion ?? Math.min(lr / 10, 1e-3);
  const target = +lower.toPrecision(2);
  const reason = verdict.reason[0].toUpperCase() + verdict.reason.slice(1);
  return {
    id: 'diverged',
    severity: 'warning',
    title: 'Training diverged: lower training.learningRate',
    evidence: `${reason}.`,
    suggestions: [
      {
        label:
          lrSuggestion !== undefined
            ? `Lower the learning rate to the finder's suggestion: ${lr} → ${target}`
            : `Lower the learning rate: ${lr} → ${target}`,
        action: { kind: 'setValue', path: ['training', 'learningRate'], value: target },
      },
      ...(lrSuggestion === undefined
        ? [{ label: 'Find a learning rate (Fine-Tune: Find Learning Rate)' }]
        : []),
    ],
  };
}

function divergingAdvice(input: AdviceInput): Advice | undefined {
  const { metrics, config } = input;
  if (metrics.length < 3) return undefined;
  const rising = metrics
    .slice(-3)
    .every((m, i, a) => i === 0 || (m.loss > a[i - 1].loss && m.val_loss > a[i - 1].val_loss));
  if (!rising) return undefined;
  const lr = config.training.learningRate;
  const first = metrics[metrics.length - 3];
  const last = metrics[metrics.length - 1];
  return {
    id: 'diverging',
    severity: 'warning',
    title: 'Training is getting worse: the learning rate is probably too high',
    evidence: `Both loss (${f3(first.loss)} → ${f3(last.loss)}) and val_loss (${f3(first.val_loss)} → ${f3(last.val_loss)}) rose over the last 3 epochs.`,
    suggestions: [
      {
        label: `Lower the learning rate: ${lr} → ${+(lr / 3).toPrecision(2)}`,
        action: { kind: 'setValue', path: ['training', 'learningRate'], value: +(lr / 3).toPrecision(2) },
      },
    ],
  };
}

function lowLearningRateAdvice(input: AdviceInput): Advice | undefined {
  const { metrics, config } = input;
  if (metrics.length < 5) return undefined;
  const first = metrics[metrics.length - 5];
  const last = metrics[metrics.length - 1];
  const drop = (first.loss - last.loss) / Math.max(1e-9, first.loss);
  if (drop >= 0.05 || drop < 0 || last.accuracy > 0.9) return undefined;
  const lr = config.training.learningRate;
  return {
    id: 'learning-rate-low',
    severity: 'info',
    title: 'Loss barely moves: the learning rate may be too low',
    evidence: `loss went from ${f3(first.loss)} to ${f3(last.loss)} over 4 epochs (${(drop * 100).toFixed(1)} %) while training accuracy is ${f3(last.accuracy)}.`,
    suggestions: [
      {
        label: `Raise the learning rate: ${lr} → ${+(lr * 3).toPrecision(2)}`,
        action: { kind: 'setValue', path: ['training', 'learningRate'], value: +(lr * 3).toPrecision(2) },
      },
      { label: 'Find a learning rate (Fine-Tune: Find Learning Rate)' },
    ],
  };
}

export function adviseFromCurves(input: AdviceInput): Advice[] {
  // A diverged run needs one thing, a lower learning rate: the milder rules would only confuse it.
  const diverged = divergedAdvice(input);
  if (diverged) return [diverged];
  return [overfittingAdvice, divergingAdvice, underfittingAdvice, lowLearningRateAdvice, smallDatasetAdvice]
    .map((rule) => rule(input))
    .filter((a): a is Advice => a !== undefined);
}
