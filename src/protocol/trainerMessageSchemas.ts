/**
 * What each IPC message between the host (or any parent) and the trainer looks like: one description per
 * message (messageSchema.ts), the source of both guards (messageGuards.ts) and the fuzz cases of
 * test/webview/security.test.ts. IPC is JSON, so a NaN the trainer sends arrives as null.
 * The trainer's payloads (events, layer trees, results) are its own, checked here only for their kind;
 * the parent's `start` is checked field by field, as the trainer acts on it.
 */
import { BACKEND_CHOICES } from './experimentConfig';
import { BOOLEAN, integer, type JsonSchema, type Shapes } from './messageSchema';
import {
  MAX_MEMORY_BUDGET_MIB,
  MAX_TRAINER_THREADS,
  type HostToTrainer,
  type PipelineSettings,
  type TrainerToHost,
} from './trainerMessages';

const STRING: JsonSchema = { type: 'string' };
const OBJECT: JsonSchema = { type: 'object' };
const ARRAY: JsonSchema = { type: 'array' };
/** A number the trainer computed; null when it was NaN or infinite (JSON cannot carry those). */
const COMPUTED_NUMBER: JsonSchema = { type: ['number', 'null'] };
/** The WebGPU adapter the trainer picked (gpuAdapter.ts); the host only shows it, as text. */
const GPU_ADAPTER_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['vendor', 'architecture', 'device', 'description', 'dawnBackend', 'featureLevel', 'software'],
  properties: {
    vendor: STRING,
    architecture: STRING,
    device: STRING,
    description: STRING,
    dawnBackend: STRING,
    featureLevel: { enum: ['core', 'compatibility'] },
    software: BOOLEAN,
  },
};

export const PIPELINE_SETTINGS: Shapes<{ kind: 'pipeline' } & PipelineSettings, 'kind'>['pipeline'] = {
  optional: {
    memoryBudgetMiB: { type: 'number', exclusiveMinimum: 0, maximum: MAX_MEMORY_BUDGET_MIB },
    activationCache: BOOLEAN,
    trainerThreads: integer(1, MAX_TRAINER_THREADS),
  },
};

export const PIPELINE_SETTINGS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: PIPELINE_SETTINGS.optional,
};

export const HOST_TO_TRAINER_MESSAGES: Shapes<HostToTrainer> = {
  start: {
    fields: { experimentPath: STRING, runsDir: STRING },
    optional: {
      overrides: {
        type: 'object',
        properties: { epochs: integer(1, 1_000_000), backend: { enum: [...BACKEND_CHOICES] } },
      },
      resume: STRING,
      pipeline: PIPELINE_SETTINGS_SCHEMA,
    },
  },
  stop: {},
};

export const TRAINER_TO_HOST_MESSAGES: Shapes<TrainerToHost> = {
  ready: {
    fields: {
      // Any backend name: the host shows what the trainer reports (a newer trainer may know more).
      backend: STRING,
      available: { type: 'array', items: STRING },
      pid: { type: 'integer' },
    },
    optional: { adapter: GPU_ADAPTER_SCHEMA },
  },
  event: { fields: { event: OBJECT } },
  done: {
    fields: { runId: STRING, runDir: STRING, status: { enum: ['completed', 'stopped', 'failed'] } },
    optional: { error: STRING },
  },
  failed: { fields: { error: STRING } },
  layers: { fields: { layers: ARRAY, inputShape: ARRAY } },
  augmentationPreview: { fields: { images: ARRAY } },
  lrFinderProgress: {
    fields: {
      step: { type: 'integer' },
      steps: { type: 'integer' },
      lr: COMPUTED_NUMBER,
      loss: COMPUTED_NUMBER,
    },
  },
  lrFinderResult: { fields: { result: OBJECT } },
  // Data insight (dataInsight.ts); the host acts only on files of the report, inside the dataset folder.
  dataInsightProgress: { fields: { progress: OBJECT } },
  dataInsightResult: { fields: { report: OBJECT } },
  gradCamResult: { fields: { result: OBJECT } },
};
