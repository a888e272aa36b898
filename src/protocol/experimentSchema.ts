/**
 * JSON Schema (draft-07) of the experiment file (`*.finetune.json`).
 *
 * One schema serves two readers: the engine validates with ajv (strict mode, so every keyword here must be
 * standard), and VS Code shows `description` as hover text and offers `default`/`examples` as completions
 * through the extension's `jsonValidation` contribution. It is therefore a plain, self-contained JSON value
 * (no `$ref` to other files, no functions); defaults are copied from DEFAULTS so the two cannot drift.
 *
 * `additionalProperties: false` makes unknown keys visible; the loader turns those into warnings rather
 * than errors, so a typo is reported but never blocks a run.
 */
import {
  BACKEND_CHOICES,
  DEFAULTS,
  DEFAULT_EARLY_STOPPING,
  LAYER_STATES,
  type AugmentationConfig,
  type DatasetConfig,
  type EarlyStoppingConfig,
  type GradualUnfreezingConfig,
  type ScheduleConfig,
  DEFAULT_GRADUAL_UNFREEZING,
  DEFAULT_SCHEDULE,
  type ExperimentConfig,
  type HeadConfig,
  type MonitorName,
  type OptimizerName,
  type RegularizationConfig,
  type TrainingConfig,
} from './experimentConfig';

/** A JSON Schema node: plain JSON, keyed by keyword. */
export type JsonSchema = { [keyword: string]: unknown };

// Records (rather than arrays) so the compiler rejects a missing or extra name when the union changes.
const OPTIMIZERS: Record<OptimizerName, string> = {
  adam: 'Adam: adaptive learning rates; a good default.',
  sgd: 'Stochastic gradient descent with momentum.',
  rmsprop: 'RMSprop: adaptive learning rates with momentum.',
};
const MONITORS: Record<MonitorName, true> = {
  val_loss: true,
  val_accuracy: true,
  loss: true,
  accuracy: true,
};

/** Copies so that nobody editing the schema object can change DEFAULTS (or the reverse). */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const fraction = (description: string, defaultValue: number): JsonSchema => ({
  type: 'number',
  minimum: 0,
  exclusiveMaximum: 1,
  default: defaultValue,
  description,
});

const nonNegative = (description: string, defaultValue: number): JsonSchema => ({
  type: 'number',
  minimum: 0,
  default: defaultValue,
  description,
});

const seed = (description: string, defaultValue: number): JsonSchema => ({
  type: 'integer',
  default: defaultValue,
  description,
});

const datasetProperties = {
  path: {
    type: 'string',
    minLength: 1,
    examples: ['data/target'],
    description:
      'Dataset folder, relative to this file: `<path>/<class>/*.png|jpg|…`, or `<path>/train/<class>/…` and ' +
      '`<path>/val/<class>/…` (then that split is used instead of `validationSplit`). Classes are the sorted folder names.',
  },
  imageSize: {
    type: 'array',
    items: { type: 'integer', minimum: 1 },
    minItems: 2,
    maxItems: 2,
    examples: [[224, 224]],
    description:
      '[height, width] in pixels that every image is resized to. When omitted, the base model’s input size is used.',
  },
  pixelRange: {
    type: 'array',
    items: { type: 'number' },
    minItems: 2,
    maxItems: 2,
    default: copy(DEFAULTS.dataset.pixelRange),
    examples: [
      [0, 1],
      [-1, 1],
    ],
    description:
      'Pixels 0..255 are mapped linearly onto [lo, hi] (lo < hi) before the model sees them. Use the range the ' +
      'pre-trained model was trained with: MobileNet and Teachable Machine expect [-1, 1].',
  },
  validationSplit: fraction(
    'Fraction of each class held out for validation (stratified). Ignored when the dataset folder has train/ and val/. ' +
      '0 means no validation set, so overfitting cannot be seen.',
    DEFAULTS.dataset.validationSplit,
  ),
  seed: seed(
    'Seed of the train/validation split: the same seed gives the same split.',
    DEFAULTS.dataset.seed,
  ),
} satisfies Record<keyof DatasetConfig, JsonSchema>;

const headProperties = {
  cutAt: {
    type: 'string',
    minLength: 1,
    examples: ['flatten'],
    description:
      'Layer whose output feeds the new head (nested layers by path: `outer/inner/conv_pw_1`). ' +
      'Default: everything but the last Dense layer.',
  },
  hiddenUnits: {
    type: 'array',
    items: { type: 'integer', minimum: 1 },
    default: copy(DEFAULTS.head.hiddenUnits),
    examples: [[128]],
    description:
      'Sizes of the hidden Dense layers of the new head, before the softmax output. [] = a linear classifier.',
  },
  dropout: fraction(
    'Dropout rate before each Dense layer of the new head: the fraction of units dropped during training (0 = off).',
    DEFAULTS.head.dropout,
  ),
  batchNorm: {
    type: 'boolean',
    default: DEFAULTS.head.batchNorm,
    description: 'Add BatchNormalization after each hidden Dense layer of the new head.',
  },
} satisfies Record<keyof HeadConfig, JsonSchema>;

const regularizationProperties = {
  l1: nonNegative(
    'L1 penalty on the weights of trainable layers (pushes weights to exactly 0).',
    DEFAULTS.regularization.l1,
  ),
  l2: nonNegative(
    'L2 penalty (weight decay) on the weights of trainable layers.',
    DEFAULTS.regularization.l2,
  ),
  l2sp: nonNegative(
    'L2-SP: α of α·‖w − w_pretrained‖² on trainable pre-trained weights — keeps fine-tuned weights near the pre-trained ones.',
    DEFAULTS.regularization.l2sp,
  ),
} satisfies Record<keyof RegularizationConfig, JsonSchema>;

const augmentationProperties = {
  flipHorizontal: {
    type: 'boolean',
    default: DEFAULTS.augmentation.flipHorizontal,
    description:
      'Randomly mirror training images left–right (not for digits or text, where it changes the class).',
  },
  rotation: {
    type: 'number',
    minimum: 0,
    maximum: 180,
    default: DEFAULTS.augmentation.rotation,
    description: 'Maximum random rotation in degrees (uniform in ±rotation), 0..180.',
  },
  zoom: fraction(
    'Maximum random zoom as a fraction: the scale is uniform in 1 ± zoom.',
    DEFAULTS.augmentation.zoom,
  ),
  translate: fraction(
    'Maximum random shift as a fraction of the image width/height.',
    DEFAULTS.augmentation.translate,
  ),
  brightness: fraction(
    'Maximum random brightness shift as a fraction of the pixel range.',
    DEFAULTS.augmentation.brightness,
  ),
  contrast: fraction(
    'Maximum random contrast change as a fraction: the factor is uniform in 1 ± contrast.',
    DEFAULTS.augmentation.contrast,
  ),
} satisfies Record<keyof AugmentationConfig, JsonSchema>;

const earlyStoppingProperties = {
  monitor: {
    type: 'string',
    enum: Object.keys(MONITORS),
    default: DEFAULT_EARLY_STOPPING.monitor,
    description: 'Metric watched for improvement (val_* need a validation set).',
  },
  patience: {
    type: 'integer',
    minimum: 0,
    default: DEFAULT_EARLY_STOPPING.patience,
    description: 'Epochs without improvement before training stops.',
  },
  minDelta: nonNegative(
    'Smallest change of the monitored metric that counts as an improvement.',
    DEFAULT_EARLY_STOPPING.minDelta,
  ),
  restoreBestWeights: {
    type: 'boolean',
    default: DEFAULT_EARLY_STOPPING.restoreBestWeights,
    description: 'Keep the weights of the best epoch rather than the last one.',
  },
} satisfies Record<keyof EarlyStoppingConfig, JsonSchema>;

const scheduleProperties = {
  type: {
    type: 'string',
    enum: ['constant', 'step', 'cosine', 'onecycle', 'plateau'],
    default: DEFAULT_SCHEDULE.type,
    description:
      'constant; step (× gamma every stepEpochs); cosine (optional linear warm-up, then cosine decay to minLearningRate, per batch); ' +
      'onecycle (fastai: up from lr/25 to lr over pctStart of the run, then down, per batch); plateau (× factor after `patience` epochs without val_loss improvement).',
  },
  warmupEpochs: nonNegative(
    'cosine: epochs of linear warm-up from 0 to the learning rate.',
    DEFAULT_SCHEDULE.warmupEpochs,
  ),
  stepEpochs: {
    type: 'integer',
    minimum: 1,
    default: DEFAULT_SCHEDULE.stepEpochs,
    description: 'step: epochs between two decays.',
  },
  gamma: {
    type: 'number',
    exclusiveMinimum: 0,
    maximum: 1,
    default: DEFAULT_SCHEDULE.gamma,
    description: 'step: the decay factor.',
  },
  minLearningRate: nonNegative(
    'cosine / onecycle / plateau: the lowest learning rate.',
    DEFAULT_SCHEDULE.minLearningRate,
  ),
  pctStart: {
    type: 'number',
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
    default: DEFAULT_SCHEDULE.pctStart,
    description: 'onecycle: fraction of the run spent rising to the peak.',
  },
  patience: {
    type: 'integer',
    minimum: 1,
    default: DEFAULT_SCHEDULE.patience,
    description: 'plateau: epochs without val_loss improvement before a decay.',
  },
  factor: {
    type: 'number',
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
    default: DEFAULT_SCHEDULE.factor,
    description: 'plateau: the decay factor.',
  },
} satisfies Record<keyof ScheduleConfig, JsonSchema>;

const gradualUnfreezingProperties = {
  headEpochs: {
    type: 'integer',
    minimum: 0,
    default: DEFAULT_GRADUAL_UNFREEZING.headEpochs,
    description: 'Epochs that train only the new head (base frozen) before the first block unfreezes.',
  },
  everyEpochs: {
    type: 'integer',
    minimum: 1,
    default: DEFAULT_GRADUAL_UNFREEZING.everyEpochs,
    description: 'Epochs between two unfreezing steps.',
  },
  blocks: {
    anyOf: [
      {
        type: 'string',
        const: 'auto',
        description: 'One block per conv/dense layer (with the BN/pooling after it), from the top down.',
      },
      {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        minItems: 1,
        description: 'Layer or nested-model paths, top (nearest the head) first.',
      },
    ],
    default: DEFAULT_GRADUAL_UNFREEZING.blocks,
    description: 'What unfreezes at each step: "auto", or a list of layer/nested-model paths, top first.',
  },
} satisfies Record<keyof GradualUnfreezingConfig, JsonSchema>;

const trainingProperties = {
  epochs: {
    type: 'integer',
    minimum: 1,
    default: DEFAULTS.training.epochs,
    description: 'Maximum number of passes over the training set (early stopping may end sooner).',
  },
  batchSize: {
    type: 'integer',
    minimum: 1,
    default: DEFAULTS.training.batchSize,
    description: 'Images per gradient step.',
  },
  optimizer: {
    type: 'string',
    enum: Object.keys(OPTIMIZERS),
    default: DEFAULTS.training.optimizer,
    description: `Optimizer. ${Object.values(OPTIMIZERS).join(' ')}`,
  },
  learningRate: {
    type: 'number',
    exclusiveMinimum: 0,
    default: DEFAULTS.training.learningRate,
    description:
      'Learning rate of the new head (> 0). Pre-trained trainable layers use it × fineTuneLearningRateMultiplier.',
  },
  momentum: {
    type: 'number',
    minimum: 0,
    exclusiveMaximum: 1,
    default: DEFAULTS.training.momentum,
    description: 'Momentum of the sgd and rmsprop optimizers, in [0, 1). Adam ignores it.',
  },
  fineTuneLearningRateMultiplier: nonNegative(
    'Learning rate of trainable pre-trained layers relative to the new head’s. Fine-tuning uses a lower one ' +
      '(e.g. 0.1) so pre-trained features are adjusted, not destroyed.',
    DEFAULTS.training.fineTuneLearningRateMultiplier,
  ),
  seed: seed(
    'Seed of shuffling, augmentation, dropout and fresh weights: the same seed gives the same run.',
    DEFAULTS.training.seed,
  ),
  earlyStopping: {
    anyOf: [
      {
        type: 'object',
        properties: earlyStoppingProperties,
        additionalProperties: false,
        description: 'Early-stopping settings; missing keys take their defaults.',
      },
      { type: 'boolean', const: false, description: 'false turns early stopping off.' },
    ],
    default: copy(DEFAULT_EARLY_STOPPING),
    description:
      'Stop when the monitored metric stops improving: an object of settings, or false to turn it off.',
  },
  overfitPatience: {
    type: 'integer',
    minimum: 1,
    default: DEFAULTS.training.overfitPatience,
    description:
      'Epochs in a row that val_loss must rise while loss falls before the run is flagged as overfitting.',
  },
  backend: {
    type: 'string',
    enum: [...BACKEND_CHOICES],
    default: DEFAULTS.training.backend,
    description:
      'TensorFlow.js backend. auto tries tensorflow-gpu → webgpu (a hardware GPU adapter only) → tensorflow → wasm → cpu (native ones only if installed). webgpu: any GPU through Vulkan, Metal or D3D12, no CUDA; set explicitly it also uses a software adapter (slow, for testing).',
  },
  schedule: {
    type: 'object',
    properties: scheduleProperties,
    additionalProperties: false,
    default: copy(DEFAULT_SCHEDULE),
    description:
      'Learning-rate schedule; missing keys take their defaults. The curve is drawn in the training panel.',
  },
  labelSmoothing: fraction(
    'Label smoothing ε in [0, 1): targets become y·(1 − ε) + ε/K (0 = off).',
    DEFAULTS.training.labelSmoothing,
  ),
  mixup: nonNegative(
    'Mixup: blend pairs of training images and their labels with λ ~ Beta(α, α); α here (0 = off, 0.2–0.4 typical).',
    DEFAULTS.training.mixup,
  ),
  cutmix: nonNegative(
    'CutMix: paste a box from another training image, labels mixed by area, λ ~ Beta(α, α); α here (0 = off, 1 typical).',
    DEFAULTS.training.cutmix,
  ),
  weightDecay: nonNegative(
    'Decoupled (AdamW-style) weight decay on trainable kernels: w ← w − lr·weightDecay·w each step (0 = off).',
    DEFAULTS.training.weightDecay,
  ),
  gradualUnfreezing: {
    anyOf: [
      {
        type: 'object',
        properties: gradualUnfreezingProperties,
        additionalProperties: false,
        description: 'Gradual-unfreezing settings; missing keys take their defaults.',
      },
      { type: 'boolean', const: false, description: 'false turns gradual unfreezing off.' },
    ],
    default: false,
    description:
      'ULMFiT/fastai-style: train the head with the base frozen for headEpochs, then unfreeze pre-trained blocks from the top, one every everyEpochs. Only layers this file leaves trainable are unfrozen.',
  },
  discriminativeLr: {
    anyOf: [
      {
        type: 'object',
        properties: {
          mode: {
            type: 'string',
            const: 'single',
            description: 'One multiplier for all pre-trained layers.',
          },
        },
        required: ['mode'],
        additionalProperties: false,
        description: 'All trainable pre-trained layers at learningRate × fineTuneLearningRateMultiplier.',
      },
      {
        type: 'object',
        properties: {
          mode: {
            type: 'string',
            const: 'geometric',
            description: 'Geometric spread (fastai slice(lo, hi)).',
          },
          lowestMultiplier: {
            type: 'number',
            exclusiveMinimum: 0,
            description:
              'Multiplier of the lowest trainable block (the top block gets fineTuneLearningRateMultiplier).',
          },
        },
        required: ['mode', 'lowestMultiplier'],
        additionalProperties: false,
        description:
          "fastai's slice(lo, hi): multipliers spread geometrically from the lowest trainable block to the top one.",
      },
      {
        type: 'object',
        properties: {
          mode: { type: 'string', const: 'groups', description: 'Explicit groups of layers.' },
          groups: {
            type: 'array',
            description: 'Groups of layer or nested-model paths with their learning-rate multiplier.',
            items: {
              type: 'object',
              properties: {
                layers: { type: 'array', items: { type: 'string', minLength: 1 } },
                multiplier: { type: 'number', minimum: 0 },
              },
              required: ['layers', 'multiplier'],
              additionalProperties: false,
            },
          },
        },
        required: ['mode', 'groups'],
        additionalProperties: false,
        description:
          'Explicit multipliers per group of layer/nested-model paths; others use fineTuneLearningRateMultiplier.',
      },
    ],
    default: { mode: 'single' },
    description:
      'Discriminative learning rates for trainable pre-trained layers: single, geometric, or groups.',
  },
} satisfies Record<keyof TrainingConfig, JsonSchema>;

const section = (
  description: string,
  properties: Record<string, JsonSchema>,
  defaults?: object,
): JsonSchema => ({
  type: 'object',
  properties,
  additionalProperties: false,
  ...(defaults !== undefined && { default: copy(defaults) }),
  description,
});

const topLevelProperties = {
  $schema: { type: 'string', description: 'Schema of this file (for editors).' },
  name: {
    type: 'string',
    minLength: 1,
    examples: ['digits-frozen-conv'],
    description: 'Name of the experiment, shown in the Runs view and stored in each run.',
  },
  description: { type: 'string', description: 'Free text: what this experiment tries.' },
  baseModel: {
    type: 'string',
    minLength: 1,
    examples: ['models/base/model.json'],
    description:
      'The pre-trained TensorFlow.js LayersModel (`model.json` with its weight files), relative to this file. ' +
      'Nested Sequential/Model layers are allowed.',
  },
  dataset: {
    type: 'object',
    properties: datasetProperties,
    required: ['path'],
    additionalProperties: false,
    examples: [{ path: 'data/target' }],
    description: 'Where the images are and how they are prepared.',
  },
  freezeUpTo: {
    type: 'string',
    minLength: 1,
    examples: ['pool2'],
    description:
      'This layer and every layer before it are frozen (nested layers by path: `outer/inner/conv_pw_1`).',
  },
  layers: {
    type: 'object',
    additionalProperties: {
      type: 'string',
      enum: [...LAYER_STATES],
      description:
        'frozen: weights fixed · trainable: fine-tuned · reinit: same architecture, fresh weights.',
    },
    default: {},
    description:
      'Per-layer state, by layer name or path (`outer/inner/conv_pw_1`): "frozen", "trainable" or "reinit". ' +
      'Overrides freezeUpTo for the layers named.',
  },
  head: section(
    'The new classification head put on top of the cut base model.',
    headProperties,
    DEFAULTS.head,
  ),
  regularization: section(
    'Penalties against overfitting.',
    regularizationProperties,
    DEFAULTS.regularization,
  ),
  augmentation: section(
    'Random changes to training images (never to validation images).',
    augmentationProperties,
    DEFAULTS.augmentation,
  ),
  training: section('How the model is trained.', trainingProperties, DEFAULTS.training),
} satisfies Record<keyof ExperimentConfig | '$schema', JsonSchema>;

export const EXPERIMENT_SCHEMA: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Fine-Tune Studio experiment',
  description:
    'A transfer-learning / fine-tuning experiment: base model, dataset, frozen layers, new head, training.',
  type: 'object',
  properties: topLevelProperties,
  required: ['name', 'baseModel', 'dataset'],
  additionalProperties: false,
};
