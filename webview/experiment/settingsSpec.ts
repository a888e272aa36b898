/**
 * Which settings the experiment panel shows, in which section, with which control. Bounds, enums and
 * descriptions are not repeated here: they are read from EXPERIMENT_SCHEMA by the form (fieldRules.ts).
 * The layer settings (`freezeUpTo`, `layers`) are edited in the layer tree instead.
 */
import type { ScheduleType } from '../../src/protocol/experimentConfig';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import { valueAt, type JsonPath } from './fieldRules';

export type FieldControl =
  /** A text box parsed and checked against the schema (numbers, comma lists, strings). */
  | 'text'
  /** A select box over the schema's enum. */
  | 'select'
  /** A checkbox for a boolean. */
  | 'checkbox'
  /** Shown, not typed: the head cut is set from the layer tree. */
  | 'cut'
  /** `training.earlyStopping`: on (an object, or absent) / off (`false`). */
  | 'earlyStopping'
  /** `training.gradualUnfreezing`: on (an object) / off (absent or `false`). */
  | 'gradualUnfreezing'
  /** `training.gradualUnfreezing.blocks`: "auto" or a comma list of layer paths. */
  | 'blocks'
  /** `training.discriminativeLr`: the mode, and the multipliers it gives the trainable layers. */
  | 'lrMode'
  /** Shown, not typed: the learning-rate curve the schedule gives the run. */
  | 'lrCurve'
  /** Shown, not typed: which blocks gradual unfreezing unfreezes at which epoch. */
  | 'unfreezePlan';

export interface FieldSpec {
  path: JsonPath;
  label: string;
  control: FieldControl;
  /** Placeholder when neither the file nor the resolved config has a value. */
  fallbackPlaceholder?: string;
  /** Shown only while early stopping is on. */
  needsEarlyStopping?: boolean;
  /** Shown only while this holds (the schedule's own settings, gradual unfreezing's when it is on). */
  visibleWhen?: (state: ExperimentPanelState) => boolean;
  /** The field's key in the page (`data-key`) when it is not the path: a display beside a field of that path. */
  key?: string;
  /** Replaces the schema's description (a display says what it shows). */
  description?: string;
}

/** The schedule type the file sets (what the select shows), else the resolved one. */
export function scheduleTypeOf(state: ExperimentPanelState): ScheduleType {
  const inFile = valueAt(state.document, ['training', 'schedule', 'type']);
  return typeof inFile === 'string'
    ? (inFile as ScheduleType)
    : (state.config?.training.schedule.type ?? 'constant');
}

const scheduleIs =
  (...types: ScheduleType[]) =>
  (state: ExperimentPanelState): boolean =>
    types.includes(scheduleTypeOf(state));

/** Gradual unfreezing is on when the file holds its settings object. */
export function gradualUnfreezingOn(state: ExperimentPanelState): boolean {
  const value = valueAt(state.document, ['training', 'gradualUnfreezing']);
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The discriminative-LR mode the file sets (absent: single). */
export function lrModeOf(state: ExperimentPanelState): string {
  const mode = valueAt(state.document, ['training', 'discriminativeLr', 'mode']);
  return typeof mode === 'string' ? mode : 'single';
}

export interface SectionSpec {
  id: string;
  title: string;
  /** The `description` of this section's schema node is shown under the heading. */
  schemaPath: JsonPath;
  /** Shown under the heading instead of the schema node's description. */
  about?: string;
  fields: FieldSpec[];
}

const text = (path: JsonPath, label: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  path,
  label,
  control: 'text',
  ...extra,
});

export const SETTINGS_SECTIONS: SectionSpec[] = [
  {
    id: 'experiment',
    title: 'Experiment',
    schemaPath: [],
    fields: [text(['name'], 'Name'), text(['description'], 'Description'), text(['baseModel'], 'Base Model')],
  },
  {
    id: 'dataset',
    title: 'Dataset',
    schemaPath: ['dataset'],
    fields: [
      text(['dataset', 'path'], 'Path'),
      text(['dataset', 'imageSize'], 'Image Size', { fallbackPlaceholder: 'the base model’s input size' }),
      text(['dataset', 'pixelRange'], 'Pixel Range'),
      text(['dataset', 'validationSplit'], 'Validation Split'),
      text(['dataset', 'seed'], 'Split Seed'),
    ],
  },
  {
    id: 'head',
    title: 'Head',
    schemaPath: ['head'],
    fields: [
      { path: ['head', 'cutAt'], label: 'Cut At', control: 'cut' },
      text(['head', 'hiddenUnits'], 'Hidden Units', { fallbackPlaceholder: 'none: a linear classifier' }),
      text(['head', 'dropout'], 'Dropout'),
      { path: ['head', 'batchNorm'], label: 'Batch Normalization', control: 'checkbox' },
    ],
  },
  {
    id: 'regularization',
    title: 'Regularization',
    schemaPath: ['regularization'],
    fields: [
      text(['regularization', 'l1'], 'L1'),
      text(['regularization', 'l2'], 'L2'),
      text(['regularization', 'l2sp'], 'L2-SP'),
    ],
  },
  {
    id: 'augmentation',
    title: 'Augmentation',
    schemaPath: ['augmentation'],
    fields: [
      { path: ['augmentation', 'flipHorizontal'], label: 'Flip Horizontal', control: 'checkbox' },
      text(['augmentation', 'rotation'], 'Rotation'),
      text(['augmentation', 'zoom'], 'Zoom'),
      text(['augmentation', 'translate'], 'Translate'),
      text(['augmentation', 'brightness'], 'Brightness'),
      text(['augmentation', 'contrast'], 'Contrast'),
    ],
  },
  {
    id: 'training',
    title: 'Training',
    schemaPath: ['training'],
    fields: [
      text(['training', 'epochs'], 'Epochs'),
      text(['training', 'batchSize'], 'Batch Size'),
      { path: ['training', 'optimizer'], label: 'Optimizer', control: 'select' },
      text(['training', 'learningRate'], 'Learning Rate'),
      text(['training', 'momentum'], 'Momentum'),
      text(['training', 'fineTuneLearningRateMultiplier'], 'Fine-Tune Learning Rate Multiplier'),
      text(['training', 'seed'], 'Seed'),
      text(['training', 'overfitPatience'], 'Overfit Patience'),
      { path: ['training', 'backend'], label: 'Backend', control: 'select' },
    ],
  },
  {
    id: 'techniques',
    title: 'Techniques',
    schemaPath: ['training'],
    about:
      'How the learning rate moves over the run, softer targets, mixed images, decoupled weight decay, and pre-trained layers unfrozen step by step.',
    fields: [
      { path: ['training', 'schedule', 'type'], label: 'Learning-Rate Schedule', control: 'select' },
      text(['training', 'schedule', 'warmupEpochs'], 'Warm-up Epochs', { visibleWhen: scheduleIs('cosine') }),
      text(['training', 'schedule', 'stepEpochs'], 'Step Every (Epochs)', {
        visibleWhen: scheduleIs('step'),
      }),
      text(['training', 'schedule', 'gamma'], 'Step Factor (gamma)', { visibleWhen: scheduleIs('step') }),
      text(['training', 'schedule', 'pctStart'], 'Rising Fraction (pctStart)', {
        visibleWhen: scheduleIs('onecycle'),
      }),
      text(['training', 'schedule', 'patience'], 'Plateau Patience', { visibleWhen: scheduleIs('plateau') }),
      text(['training', 'schedule', 'factor'], 'Plateau Factor', { visibleWhen: scheduleIs('plateau') }),
      text(['training', 'schedule', 'minLearningRate'], 'Minimum Learning Rate', {
        visibleWhen: scheduleIs('cosine', 'onecycle', 'plateau'),
      }),
      {
        path: ['training', 'schedule'],
        key: 'training.schedule.curve',
        label: 'Learning-Rate Curve',
        control: 'lrCurve',
        description: 'The learning rate of the new head over the run, as the schedule above sets it.',
      },
      text(['training', 'labelSmoothing'], 'Label Smoothing'),
      text(['training', 'mixup'], 'Mixup α'),
      text(['training', 'cutmix'], 'CutMix α'),
      text(['training', 'weightDecay'], 'Weight Decay'),
      { path: ['training', 'gradualUnfreezing'], label: 'Gradual Unfreezing', control: 'gradualUnfreezing' },
      text(['training', 'gradualUnfreezing', 'headEpochs'], 'Head-Only Epochs', {
        visibleWhen: gradualUnfreezingOn,
      }),
      text(['training', 'gradualUnfreezing', 'everyEpochs'], 'Unfreeze Every (Epochs)', {
        visibleWhen: gradualUnfreezingOn,
      }),
      {
        path: ['training', 'gradualUnfreezing', 'blocks'],
        label: 'Blocks',
        control: 'blocks',
        visibleWhen: gradualUnfreezingOn,
      },
      {
        path: ['training', 'gradualUnfreezing'],
        key: 'training.gradualUnfreezing.plan',
        label: 'Unfreezing Plan',
        control: 'unfreezePlan',
        visibleWhen: gradualUnfreezingOn,
        description: 'Which pre-trained layers start training at which epoch (top blocks first).',
      },
      { path: ['training', 'discriminativeLr'], label: 'Discriminative Learning Rates', control: 'lrMode' },
      text(['training', 'discriminativeLr', 'lowestMultiplier'], 'Lowest Multiplier', {
        visibleWhen: (state) => lrModeOf(state) === 'geometric',
      }),
    ],
  },
  {
    id: 'earlyStopping',
    title: 'Early Stopping',
    schemaPath: ['training', 'earlyStopping'],
    fields: [
      { path: ['training', 'earlyStopping'], label: 'Early Stopping', control: 'earlyStopping' },
      {
        path: ['training', 'earlyStopping', 'monitor'],
        label: 'Monitor',
        control: 'select',
        needsEarlyStopping: true,
      },
      text(['training', 'earlyStopping', 'patience'], 'Patience', { needsEarlyStopping: true }),
      text(['training', 'earlyStopping', 'minDelta'], 'Min Delta', { needsEarlyStopping: true }),
      {
        path: ['training', 'earlyStopping', 'restoreBestWeights'],
        label: 'Restore Best Weights',
        control: 'checkbox',
        needsEarlyStopping: true,
      },
    ],
  },
];
