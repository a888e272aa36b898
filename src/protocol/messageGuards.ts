/**
 * The guards every message passes before the host or the trainer acts on it, compiled with ajv from the
 * descriptions (webviewMessageSchemas.ts, trainerMessageSchemas.ts, sweepEventSchemas.ts) — one schema
 * per message type, each compiled once, when its channel first receives a message. A guard never throws: anything that is not
 * an object of a known type with fields as described is `false`.
 *
 * The host and the trainer import this; the webviews do not (they trust the host, and ajv would only
 * weigh down their bundles — the lint rules keep it out).
 */
import Ajv, { type ValidateFunction } from 'ajv';
import type { JsonSchema } from './messageSchema';
import { variantSchemas } from './messageSchema';
import { SWEEP_EVENTS } from './sweepEventSchemas';
import type { SweepEvent } from './sweepEvents';
import type { HostToTrainer, PipelineSettings, TrainerToHost } from './trainerMessages';
import {
  HOST_TO_TRAINER_MESSAGES,
  PIPELINE_SETTINGS_SCHEMA,
  TRAINER_TO_HOST_MESSAGES,
} from './trainerMessageSchemas';
import type {
  ComparePanelToHost,
  ExperimentPanelToHost,
  LayerEdit,
  LrFinderPanelToHost,
  TrainingPanelToHost,
} from './webviewMessages';
import {
  COMPARE_PANEL_MESSAGES,
  EXPERIMENT_PANEL_MESSAGES,
  LAYER_EDITS,
  LAYER_EDIT_SCHEMA,
  LR_FINDER_PANEL_MESSAGES,
  TRAINING_PANEL_MESSAGES,
  USABLE_LEARNING_RATE,
} from './webviewMessageSchemas';

let ajv: Ajv | undefined;
/**
 * strict: a typo in a description is an error, not a silently ignored keyword; strictNumbers: NaN and
 * Infinity are not numbers. maxLength counts characters (code points), as JSON Schema does.
 */
const compile = (schema: JsonSchema): ValidateFunction =>
  (ajv ??= new Ajv({ strict: true, strictNumbers: true })).compile(schema);

/** A value's own string property `key`, if it has one. */
function tagOf(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined;
  const tag = (value as Record<string, unknown>)[key];
  return typeof tag === 'string' ? tag : undefined;
}

/** The guard of a channel: the value's tag picks the one schema it must satisfy. */
function channelGuard<T>(
  tag: string,
  shapes: Parameters<typeof variantSchemas>[1],
): (value: unknown) => value is T {
  const schemas = variantSchemas(tag, shapes);
  let validators: Map<string, ValidateFunction> | undefined;
  return (value: unknown): value is T => {
    const kind = tagOf(value, tag);
    if (kind === undefined || !Object.prototype.hasOwnProperty.call(schemas, kind)) return false;
    validators ??= new Map(Object.entries(schemas).map(([k, schema]) => [k, compile(schema)]));
    return validators.get(kind)!(value);
  };
}

/** The guard of one schema (compiled on first use). */
function schemaGuard<T>(schema: JsonSchema): (value: unknown) => value is T {
  let validate: ValidateFunction | undefined;
  return (value: unknown): value is T => (validate ??= compile(schema))(value);
}

export const isTrainingPanelToHost = channelGuard<TrainingPanelToHost>('type', TRAINING_PANEL_MESSAGES);
export const isExperimentPanelToHost = channelGuard<ExperimentPanelToHost>('type', EXPERIMENT_PANEL_MESSAGES);
export const isComparePanelToHost = channelGuard<ComparePanelToHost>('type', COMPARE_PANEL_MESSAGES);
export const isLrFinderPanelToHost = channelGuard<LrFinderPanelToHost>('type', LR_FINDER_PANEL_MESSAGES);
export const isLayerEdit = schemaGuard<LayerEdit>(LAYER_EDIT_SCHEMA);
export const isHostToTrainer = channelGuard<HostToTrainer>('type', HOST_TO_TRAINER_MESSAGES);
export const isTrainerToHost = channelGuard<TrainerToHost>('type', TRAINER_TO_HOST_MESSAGES);
export const isSweepEvent = channelGuard<SweepEvent>('type', SWEEP_EVENTS);
export const isPipelineSettings = schemaGuard<PipelineSettings>(PIPELINE_SETTINGS_SCHEMA);
export const isUsableLearningRate = schemaGuard<number>(USABLE_LEARNING_RATE);

/** Every channel with its descriptions and guard: what the fuzz test derives its cases from. */
export const MESSAGE_CHANNELS = {
  trainingPanel: {
    tag: 'type',
    shapes: TRAINING_PANEL_MESSAGES,
    guard: isTrainingPanelToHost,
    fromWebview: true,
  },
  experimentPanel: {
    tag: 'type',
    shapes: EXPERIMENT_PANEL_MESSAGES,
    guard: isExperimentPanelToHost,
    fromWebview: true,
  },
  comparePanel: {
    tag: 'type',
    shapes: COMPARE_PANEL_MESSAGES,
    guard: isComparePanelToHost,
    fromWebview: true,
  },
  lrFinderPanel: {
    tag: 'type',
    shapes: LR_FINDER_PANEL_MESSAGES,
    guard: isLrFinderPanelToHost,
    fromWebview: true,
  },
  layerEdit: { tag: 'kind', shapes: LAYER_EDITS, guard: isLayerEdit, fromWebview: true },
  hostToTrainer: {
    tag: 'type',
    shapes: HOST_TO_TRAINER_MESSAGES,
    guard: isHostToTrainer,
    fromWebview: false,
  },
  trainerToHost: {
    tag: 'type',
    shapes: TRAINER_TO_HOST_MESSAGES,
    guard: isTrainerToHost,
    fromWebview: false,
  },
  sweepToHost: { tag: 'type', shapes: SWEEP_EVENTS, guard: isSweepEvent, fromWebview: false },
} as const;
