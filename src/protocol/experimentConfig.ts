/**
 * The experiment file (`*.finetune.json`) as the engine, the host and the webviews see it.
 * `ExperimentFile` is what a user may write (most keys optional); `ExperimentConfig` is the same
 * document with every default filled in and paths resolved — the snapshot stored in run.json.
 * Key names are a public contract (README.md, "The experiment file") and must not change.
 */

export type LayerState = 'frozen' | 'trainable' | 'reinit';
export type OptimizerName = 'adam' | 'sgd' | 'rmsprop';
export type MonitorName = 'val_loss' | 'val_accuracy' | 'loss' | 'accuracy';
export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_CHOICES: readonly BackendChoice[] = [
  'auto',
  'tensorflow-gpu',
  'webgpu',
  'tensorflow',
  'wasm',
  'cpu',
];
export const LAYER_STATES: readonly LayerState[] = ['frozen', 'trainable', 'reinit'];

export interface DatasetConfig {
  /** Folder of class folders, or of train/ val/ [test/] folders. Relative to the experiment file. */
  path: string;
  /** [height, width] the images are resized to. */
  imageSize: [number, number];
  /** Pixels 0..255 are mapped linearly onto [lo, hi]. */
  pixelRange: [number, number];
  /** Fraction of each class held out for validation (ignored when the folder has train/ and val/). */
  validationSplit: number;
  /** Seed of the stratified split. */
  seed: number;
}

export interface HeadConfig {
  /** Layer path whose output feeds the new head; default: everything but the last Dense. */
  cutAt?: string;
  hiddenUnits: number[];
  dropout: number;
  batchNorm: boolean;
}

export interface RegularizationConfig {
  l1: number;
  l2: number;
  /** α of α·‖w − w_pretrained‖² on trainable pre-trained weights. */
  l2sp: number;
}

export interface AugmentationConfig {
  flipHorizontal: boolean;
  /** Maximum rotation in degrees (uniform in ±rotation). */
  rotation: number;
  /** Maximum zoom as a fraction (scale uniform in 1 ± zoom). */
  zoom: number;
  /** Maximum shift as a fraction of width/height. */
  translate: number;
  /** Maximum brightness shift as a fraction of the pixel range. */
  brightness: number;
  /** Maximum contrast change as a fraction (factor uniform in 1 ± contrast). */
  contrast: number;
}

export interface EarlyStoppingConfig {
  monitor: MonitorName;
  patience: number;
  minDelta: number;
  restoreBestWeights: boolean;
}

export interface TrainingConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** SGD momentum / RMSprop momentum. */
  momentum: number;
  /** Learning rate of trainable pre-trained layers relative to the new head's. */
  fineTuneLearningRateMultiplier: number;
  seed: number;
  /** `false` turns early stopping off. */
  earlyStopping: EarlyStoppingConfig | false;
  /** Epochs in a row that val_loss must rise while loss falls before the run is flagged as overfitting. */
  overfitPatience: number;
  backend: BackendChoice;
  /** Learning-rate schedule over the run (per batch for cosine / one-cycle). */
  schedule: ScheduleConfig;
  /** Label smoothing ε: targets become y·(1 − ε) + ε/K. */
  labelSmoothing: number;
  /** Mixup Beta(α, α); 0 = off. */
  mixup: number;
  /** CutMix Beta(α, α); 0 = off. */
  cutmix: number;
  /** Decoupled (AdamW-style) weight decay: w ← w − lr·weightDecay·w each step, on trainable kernels. */
  weightDecay: number;
  /** Head first, then pre-trained blocks unfreeze from the top every few epochs; `false` = off. */
  gradualUnfreezing: GradualUnfreezingConfig | false;
  /** How learning rates spread over trainable pre-trained layers. */
  discriminativeLr: DiscriminativeLrConfig;
}

export type ScheduleType = 'constant' | 'step' | 'cosine' | 'onecycle' | 'plateau';

export interface ScheduleConfig {
  type: ScheduleType;
  /** cosine: epochs of linear warm-up from 0 to the learning rate. */
  warmupEpochs: number;
  /** step: multiply by `gamma` every `stepEpochs` epochs. */
  stepEpochs: number;
  gamma: number;
  /** cosine / one-cycle / plateau: the lowest rate. */
  minLearningRate: number;
  /** one-cycle: fraction of the run spent rising to the peak (the learning rate). */
  pctStart: number;
  /** plateau: epochs without val_loss improvement before the rate is multiplied by `factor`. */
  patience: number;
  factor: number;
}

export interface GradualUnfreezingConfig {
  /** Epochs that train only the new head before the first block unfreezes. */
  headEpochs: number;
  /** Epochs between two unfreezing steps. */
  everyEpochs: number;
  /** Blocks to unfreeze, top first (layer or nested-model paths), or "auto": one block per conv/dense layer. */
  blocks: 'auto' | string[];
}

export type DiscriminativeLrConfig =
  | { mode: 'single' }
  | { mode: 'geometric'; lowestMultiplier: number }
  | { mode: 'groups'; groups: { layers: string[]; multiplier: number }[] };

export const DEFAULT_SCHEDULE: ScheduleConfig = {
  type: 'constant',
  warmupEpochs: 0,
  stepEpochs: 5,
  gamma: 0.1,
  minLearningRate: 0,
  pctStart: 0.3,
  patience: 2,
  factor: 0.5,
};

export const DEFAULT_GRADUAL_UNFREEZING: GradualUnfreezingConfig = {
  headEpochs: 2,
  everyEpochs: 2,
  blocks: 'auto',
};

/** A fully resolved experiment: defaults applied, `baseModel` and `dataset.path` absolute. */
export interface ExperimentConfig {
  name: string;
  description?: string;
  baseModel: string;
  dataset: DatasetConfig;
  freezeUpTo?: string;
  layers: Record<string, LayerState>;
  head: HeadConfig;
  regularization: RegularizationConfig;
  augmentation: AugmentationConfig;
  training: TrainingConfig;
}

/** Distributes over unions, so `earlyStopping: { patience: 5 }` (a partial object) is allowed, as the schema does. */
type DeepPartial<T> = T extends unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** What may appear in the file: `name`, `baseModel` and `dataset.path` are required, the rest defaults. */
export type ExperimentFile = DeepPartial<ExperimentConfig> & {
  name: string;
  baseModel: string;
  dataset: Partial<DatasetConfig> & { path: string };
};

export const DEFAULT_AUGMENTATION: AugmentationConfig = {
  flipHorizontal: false,
  rotation: 0,
  zoom: 0,
  translate: 0,
  brightness: 0,
  contrast: 0,
};

export const DEFAULT_EARLY_STOPPING: EarlyStoppingConfig = {
  monitor: 'val_loss',
  patience: 3,
  minDelta: 0,
  restoreBestWeights: true,
};

/** Defaults for everything but name, baseModel, dataset.path and dataset.imageSize (taken from the model). */
export const DEFAULTS = {
  dataset: { pixelRange: [0, 1] as [number, number], validationSplit: 0.2, seed: 1 },
  head: { hiddenUnits: [] as number[], dropout: 0, batchNorm: false },
  regularization: { l1: 0, l2: 0, l2sp: 0 },
  augmentation: DEFAULT_AUGMENTATION,
  training: {
    epochs: 10,
    batchSize: 32,
    optimizer: 'adam' as OptimizerName,
    learningRate: 0.001,
    momentum: 0.9,
    fineTuneLearningRateMultiplier: 0.1,
    seed: 1,
    earlyStopping: DEFAULT_EARLY_STOPPING,
    overfitPatience: 3,
    schedule: DEFAULT_SCHEDULE,
    labelSmoothing: 0,
    mixup: 0,
    cutmix: 0,
    weightDecay: 0,
    gradualUnfreezing: false as GradualUnfreezingConfig | false,
    discriminativeLr: { mode: 'single' } as DiscriminativeLrConfig,
    backend: 'auto' as BackendChoice,
  },
};
