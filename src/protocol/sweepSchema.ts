/**
 * JSON Schema (draft-07) of the sweep file (`*.sweep.json`): ajv validates with it (strict mode) and VS Code
 * shows it as hovers and completions through the `jsonValidation` contribution (the build writes
 * schemas/sweep.schema.json). What a schema cannot say — a parameter is either `values` or `min`/`max`, the
 * dotted path must be an experiment key and each value valid for that key, the grid must fit maxTrials —
 * is checked by the sweep loader (src/core/sweep/loadSweep.ts), with line:col like every other problem.
 */
import type { JsonSchema } from './experimentSchema';
import {
  DEFAULT_RANDOM_TRIALS,
  DISTRIBUTIONS,
  SWEEP_METHODS,
  SWEEP_METRICS,
  type SweepFile,
} from './sweepConfig';

const parameter: JsonSchema = {
  type: 'object',
  description:
    'A list of values (`{ "values": [0.1, 0.3] }`), or a range (`{ "min": 0.0001, "max": 0.01, "distribution": "log_uniform" }`).',
  properties: {
    values: {
      type: 'array',
      minItems: 1,
      description: 'The values to try; each must be valid for this key of the experiment file.',
    },
    min: { type: 'number', description: 'Lower end of the range (included).' },
    max: { type: 'number', description: 'Upper end of the range (included).' },
    distribution: {
      type: 'string',
      enum: [...DISTRIBUTIONS],
      default: 'uniform',
      description:
        'uniform: evenly in [min, max] · log_uniform: evenly in log space (learning rates, L2) · int_uniform: whole numbers min…max.',
    },
  },
  additionalProperties: false,
};

const executorProperties = {
  type: {
    type: 'string',
    enum: ['local', 'slurm'],
    description: 'local: trainer processes on this machine · slurm: one sbatch array job, a task per trial.',
  },
  partition: {
    type: 'string',
    minLength: 1,
    description: 'Slurm partition (`--partition`); default: the cluster’s.',
  },
  time: {
    type: 'string',
    minLength: 1,
    examples: ['01:00:00'],
    description: 'Slurm time limit per trial (`--time`), e.g. "01:00:00" or "30".',
  },
  cpusPerTask: { type: 'integer', minimum: 1, description: 'CPUs per trial (`--cpus-per-task`).' },
  gpus: {
    anyOf: [
      { type: 'integer', minimum: 0 },
      { type: 'string', minLength: 1 },
    ],
    description: 'GPUs per trial (`--gpus`): a count, or "type:count" such as "a100:1".',
  },
  sbatchArgs: {
    type: 'array',
    items: { type: 'string' },
    examples: [['--account=mylab', '--mem=8G']],
    description: 'More arguments for sbatch, one per item.',
  },
  command: {
    type: 'string',
    minLength: 1,
    default: 'finetune',
    description:
      'The command a Slurm task runs a trial with (`<command> train …`); default `finetune` on the compute node’s PATH. E.g. "npx finetune" or "node /opt/fine-tune-studio/bin/finetune.js".',
  },
};

const topLevelProperties = {
  $schema: { type: 'string', description: 'Schema of this file (for editors).' },
  name: {
    type: 'string',
    minLength: 1,
    examples: ['digits-dropout-lr'],
    description: 'Name of the sweep, shown in the Runs view; trial runs are named after it.',
  },
  description: { type: 'string', description: 'Free text: what this sweep looks for.' },
  experiment: {
    type: 'string',
    minLength: 1,
    examples: ['digits-frozen-conv.finetune.json'],
    description: 'The experiment file every trial starts from, relative to this file.',
  },
  method: {
    type: 'string',
    enum: [...SWEEP_METHODS],
    description:
      'grid: every combination of the `values` lists · random: maxTrials draws, reproducible from `seed`.',
  },
  metric: {
    type: 'object',
    properties: {
      name: {
        type: 'string',
        enum: [...SWEEP_METRICS],
        default: 'val_accuracy',
        description: 'Metric of each trial’s best epoch that ranks the trials.',
      },
      goal: {
        type: 'string',
        enum: ['maximize', 'minimize'],
        description: 'Default: minimize for losses, maximize for accuracies.',
      },
    },
    additionalProperties: false,
    default: { name: 'val_accuracy', goal: 'maximize' },
    description: 'What makes a trial the best.',
  },
  parameters: {
    type: 'object',
    additionalProperties: parameter,
    examples: [{ 'head.dropout': { values: [0.1, 0.3, 0.5] } }],
    description:
      'Dotted keys of the experiment file (`training.learningRate`, `head.dropout`, `freezeUpTo`, `layers.<layer path>`) → values or a range.',
  },
  maxTrials: {
    type: 'integer',
    minimum: 1,
    description: `random: the number of trials (default ${DEFAULT_RANDOM_TRIALS}) · grid: the largest grid allowed (default: the grid's size).`,
  },
  parallel: {
    type: 'integer',
    minimum: 1,
    description:
      'Trials at once. Default: local — the core count for the CPU backends (wasm, cpu), 1 for a GPU or native backend; slurm — all of them (the cluster schedules).',
  },
  seed: {
    type: 'integer',
    default: 1,
    description: 'Seed of the random draws: the same seed, the same trials.',
  },
  earlyTermination: {
    type: 'object',
    properties: {
      type: { type: 'string', const: 'asha', description: 'Asynchronous successive halving.' },
      minEpochs: {
        type: 'integer',
        minimum: 1,
        default: 2,
        description: 'First rung: every trial trains at least this many epochs.',
      },
      reductionFactor: {
        type: 'integer',
        minimum: 2,
        default: 3,
        description:
          'η: rungs at minEpochs·η^k epochs; a trial goes on past a rung only when it is in the best 1/η of the trials that reached it.',
      },
    },
    required: ['type'],
    additionalProperties: false,
    description:
      'Stop unpromising trials early (ASHA). The stopped trial keeps its model and ends "stopped".',
  },
  executor: {
    type: 'object',
    properties: executorProperties,
    required: ['type'],
    additionalProperties: false,
    default: { type: 'local' },
    description: 'Where trials run: { "type": "local" } or { "type": "slurm", "partition": …, "time": … }.',
  },
} satisfies Record<keyof SweepFile, JsonSchema>;

export const SWEEP_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Fine-Tune Studio sweep',
  description:
    'A hyperparameter / freeze-pattern search: many runs of one experiment with different values, ranked by a metric.',
  type: 'object',
  properties: topLevelProperties,
  required: ['name', 'experiment', 'method', 'parameters'],
  additionalProperties: false,
};
