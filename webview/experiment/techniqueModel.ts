/**
 * What the Techniques section draws, from the panel state: the learning-rate curve of the schedule, the
 * gradual-unfreezing plan and the discriminative multipliers. The engine's own pure functions compute
 * them (scheduleCurve, unfreezeTimeline, layerMultipliers), so the panel shows what the run will do.
 * No DOM here: unit-tested from Node.
 */
import {
  DEFAULTS,
  DEFAULT_EARLY_STOPPING,
  DEFAULT_GRADUAL_UNFREEZING,
  DEFAULT_SCHEDULE,
  type DiscriminativeLrConfig,
  type GradualUnfreezingConfig,
  type MonitorName,
  type ScheduleConfig,
} from '../../src/protocol/experimentConfig';
import { EXPERIMENT_SCHEMA } from '../../src/protocol/experimentSchema';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import { layerMultipliers, unfreezeBlocks, type PlanLeaf } from '../../src/core/portable/layerGroups';
import { plateauMonitor, scheduleCurve } from '../../src/core/portable/lrSchedule';
import {
  planLeavesFromTree,
  unfreezeTimeline,
  type UnfreezeTimeline,
} from '../../src/core/portable/unfreezePlan';
import { checkValue, schemaAt, valueAt, type JsonPath } from './fieldRules';

/** The training settings the drawings need. */
export interface TechniqueSettings {
  epochs: number;
  learningRate: number;
  fineTuneLearningRateMultiplier: number;
  schedule: ScheduleConfig;
  /** What reduce-on-plateau watches (the run's monitored metric). */
  plateauMonitor: MonitorName;
  gradualUnfreezing: GradualUnfreezingConfig | false;
  discriminativeLr: DiscriminativeLrConfig;
}

/** A value of the file when the schema accepts it, else the fallback (the file may be half-typed). */
function fileValue<T>(state: ExperimentPanelState, path: JsonPath, fallback: T): T {
  const value = valueAt(state.document, path);
  const schema = schemaAt(EXPERIMENT_SCHEMA, path);
  return value !== undefined && schema && checkValue(schema, value) === undefined ? (value as T) : fallback;
}

/**
 * The resolved settings when the file is valid; otherwise the file's valid values over the defaults, so
 * the drawings follow what is typed even while another field holds an error.
 */
export function techniqueSettings(state: ExperimentPanelState): TechniqueSettings {
  const t = state.config?.training;
  if (t) {
    return {
      epochs: t.epochs,
      learningRate: t.learningRate,
      fineTuneLearningRateMultiplier: t.fineTuneLearningRateMultiplier,
      schedule: t.schedule,
      plateauMonitor: plateauMonitor(t),
      gradualUnfreezing: t.gradualUnfreezing,
      discriminativeLr: t.discriminativeLr,
    };
  }
  const d = DEFAULTS.training;
  const schedule = { ...DEFAULT_SCHEDULE };
  for (const key of Object.keys(schedule) as (keyof ScheduleConfig)[]) {
    (schedule as Record<string, unknown>)[key] = fileValue(
      state,
      ['training', 'schedule', key],
      schedule[key],
    );
  }
  const gu = valueAt(state.document, ['training', 'gradualUnfreezing']);
  const gradualUnfreezing: GradualUnfreezingConfig | false =
    typeof gu === 'object' && gu !== null && !Array.isArray(gu)
      ? {
          headEpochs: fileValue(state, ['training', 'gradualUnfreezing', 'headEpochs'], 2),
          everyEpochs: fileValue(state, ['training', 'gradualUnfreezing', 'everyEpochs'], 2),
          blocks: fileValue(
            state,
            ['training', 'gradualUnfreezing', 'blocks'],
            DEFAULT_GRADUAL_UNFREEZING.blocks,
          ),
        }
      : false;
  const es = valueAt(state.document, ['training', 'earlyStopping']);
  const monitor: MonitorName =
    es === false
      ? 'val_loss'
      : fileValue(state, ['training', 'earlyStopping', 'monitor'], DEFAULT_EARLY_STOPPING.monitor);
  return {
    epochs: fileValue(state, ['training', 'epochs'], d.epochs),
    learningRate: fileValue(state, ['training', 'learningRate'], d.learningRate),
    fineTuneLearningRateMultiplier: fileValue(
      state,
      ['training', 'fineTuneLearningRateMultiplier'],
      d.fineTuneLearningRateMultiplier,
    ),
    schedule,
    plateauMonitor: monitor,
    gradualUnfreezing,
    discriminativeLr: fileValue(state, ['training', 'discriminativeLr'], d.discriminativeLr),
  };
}

export interface LrCurve {
  points: { x: number; y: number }[];
  /** Per-epoch schedules are drawn as steps, per-batch ones as smooth curves. */
  stepped: boolean;
  maxLr: number;
  epochs: number;
  /** One sentence: where the rate starts, peaks and ends. */
  summary: string;
}

const CURVE_SAMPLES = 240;

/** 0.001 and 0.0003 as decimals, smaller rates as 2.5e-6. */
export const formatRate = (lr: number): string =>
  lr === 0 ? '0' : Math.abs(lr) >= 1e-4 ? String(+lr.toPrecision(3)) : lr.toExponential(1);

export function lrCurve(settings: TechniqueSettings): LrCurve {
  const { schedule, learningRate, epochs } = settings;
  const smooth = schedule.type === 'cosine' || schedule.type === 'onecycle';
  const perEpoch = smooth ? Math.max(1, Math.ceil(CURVE_SAMPLES / Math.max(1, epochs))) : 1;
  const raw = scheduleCurve(schedule, learningRate, epochs, perEpoch).map((p) => ({
    x: p.progress,
    y: p.lr,
  }));
  // A per-epoch rate holds for the whole epoch: draw it as a step ending where the next one starts.
  const points = smooth
    ? raw
    : raw.slice(0, -1).flatMap((p) => [
        { x: p.x, y: p.y },
        { x: p.x + 1, y: p.y },
      ]);
  const values = points.map((p) => p.y);
  const maxLr = Math.max(...values, 0);
  const first = values[0] ?? learningRate;
  const last = values[values.length - 1] ?? learningRate;
  const peakAt = points[values.indexOf(maxLr)]?.x ?? 0;
  let summary: string;
  switch (schedule.type) {
    case 'constant':
      summary = `${formatRate(learningRate)} for all ${epochs} epochs.`;
      break;
    case 'step':
      summary = `Starts at ${formatRate(first)}, × ${schedule.gamma} every ${schedule.stepEpochs} epochs, ends at ${formatRate(last)}.`;
      break;
    case 'plateau':
      summary = `Starts at ${formatRate(learningRate)}; × ${schedule.factor} after ${schedule.patience} epochs without ${settings.plateauMonitor} improvement (not below ${formatRate(schedule.minLearningRate)}) — when depends on the run.`;
      break;
    default:
      summary = `Starts at ${formatRate(first)}, peaks at ${formatRate(maxLr)} (epoch ${+peakAt.toFixed(1)}), ends at ${formatRate(last)}; changes every batch.`;
  }
  return { points, stepped: !smooth, maxLr, epochs, summary };
}

export type UnfreezePlanView =
  | { kind: 'noLayers' }
  | { kind: 'nothingTrainable' }
  | { kind: 'plan'; timeline: UnfreezeTimeline; epochs: number; unmatched: string[] };

/** The leaves that survive the head cut, with their state (empty when the model was not read). */
export function planLeaves(state: ExperimentPanelState): PlanLeaf[] {
  return state.layers
    ? planLeavesFromTree(state.layers, state.layerStates, state.cutAt, state.config?.training)
    : [];
}

export function unfreezePlan(state: ExperimentPanelState, settings: TechniqueSettings): UnfreezePlanView {
  if (!state.layers) return { kind: 'noLayers' };
  const gu = settings.gradualUnfreezing === false ? DEFAULT_GRADUAL_UNFREEZING : settings.gradualUnfreezing;
  const leaves = planLeaves(state);
  const timeline = unfreezeTimeline(leaves, gu, settings.epochs);
  if (timeline.blocks.length === 0 && gu.blocks === 'auto') return { kind: 'nothingTrainable' };
  const trainable = leaves.filter((l) => l.state === 'trainable').map((l) => l.path);
  const unmatched =
    gu.blocks === 'auto'
      ? []
      : gu.blocks.filter((b) => !trainable.some((p) => p === b || p.startsWith(`${b}/`)));
  return { kind: 'plan', timeline, epochs: settings.epochs, unmatched };
}

export interface MultiplierRow {
  /** The block's layers, bottom block first. */
  layers: string[];
  multiplier: number;
}

/**
 * The learning-rate multiplier of each block of trainable pre-trained layers (bottom first), relative to
 * the head's rate; blocks whose layers share one value are merged.
 */
export function multiplierRows(state: ExperimentPanelState, settings: TechniqueSettings): MultiplierRow[] {
  const leaves = planLeaves(state);
  const multipliers = layerMultipliers(
    leaves,
    settings.discriminativeLr,
    settings.fineTuneLearningRateMultiplier,
  );
  const blocks = unfreezeBlocks(leaves, { headEpochs: 0, everyEpochs: 1, blocks: 'auto' }).reverse();
  const rows: MultiplierRow[] = [];
  for (const block of blocks) {
    for (const path of block) {
      const multiplier = multipliers.get(path) ?? settings.fineTuneLearningRateMultiplier;
      const last = rows[rows.length - 1];
      if (last && last.multiplier === multiplier) last.layers.push(path);
      else rows.push({ layers: [path], multiplier });
    }
  }
  return rows;
}
