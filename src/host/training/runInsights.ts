/**
 * What the training panel says about a run beyond its curves (issue 7): advice from the curves, the
 * gradual-unfreezing phase with the layers it trains, and the per-batch learning rate of a run read back
 * from disk. Built from the run folder (run.json's config snapshot, metrics.jsonl), the dataset as the run
 * split it, and — when it can be read — the base model's layer tree. No vscode here: unit-tested in Node.
 */
import * as path from 'node:path';
import type { Advice } from '../../protocol/advice';
import type { GradualUnfreezingConfig } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import type { EpochMetrics, RunRecord } from '../../protocol/runRecord';
import type { PhaseEvent } from '../../protocol/trainingEvents';
import type { UnfreezingInfo } from '../../protocol/webviewMessages';
import { adviseFromCurves } from '../../core/advice/curveAdvice';
import { scanDataset, VIEW_SCAN_LIMITS } from '../../core/data/scanDataset';
import { lrFinderDirBeside, readLrFinderSuggestionAsync } from '../../core/lrFinderRecord';
import { splitDataset } from '../../core/data/splitDataset';
import { scheduledLrSteps, type LrStep } from '../../core/portable/lrSteps';
import {
  nextUnfreezeEpoch,
  planLeavesFromTree,
  unfreezeTimeline,
  type UnfreezeTimeline,
} from '../../core/portable/unfreezePlan';
import { currentStates, layerOrder } from '../experiments/layerEdits';
import { defaultCutPath } from '../../core/portable/cutPoints';

export interface RunInsights {
  /** Smallest number of training images in a class, as the run split the dataset. */
  minImagesPerClass: number;
  /**
   * Parameters of pre-trained layers the run trains (with gradual unfreezing: once every block is
   * unfrozen); 0 when the base model could not be read.
   */
  trainablePretrainedParams: number;
  cutAt?: string;
  /** The unfreezing blocks and epochs, when the run uses gradual unfreezing and the model was read. */
  timeline?: UnfreezeTimeline;
}

const gradualOf = (record: RunRecord): GradualUnfreezingConfig | undefined => {
  const gu = record.config?.training?.gradualUnfreezing;
  return gu && typeof gu === 'object' ? gu : undefined;
};

/**
 * Per-class training counts from the dataset as it is now, split with the run's settings — when
 * `mayScan` allows its folder (the host: inside the workspace; run.json may name "/") and the bounded
 * scan completes; else the run's own totals.
 */
async function minImagesPerClass(
  record: RunRecord,
  mayScan: (dir: string) => Promise<boolean>,
): Promise<number> {
  const fallback = Math.floor((record.counts?.train ?? 0) / Math.max(1, record.classNames?.length ?? 1));
  try {
    const dataset = record.config.dataset;
    if (typeof dataset.path !== 'string' || !(await mayScan(dataset.path))) return fallback;
    const scan = await scanDataset(dataset.path, { ...VIEW_SCAN_LIMITS, partial: false });
    const split = splitDataset(scan, dataset.validationSplit, dataset.seed);
    const counts = new Map<number, number>();
    for (const image of split.train) counts.set(image.classIndex, (counts.get(image.classIndex) ?? 0) + 1);
    const values = scan.classNames.map((_, c) => counts.get(c) ?? 0);
    return values.length > 0 ? Math.min(...values) : fallback;
  } catch {
    // The dataset moved or is gone: the run's own totals are the next best thing.
    return fallback;
  }
}

export async function loadRunInsights(
  record: RunRecord,
  describe?: (modelJsonPath: string) => Promise<LayerNode[]>,
  mayScan: (datasetDir: string) => Promise<boolean> = async () => true,
): Promise<RunInsights> {
  const insights: RunInsights = {
    minImagesPerClass: await minImagesPerClass(record, mayScan),
    trainablePretrainedParams: 0,
    cutAt: record.config?.head?.cutAt,
  };
  let tree: LayerNode[] | undefined;
  try {
    tree = describe ? await describe(record.config.baseModel) : undefined;
  } catch {
    tree = undefined;
  }
  if (!tree) return insights;
  const config = record.config;
  const states = Object.fromEntries(
    currentStates({ freezeUpTo: config.freezeUpTo, layers: config.layers ?? {} }, layerOrder(tree)),
  );
  const cutAt = config.head?.cutAt ?? defaultCutPath(tree);
  const leaves = planLeavesFromTree(tree, states, cutAt, config.training);
  const params = new Map<string, number>();
  const visit = (nodes: LayerNode[]): void =>
    nodes.forEach((n) => (n.children ? visit(n.children) : params.set(n.path, n.trainableParams)));
  visit(tree);
  insights.cutAt = cutAt;
  insights.trainablePretrainedParams = leaves
    .filter((l) => l.state === 'trainable')
    .reduce((sum, l) => sum + (params.get(l.path) ?? 0), 0);
  const gu = gradualOf(record);
  if (gu) insights.timeline = unfreezeTimeline(leaves, gu, record.epochsPlanned ?? config.training.epochs);
  return insights;
}

/**
 * The learning-rate finder's suggestion for the run's experiment, when the finder ran on the same model and
 * data (`.finetune/lr-finder/`, beside the runs folder).
 */
export async function lrSuggestionForRun(runDir: string, record: RunRecord): Promise<number | undefined> {
  try {
    return await readLrFinderSuggestionAsync(
      lrFinderDirBeside(path.dirname(runDir)),
      record.experimentPath,
      record.config,
      record.datasetFingerprint,
    );
  } catch {
    return undefined;
  }
}

/** The advice for the run's curves so far (none when the config snapshot is too old to judge). */
export function adviceForRun(
  record: RunRecord,
  metrics: EpochMetrics[],
  insights: RunInsights,
  lrSuggestion?: number,
): Advice[] {
  const finite = metrics.filter((m) =>
    [m.loss, m.accuracy, m.val_loss, m.val_accuracy].every(
      (v) => typeof v === 'number' && Number.isFinite(v),
    ),
  );
  try {
    return adviseFromCurves({
      metrics: finite,
      config: record.config,
      minImagesPerClass: insights.minImagesPerClass,
      trainablePretrainedParams: insights.trainablePretrainedParams,
      cutAt: insights.cutAt,
      ...(Array.isArray(record.classNames) ? { numClasses: record.classNames.length } : {}),
      ...(lrSuggestion !== undefined ? { lrSuggestion } : {}),
    });
  } catch {
    return [];
  }
}

/** The phase as the trainer announced it, with the next block from the plan when known. */
export function unfreezingFromEvent(
  event: PhaseEvent,
  record: RunRecord | undefined,
  timeline?: UnfreezeTimeline,
): UnfreezingInfo {
  const gu = record ? gradualOf(record) : undefined;
  const nextEpoch = gu ? nextUnfreezeEpoch(gu, event.phase, event.phases) : undefined;
  const epochs = record?.epochsPlanned;
  return {
    phase: event.phase,
    phases: event.phases,
    since: event.epoch,
    trainable: event.trainable.slice(),
    ...(nextEpoch !== undefined && (epochs === undefined || nextEpoch <= epochs)
      ? { next: { epoch: nextEpoch, ...(timeline ? { layers: timeline.blocks[event.phase] ?? [] } : {}) } }
      : {}),
  };
}

/** The phase of the last completed epoch (metrics.jsonl's `phase`), for a run read back from disk. */
export function unfreezingFromMetrics(
  record: RunRecord,
  metrics: EpochMetrics[],
  timeline?: UnfreezeTimeline,
): UnfreezingInfo | undefined {
  const gu = gradualOf(record);
  const last = [...metrics].reverse().find((m) => typeof m.phase === 'number');
  if (!gu || !last || last.phase === undefined) return undefined;
  const phase = last.phase;
  const since = metrics.find((m) => m.phase === phase)?.epoch ?? last.epoch;
  if (!timeline) return { phase, since };
  const phases = timeline.blocks.length;
  const nextEpoch = nextUnfreezeEpoch(gu, phase, phases);
  return {
    phase,
    phases,
    since,
    trainable: timeline.blocks.slice(0, phase).flat(),
    ...(nextEpoch !== undefined && nextEpoch <= record.epochsPlanned
      ? { next: { epoch: nextEpoch, layers: timeline.blocks[phase] ?? [] } }
      : {}),
  };
}

/** The per-batch learning rates of the epochs done, recomputed from the schedule (cosine, one-cycle). */
export function lrStepsFromDisk(record: RunRecord, metrics: EpochMetrics[]): LrStep[] {
  const training = record.config?.training;
  if (!training?.schedule || !(training.batchSize > 0) || !(record.counts?.train > 0)) return [];
  const epochsDone = metrics.length > 0 ? metrics[metrics.length - 1].epoch : 0;
  return scheduledLrSteps(training, epochsDone, Math.ceil(record.counts.train / training.batchSize));
}
