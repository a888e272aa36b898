/**
 * What the training loop will read, and how: the fastest way this run allows.
 *   1. Cached activations of the frozen prefix (frozenPrefix.ts), when the first layers are frozen and
 *      augmentation is off: decoding and the frozen layers run once per image (or not at all when an
 *      earlier run left the same cache), and training runs only the rest of the model.
 *   2. Otherwise decoded images, all in memory when they fit the memory budget (the fast path), else
 *      decoded per batch on a worker thread, a few batches ahead of the trainer.
 * Everything here happens before the run folder exists: which images decode is known up front, as the
 * run's counts need it.
 */
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { PipelineSettings } from '../../protocol/trainerMessages';
import { isAugmentationActive } from '../data/augment';
import { decodeImages, type DecodeOptions, type DecodedImages } from '../data/decodeImages';
import { memoryRows, rowSize, subsetRows, type DataSplit, type RowStore } from '../data/rowStore';
import type { ImageRef } from '../../core/data/scanDataset';
import { WorkerDecoder, checkDecodable, streamingImageRows } from '../data/workerDecoder';
import type { TrainingModel } from '../model/buildTrainingModel';
import { UserError, errorMessage, isUserError } from '../../core/userError';
import { computeActivations, mib, openCachedActivations, type CachedActivations } from './activationCache';
import { cacheKey, cacheKeyParts } from './cacheKey';
import { splitFrozenPrefix, type FrozenPrefix } from './frozenPrefix';

export interface PipelineOptions {
  /** Decoded images, or cached activations, up to this size are held in memory (default 1 GiB). */
  memoryBudgetBytes?: number;
  /** Train on cached activations of the frozen prefix when the run allows it (default true). */
  activationCache?: boolean;
  /** Folder of the activation cache (default: `cache` beside the runs folder). */
  cacheDir?: string;
  /** The cache folder is kept under this size (default 4 GiB). */
  maxCacheDiskBytes?: number;
}

export const DEFAULT_MEMORY_BUDGET_BYTES = 2 ** 30;

/** The engine's pipeline options from the user's settings (VS Code settings, CLI flags). */
export function pipelineOptions(settings: PipelineSettings | undefined): PipelineOptions {
  return {
    ...(settings?.memoryBudgetMiB !== undefined
      ? { memoryBudgetBytes: Math.round(settings.memoryBudgetMiB * 2 ** 20) }
      : {}),
    ...(settings?.activationCache !== undefined ? { activationCache: settings.activationCache } : {}),
  };
}
export const DEFAULT_MAX_CACHE_DISK_BYTES = 4 * 2 ** 30;

export type InputMode = 'images in memory' | 'images streamed' | 'cached activations';

export interface TrainingInputs {
  train: DataSplit;
  val: DataSplit;
  /** The model on these rows (the whole model on images, the part after the boundary on activations). */
  forward: (x: tf.Tensor, training: boolean) => tf.Tensor;
  mode: InputMode;
  /** Set when the rows are cached activations. */
  cache?: { boundary: string; key: string; dir?: string; reused: boolean; inMemory: boolean; bytes: number };
  skipped: DecodedImages['skipped'];
  /** For the run log (info). */
  notes: string[];
  /** For the run log and run.json's warnings. */
  warnings: string[];
  /** Ends the decoding worker and closes cache files. */
  close(): Promise<void>;
}

export interface PrepareArgs {
  model: TrainingModel;
  config: ExperimentConfig;
  split: { train: ImageRef[]; val: ImageRef[] };
  classNames: string[];
  datasetFingerprint: string;
  backend: string;
  channels: 1 | 3;
  runsDir: string;
  options?: PipelineOptions;
  /** Progress of long steps (decoding, computing activations), at most every few seconds. */
  log: (message: string) => void;
}

/** Calls `log` with progress at most every `everyMs`. */
function progressLogger(
  log: (m: string) => void,
  what: string,
  everyMs = 5000,
): (d: number, t: number) => void {
  let last = Date.now();
  return (done, total) => {
    if (done < total && Date.now() - last >= everyMs) {
      last = Date.now();
      log(`${what}: ${done}/${total} images`);
    }
  };
}

/** Every class that has images in a split must keep at least one that decodes (as before any pipeline). */
function checkClassesPresent(
  refs: ImageRef[],
  decoded: Set<string>,
  classNames: string[],
  label: string,
  skipped: DecodedImages['skipped'],
): void {
  const present = new Set(refs.filter((r) => decoded.has(r.file)).map((r) => r.classIndex));
  const missing = classNames.filter((_, k) => refs.some((r) => r.classIndex === k) && !present.has(k));
  if (missing.length > 0) {
    // Name the files (a few) and why each failed: the user has to fix exactly those.
    const missingIndex = new Set(missing.map((m) => classNames.indexOf(m)));
    const theirs = skipped.filter((s) =>
      refs.some((r) => r.file === s.file && missingIndex.has(r.classIndex)),
    );
    const shown = theirs.slice(0, 3).map((s) => `${s.file}: ${s.reason}`);
    const more = theirs.length > shown.length ? `; and ${theirs.length - shown.length} more` : '';
    throw new UserError(
      `No ${label} image of class ${missing.map((m) => `"${m}"`).join(', ')} could be decoded (${shown.join('; ') || 'unreadable files'}${more}). Fix or replace those files.`,
    );
  }
}

function makeSplit(refs: ImageRef[], rows: RowStore): DataSplit {
  return {
    rows,
    labels: Int32Array.from(refs.map((r) => r.classIndex)),
    files: refs.map((r) => r.file),
    count: refs.length,
  };
}

/**
 * Training settings that act on the input images (mixup, CutMix) or unfreeze layers during the run:
 * either makes the frozen prefix's output differ from one epoch to the next. Read by name, as optional
 * fields, so this stays right whichever of them the experiment format has.
 */
function settingsBeforeTheCut(config: ExperimentConfig): string[] {
  const training = config.training as unknown as Record<string, unknown>;
  const active: string[] = [];
  if (typeof training.mixup === 'number' && training.mixup > 0) active.push('mixup');
  if (typeof training.cutmix === 'number' && training.cutmix > 0) active.push('CutMix');
  if (training.gradualUnfreezing != null && training.gradualUnfreezing !== false)
    active.push('gradual unfreezing');
  return active;
}

/** Why the cache cannot serve this run (`warn`: the user could change that), or the prefix to cache. */
function cachePlan(
  args: PrepareArgs,
  budget: number,
  maxDisk: number,
): { prefix: FrozenPrefix } | { reason: string; warn: boolean } {
  if (args.options?.activationCache === false)
    return {
      reason: 'turned off by the settings (fineTune.activationCache, or --no-cache)',
      warn: false,
    };
  const split = splitFrozenPrefix(args.model);
  if (split.prefix === undefined) return { reason: `nothing to cache: ${split.reason}`, warn: false };
  const prefix = split.prefix;
  const changing = settingsBeforeTheCut(args.config);
  if (changing.length > 0) {
    return {
      reason: `${changing.join(' and ')} ${changing.length > 1 ? 'change' : 'changes'} what the frozen layers up to "${prefix.lastFrozenPath}" compute during the run, so they run on every batch`,
      warn: true,
    };
  }
  if (isAugmentationActive(args.config.augmentation)) {
    return {
      reason: `augmentation changes the images every epoch, so the frozen layers up to "${prefix.lastFrozenPath}" run again on every batch. Turn augmentation off to compute them once per image and train only the rest (much faster)`,
      warn: true,
    };
  }
  const count = args.split.train.length + args.split.val.length;
  const bytes = count * rowSize(prefix.rowShape) * 4;
  if (bytes > budget && bytes > maxDisk) {
    return {
      reason: `the activations of "${prefix.boundaryPath}" (${count} × [${prefix.rowShape.join(', ')}] floats, ${mib(bytes)}) exceed both the memory budget (${mib(budget)}) and the cache's disk limit (${mib(maxDisk)})`,
      warn: true,
    };
  }
  return { prefix };
}

export async function prepareInputs(args: PrepareArgs): Promise<TrainingInputs> {
  const budget = args.options?.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
  const maxDisk = args.options?.maxCacheDiskBytes ?? DEFAULT_MAX_CACHE_DISK_BYTES;
  const decode: DecodeOptions = {
    imageSize: args.config.dataset.imageSize,
    channels: args.channels,
    pixelRange: args.config.dataset.pixelRange,
  };
  const notes: string[] = [];
  const warnings: string[] = [];
  let decoder: WorkerDecoder | undefined;
  const getDecoder = (): WorkerDecoder => (decoder ??= new WorkerDecoder());
  const closers: (() => void | Promise<void>)[] = [async () => decoder?.close()];
  const close = async (): Promise<void> => {
    for (const closer of closers) await closer();
  };

  try {
    const plan = cachePlan(args, budget, maxDisk);
    if ('prefix' in plan) {
      notes.push(...plan.prefix.notes.map((n) => `activation cache: ${n}`));
      try {
        const { closeStore, ...cached } = await cachedInputs(
          args,
          plan.prefix,
          decode,
          getDecoder,
          budget,
          maxDisk,
          notes,
        );
        closers.push(closeStore);
        await decoder?.close();
        decoder = undefined;
        return { ...cached, notes, warnings, close };
      } catch (error) {
        if (isUserError(error)) throw error;
        warnings.push(`Activation cache failed (${errorMessage(error)}): training without it.`);
      }
    } else {
      (plan.warn ? warnings : notes).push(`Activation cache off: ${plan.reason}.`);
    }

    const [height, width] = decode.imageSize;
    const count = args.split.train.length + args.split.val.length;
    const bytes = count * height * width * args.channels * 4;
    if (bytes <= budget) {
      const inputs = await imagesInMemory(args, decode);
      return { ...inputs, forward: args.model.forward, notes, warnings, close };
    }
    args.log(
      `The ${count} images take ${mib(bytes)} decoded, over the memory budget of ${mib(budget)}: they are decoded per batch on a worker thread, ahead of training.`,
    );
    const inputs = await imagesStreamed(args, decode, getDecoder());
    return { ...inputs, forward: args.model.forward, notes, warnings, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function cachedInputs(
  args: PrepareArgs,
  prefix: FrozenPrefix,
  decode: DecodeOptions,
  decoder: () => WorkerDecoder,
  budget: number,
  maxDisk: number,
  notes: string[],
): Promise<
  Omit<TrainingInputs, 'notes' | 'warnings' | 'close'> & { closeStore: () => void | Promise<void> }
> {
  const root = args.options?.cacheDir ?? path.join(args.runsDir, '..', 'cache');
  const parts = cacheKeyParts({
    modelJsonPath: args.config.baseModel,
    prefixLayers: prefix.layerPaths,
    imageSize: decode.imageSize,
    pixelRange: decode.pixelRange,
    channels: decode.channels,
    dataset: args.datasetFingerprint,
    backend: args.backend,
  });
  const key = cacheKey(parts);
  const limits = { memoryBudgetBytes: budget, maxDiskBytes: maxDisk };
  const refs = [...args.split.train, ...args.split.val];
  let cached: CachedActivations | undefined = openCachedActivations(root, key, prefix.rowShape, limits);
  const started = Date.now();
  if (cached === undefined) {
    args.log(
      `Computing the frozen layers' output at "${prefix.boundaryPath}" once for ${refs.length} images; every epoch then trains only the layers after it…`,
    );
    cached = await computeActivations({
      root,
      key,
      parts,
      refs,
      decode,
      decoder: decoder(),
      prefix,
      limits,
      onProgress: progressLogger(args.log, 'Activation cache'),
    });
  }
  const where = cached.inMemory ? 'in memory' : `read from ${cached.dir} per batch (over the memory budget)`;
  notes.push(
    cached.reused
      ? `Activation cache: reusing ${cached.dir} (activations of "${prefix.boundaryPath}" for ${cached.files.length} images, ${mib(cached.bytes)}, ${where}).`
      : `Activation cache: activations of "${prefix.boundaryPath}" [${prefix.rowShape.join(', ')}] for ${cached.files.length} images computed in ${((Date.now() - started) / 1000).toFixed(1)} s (${cached.timing ? `frozen layers ${cached.timing.forwardS.toFixed(2)} s, waiting for decoded images ${cached.timing.decodeWaitS.toFixed(2)} s; ` : ''}${mib(cached.bytes)}, ${where}${cached.dir ? `; saved in ${cached.dir} for later runs` : `; not saved: ${cached.notSaved}`}).`,
  );

  const rowOf = new Map(cached.files.map((file, i) => [file, i]));
  const decoded = new Set(rowOf.keys());
  const splits = { train: args.split.train, val: args.split.val };
  checkClassesPresent(splits.train, decoded, args.classNames, 'training', cached.skipped);
  checkClassesPresent(splits.val, decoded, args.classNames, 'validation', cached.skipped);
  const store = cached.rows;
  const view = (refs: ImageRef[]): DataSplit => {
    const kept = refs.filter((r) => rowOf.has(r.file));
    return makeSplit(kept, subsetRows(store, Int32Array.from(kept.map((r) => rowOf.get(r.file)!))));
  };
  return {
    train: view(splits.train),
    val: view(splits.val),
    forward: prefix.forwardRest,
    mode: 'cached activations',
    cache: {
      boundary: prefix.boundaryPath,
      key,
      ...(cached.dir ? { dir: cached.dir } : {}),
      reused: cached.reused,
      inMemory: cached.inMemory,
      bytes: cached.bytes,
    },
    skipped: cached.skipped,
    closeStore: () => store.close?.(),
  };
}

/** The fast path: every image decoded up front, held in one array per split. */
async function imagesInMemory(
  args: PrepareArgs,
  decode: DecodeOptions,
): Promise<Pick<TrainingInputs, 'train' | 'val' | 'mode' | 'skipped'>> {
  const [height, width] = decode.imageSize;
  const rowShape = [height, width, decode.channels];
  const one = async (
    refs: ImageRef[],
    label: string,
  ): Promise<{ split: DataSplit; skipped: DecodedImages['skipped'] }> => {
    args.log(`Decoding ${refs.length} ${label} images…`);
    const decoded = await decodeImages(refs, decode, progressLogger(args.log, `Decoding ${label} images`));
    checkClassesPresent(
      refs,
      new Set(decoded.images.map((r) => r.file)),
      args.classNames,
      label,
      decoded.skipped,
    );
    return { split: makeSplit(decoded.images, memoryRows(decoded.data, rowShape)), skipped: decoded.skipped };
  };
  const train = await one(args.split.train, 'training');
  const val = await one(args.split.val, 'validation');
  return {
    train: train.split,
    val: val.split,
    mode: 'images in memory',
    skipped: [...train.skipped, ...val.skipped],
  };
}

/** Over the memory budget: which images decode is checked now, their pixels are decoded per batch later. */
async function imagesStreamed(
  args: PrepareArgs,
  decode: DecodeOptions,
  decoder: WorkerDecoder,
): Promise<Pick<TrainingInputs, 'train' | 'val' | 'mode' | 'skipped'>> {
  const one = async (
    refs: ImageRef[],
    label: string,
  ): Promise<{ split: DataSplit; skipped: DecodedImages['skipped'] }> => {
    args.log(`Checking that the ${refs.length} ${label} images decode…`);
    const checked = await checkDecodable(
      refs,
      decode,
      decoder,
      progressLogger(args.log, `Checking ${label} images`),
    );
    checkClassesPresent(
      refs,
      new Set(checked.images.map((r) => r.file)),
      args.classNames,
      label,
      checked.skipped,
    );
    return {
      split: makeSplit(checked.images, streamingImageRows(checked.images, decode, decoder)),
      skipped: checked.skipped,
    };
  };
  const train = await one(args.split.train, 'training');
  const val = await one(args.split.val, 'validation');
  return {
    train: train.split,
    val: val.split,
    mode: 'images streamed',
    skipped: [...train.skipped, ...val.skipped],
  };
}
