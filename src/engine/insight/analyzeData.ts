/**
 * Data insight for an experiment (or a run's snapshot of it): label issues by confident learning on
 * K-fold out-of-sample probabilities, near-duplicates across the split, the embedding map, and — for a
 * run with a saved model — the validation set's top losses; thumbnails for the gallery on request.
 *
 * The K models are the experiment's own (its head, optimizer, learning rates, regularisation, epochs),
 * prepared as a run would be (prepareRun.ts), trained on the activation cache of the frozen layers when
 * the experiment freezes any: that is the head alone, seconds for thousands of images. Settings that
 * change the images every epoch (augmentation, mixup, CutMix) or the frozen set during the run (gradual
 * unfreezing) would make every batch run the whole network, so the analysis turns them off and says so.
 * Early stopping is off too, so no fold picks its epoch by looking at the images it then predicts.
 * Nothing is written but the shared activation cache.
 */
import type { BackendChoice, ExperimentConfig } from '../../protocol/experimentConfig';
import { DEFAULT_AUGMENTATION } from '../../protocol/experimentConfig';
import {
  GALLERY_LIMITS,
  type DataInsightProgress,
  type DataInsightReport,
  type DuplicatePair,
  type EmbeddingMap,
  type LabelIssue,
} from '../../protocol/dataInsight';
import { loadExperiment } from '../../core/config/loadExperiment';
import { readRunModel, type RunModel } from '../../core/export/runModel';
import { findLabelIssues, type RankBy } from '../../core/insight/confidentLearning';
import { DEFAULT_DUPLICATE_THRESHOLD, duplicatePairs } from '../../core/insight/duplicates';
import { sampleForMap } from '../../core/insight/embeddingSample';
import { DEFAULT_FOLDS, classesSmallerThanFolds, stratifiedFolds } from '../../core/insight/folds';
import { pca } from '../../core/insight/pca';
import { readRun } from '../../core/runs/readRuns';
import { UserError } from '../../core/userError';
import { currentBackend } from '../backend/selectBackend';
import { prepareInputs, type PipelineOptions } from '../cache/prepareInputs';
import { isAugmentationActive } from '../data/augment';
import { prepareRun } from '../prepareRun';
import { contentHashes } from './contentHash';
import { concatSplits, crossValidatedProbabilities } from './crossValidation';
import { cutFeatures, nearestByCosine } from './cutFeatures';
import { thumbnails } from './thumbnails';
import { topLosses } from './topLosses';

export interface AnalyzeDataOptions {
  /** The experiment file; with `runDir`, only named in messages (the run's snapshot is analysed). */
  experimentPath: string;
  /** A run folder: its config snapshot is analysed, and its saved model gives the top losses. */
  runDir?: string;
  folds?: number;
  rankBy?: RankBy;
  duplicateThreshold?: number;
  backend?: BackendChoice;
  /** The activation cache training runs share (`<workspace>/.finetune/cache`); absent: no cache on disk. */
  cacheDir?: string;
  pipeline?: Omit<PipelineOptions, 'cacheDir'>;
  /** Make gallery thumbnails (the panel); the CLI does not need them. */
  thumbnails?: boolean;
  signal?: AbortSignal;
  onProgress?(progress: DataInsightProgress): void;
  onLog?(level: 'info' | 'warn', message: string): void;
}

/** The experiment as the K folds train it (see the file comment), and what was changed, in words. */
export function analysisConfig(config: ExperimentConfig): { config: ExperimentConfig; changed: string[] } {
  const t = config.training;
  const changed: string[] = [];
  if (isAugmentationActive(config.augmentation)) changed.push('augmentation');
  if (t.mixup > 0) changed.push('mixup');
  if (t.cutmix > 0) changed.push('CutMix');
  if (t.gradualUnfreezing !== false) changed.push('gradual unfreezing');
  if (t.earlyStopping !== false) changed.push('early stopping');
  return {
    config: {
      ...config,
      augmentation: { ...DEFAULT_AUGMENTATION },
      training: { ...t, mixup: 0, cutmix: 0, gradualUnfreezing: false, earlyStopping: false },
    },
    changed,
  };
}

export async function analyzeData(options: AnalyzeDataOptions): Promise<DataInsightReport> {
  const started = Date.now();
  const log = (level: 'info' | 'warn', message: string): void => options.onLog?.(level, message);
  const progress = (p: DataInsightProgress): void => options.onProgress?.(p);
  const k = options.folds ?? DEFAULT_FOLDS;
  const rankBy = options.rankBy ?? 'self_confidence';
  const threshold = options.duplicateThreshold ?? DEFAULT_DUPLICATE_THRESHOLD;
  const notes: string[] = [];
  progress({ stage: 'preparing', message: 'reading the experiment, the dataset and the model…' });

  const run = options.runDir ? readRun(options.runDir) : undefined;
  if (run && !run.record) {
    throw new UserError(
      `Run folder ${options.runDir} has no readable run.json: ${run.unreadable ?? 'unknown reason'}.`,
    );
  }
  const file = run?.record?.experimentPath ?? options.experimentPath;
  const loaded = run?.record ? { config: run.record.config, warnings: [] } : await loadExperiment(file);
  const { config, changed } = analysisConfig(loaded.config);
  if (changed.length > 0) {
    notes.push(
      `The ${k} fold models train without ${changed.join(', ')} (a fixed ${config.training.epochs} epochs each), so that the frozen layers' output can be computed once per image and no fold picks its epoch by the images it predicts.`,
    );
  }
  const prepared = await prepareRun(file, undefined, log, {
    config,
    backend: options.backend ?? config.training.backend,
  });
  const warnings = [...loaded.warnings, ...prepared.warnings];
  warnings.forEach((w) => log('warn', w));
  const classNames = prepared.scan.classNames;
  const numClasses = classNames.length;
  const inputs = await prepareInputs({
    model: prepared.model,
    config,
    split: prepared.split,
    classNames,
    datasetFingerprint: prepared.fingerprint,
    backend: currentBackend(),
    channels: prepared.channels,
    runsDir: options.cacheDir ?? '',
    options: options.cacheDir
      ? { ...options.pipeline, cacheDir: options.cacheDir }
      : { ...options.pipeline, activationCache: false },
    log: (message) => log('info', message),
  }).catch((error: unknown) => {
    prepared.model.dispose();
    throw error;
  });
  inputs.notes.forEach((n) => log('info', n));
  inputs.warnings.forEach((w) => log('warn', w));

  try {
    const rows = concatSplits(inputs.train, inputs.val);
    const trainCount = inputs.train.count;
    if (rows.count < k) {
      throw new UserError(
        `${rows.count} readable images are too few for ${k} folds: use --folds 2 or add images.`,
      );
    }
    const small = classesSmallerThanFolds(rows.labels, k).map((c) => classNames[c]);
    if (small.length > 0) {
      notes.push(
        `Class${small.length > 1 ? 'es' : ''} ${small.join(', ')} ha${small.length > 1 ? 've' : 's'} fewer images than folds: some fold models never saw ${small.length > 1 ? 'them' : 'it'}, so ${small.length > 1 ? 'their' : 'its'} images are easily flagged.`,
      );
    }
    const whole = inputs.mode !== 'cached activations';
    if (whole) {
      const why =
        inputs.warnings.find((w) => w.startsWith('Activation cache')) ??
        inputs.notes.find((n) => n.startsWith('Activation cache off'));
      const message = `Nothing frozen can be cached (${why ?? 'no frozen layers'}): label issues fine-tune the whole model ${k} times (${config.training.epochs} epoch${config.training.epochs === 1 ? '' : 's'} each). The time it takes is estimated after the first epoch.`;
      notes.push(message);
      log('warn', message);
    }

    progress({ stage: 'features', message: `features at "${prepared.model.cutAt}"…` });
    const features = await cutFeatures(prepared.model, rows, inputs.cache?.boundary);

    const folds = stratifiedFolds(rows.labels, k, config.training.seed);
    let estimated = false;
    const probabilities = await crossValidatedProbabilities({
      model: prepared.model,
      forward: inputs.forward,
      rows,
      numClasses,
      config,
      folds,
      k,
      signal: options.signal,
      onFold: (fold) => progress({ stage: 'training folds', step: fold + 1, steps: k }),
      onEpoch: (fold, metrics) => {
        if (estimated || fold !== 0 || metrics.epoch !== 1) return;
        estimated = true;
        const total = metrics.time_s * config.training.epochs * k;
        const message = `The first epoch took ${metrics.time_s.toFixed(1)} s: all ${k} folds take about ${formatDuration(total)}.`;
        log('info', message);
        if (whole) {
          notes.push(message);
          progress({ stage: 'training folds', step: 1, steps: k, message });
        }
      },
    });

    const found = findLabelIssues(probabilities, rows.labels, numClasses, rankBy);
    const issues: LabelIssue[] = found.issues.map((issue) => ({
      file: rows.files[issue.index],
      label: classNames[issue.label],
      suggested: classNames[issue.suggested],
      score: issue.score,
      selfConfidence: issue.selfConfidence,
      suggestedProbability: issue.suggestedProbability,
      split: issue.index < trainCount ? 'train' : 'val',
      confident: issue.confident,
    }));
    const predicted = new Int32Array(rows.count);
    let correct = 0;
    for (let i = 0; i < rows.count; i++) {
      let best = 0;
      for (let c = 1; c < numClasses; c++)
        if (probabilities[i * numClasses + c] > probabilities[i * numClasses + best]) best = c;
      predicted[i] = best;
      if (best === rows.labels[i]) correct += 1;
    }

    const absOf = new Map(prepared.scan.images.map((image) => [image.file, image.abs]));
    const hashes = await contentHashes(rows.files.map((f) => absOf.get(f)!));
    const trainRows = Int32Array.from({ length: trainCount }, (_, i) => i);
    const valRows = Int32Array.from({ length: rows.count - trainCount }, (_, i) => trainCount + i);
    const nearest = await nearestByCosine(features.data, features.dim, trainRows, valRows);
    const pairs = duplicatePairs({
      bestTrain: nearest.best,
      bestSimilarity: nearest.similarity,
      trainHashes: hashes.slice(0, trainCount),
      valHashes: hashes.slice(trainCount),
      threshold,
    });
    const labelOf = (row: number): string => classNames[rows.labels[row]];
    const duplicates: DuplicatePair[] = pairs.map((p) => ({
      train: rows.files[p.train],
      trainLabel: labelOf(p.train),
      val: rows.files[trainCount + p.val],
      valLabel: labelOf(trainCount + p.val),
      similarity: p.similarity,
      identical: p.identical,
    }));
    if (duplicates.length > 0) {
      notes.push(
        `${new Set(duplicates.map((d) => d.val)).size} validation image(s) also appear (nearly) in the training set: val_accuracy counts them as if they were new.`,
      );
    }

    const flagged = new Set<number>(found.issues.map((i) => i.index));
    pairs.forEach((p) => {
      flagged.add(p.train);
      flagged.add(trainCount + p.val);
    });
    const embedding = embeddingMap(features, rows, predicted, flagged, trainCount);
    if (embedding.sampled) {
      notes.push(
        `The embedding map shows ${embedding.points.length} of ${embedding.total} images (every flagged one, a sample of the rest per class).`,
      );
    }

    let runModel: RunModel | undefined;
    let losses: DataInsightReport['topLosses'];
    if (run) {
      try {
        runModel = readRunModel(run);
      } catch (error) {
        notes.push(`No top losses: ${(error as Error).message}`);
      }
      if (runModel && runModel.classNames.join('\n') !== classNames.join('\n')) {
        notes.push(
          `No top losses: run ${run.id} was trained on the classes ${runModel.classNames.join(', ')}, the dataset now has ${classNames.join(', ')}.`,
        );
        runModel = undefined;
      }
      if (runModel) {
        progress({ stage: 'top losses', message: `validation images through run ${run.id}'s model…` });
        losses = await topLosses(runModel, prepared.split.val, GALLERY_LIMITS.topLosses);
      }
    }

    let thumbs: Record<string, string> | undefined;
    if (options.thumbnails) {
      const shown = new Set<string>([
        ...issues.slice(0, GALLERY_LIMITS.issues).map((i) => i.file),
        ...(losses ?? []).map((l) => l.file),
        ...duplicates.slice(0, GALLERY_LIMITS.duplicates).flatMap((d) => [d.train, d.val]),
      ]);
      const entries = [...shown].filter((f) => absOf.has(f)).map((f) => ({ file: f, abs: absOf.get(f)! }));
      thumbs = await thumbnails(entries, (done, total) =>
        progress({ stage: 'thumbnails', step: done, steps: total }),
      );
    }

    return {
      experimentName: config.name,
      datasetPath: prepared.scan.root,
      layout: prepared.scan.layout,
      datasetFingerprint: prepared.fingerprint,
      classNames,
      images: { train: trainCount, val: rows.count - trainCount, skipped: inputs.skipped.length },
      folds: k,
      rankBy,
      mode: inputs.mode,
      outOfSampleAccuracy: correct / rows.count,
      thresholds: found.thresholds,
      estimatedIssues: found.estimatedIssues,
      issues,
      duplicates,
      duplicateThreshold: threshold,
      ...(losses ? { topLosses: losses, runId: run!.id } : {}),
      embedding,
      ...(thumbs ? { thumbnails: thumbs } : {}),
      backend: currentBackend(),
      seconds: (Date.now() - started) / 1000,
      notes,
    };
  } finally {
    await inputs.close();
    prepared.model.dispose();
  }
}

function embeddingMap(
  features: { data: Float32Array; dim: number; layer: string },
  rows: { labels: Int32Array; files: string[]; count: number },
  predicted: Int32Array,
  flagged: Set<number>,
  trainCount: number,
): EmbeddingMap {
  const marked = new Set(flagged);
  for (let i = 0; i < rows.count; i++) if (predicted[i] !== rows.labels[i]) marked.add(i);
  const chosen = sampleForMap(rows.labels, marked);
  const { dim } = features;
  const data = new Float32Array(chosen.length * dim);
  chosen.forEach((row, i) => data.set(features.data.subarray(row * dim, (row + 1) * dim), i * dim));
  const projection = pca(data, chosen.length, dim, { dims: 2 });
  return {
    points: chosen.map((row, i) => ({
      file: rows.files[row],
      x: projection.coordinates[i * 2],
      y: projection.dims > 1 ? projection.coordinates[i * 2 + 1] : 0,
      label: rows.labels[row],
      predicted: predicted[row],
      flagged: flagged.has(row),
      split: row < trainCount ? 'train' : 'val',
    })),
    total: rows.count,
    sampled: chosen.length < rows.count,
    explained: [projection.explained[0] ?? 0, projection.explained[1] ?? 0],
    layer: features.layer,
    method: 'pca',
  };
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
