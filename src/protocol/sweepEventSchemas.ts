/**
 * What each line `finetune sweep --json` prints looks like (sweepEvents.ts): one description per event
 * (messageSchema.ts), the source of the host's guard (messageGuards.ts) and of the fuzz cases
 * (test/unit/messageGuards.test.ts), like the trainer's messages. The controller is our own CLI, so the
 * payloads are checked for what the host reads from them (the sweep's state in `sweepEnd`: its counts,
 * trials, best and metric), not field by field.
 */
import type { JsonSchema, Shapes } from './messageSchema';
import { SWEEP_METRICS, TRIAL_STATES } from './sweepConfig';
import type { SweepEvent } from './sweepEvents';

const STRING: JsonSchema = { type: 'string' };
const OBJECT: JsonSchema = { type: 'object' };
const NUMBER: JsonSchema = { type: 'number' };
/** A metric value read from a run's metrics.jsonl; null where the trainer wrote NaN. */
const METRIC_VALUE: JsonSchema = { type: ['number', 'null'] };
const COUNT: JsonSchema = { type: 'integer', minimum: 0 };
const TRIAL: JsonSchema = { type: 'integer', minimum: 0 };
const EXECUTOR: JsonSchema = { enum: ['local', 'slurm'] };
const SWEEP_STATUS: JsonSchema = { enum: ['running', 'completed', 'stopped', 'failed', 'interrupted'] };
const TRIAL_STATE: JsonSchema = { enum: [...TRIAL_STATES] };
const METRIC: JsonSchema = {
  type: 'object',
  required: ['name', 'goal'],
  properties: { name: { enum: [...SWEEP_METRICS] }, goal: { enum: ['maximize', 'minimize'] } },
};
/** A trial's values by dotted key: any JSON (lists and objects too), shown as text. */
const PARAMS: JsonSchema = OBJECT;

/** The sweep's state.json as the host reads it when the sweep ends (sweepSessions.ts' summary). */
const SWEEP_STATE: JsonSchema = {
  type: 'object',
  required: ['id', 'name', 'status', 'metric', 'trials', 'counts'],
  properties: {
    id: STRING,
    name: STRING,
    status: SWEEP_STATUS,
    metric: METRIC,
    trials: { type: 'array', items: OBJECT },
    counts: {
      type: 'object',
      required: [...TRIAL_STATES],
      properties: Object.fromEntries(TRIAL_STATES.map((state) => [state, COUNT])),
    },
    best: {
      type: 'object',
      required: ['trial', 'score', 'params'],
      properties: { trial: TRIAL, score: NUMBER, params: PARAMS },
    },
    endReason: STRING,
  },
};

export const SWEEP_EVENTS: Shapes<SweepEvent> = {
  sweepStart: {
    fields: {
      sweepId: STRING,
      sweepDir: STRING,
      name: STRING,
      trials: COUNT,
      parallel: COUNT,
      executor: EXECUTOR,
      metric: METRIC,
    },
    optional: {
      resumed: { type: 'object', required: ['finished'], properties: { finished: COUNT } },
      jobId: STRING,
    },
  },
  trialStart: { fields: { trial: TRIAL, params: PARAMS }, optional: { jobId: STRING, resumedRun: STRING } },
  trialRun: { fields: { trial: TRIAL, runId: STRING, runDir: STRING } },
  trialEpoch: { fields: { trial: TRIAL, epoch: COUNT }, optional: { value: METRIC_VALUE } },
  trialPruned: { fields: { trial: TRIAL, rung: COUNT, reason: STRING } },
  trialEnd: {
    fields: { trial: TRIAL, state: TRIAL_STATE },
    optional: { score: NUMBER, epochs: COUNT, endReason: STRING, error: STRING },
  },
  best: { fields: { trial: TRIAL, score: NUMBER, params: PARAMS }, optional: { runId: STRING } },
  log: { fields: { level: { enum: ['info', 'warn'] }, message: STRING } },
  sweepEnd: { fields: { status: SWEEP_STATUS, state: SWEEP_STATE } },
};
