/**
 * Which settings the experiment panel shows, in which section, with which control. Bounds, enums and
 * descriptions are not repeated here: they are read from EXPERIMENT_SCHEMA by the form (fieldRules.ts).
 * The layer settings (`freezeUpTo`, `layers`) are edited in the layer tree instead.
 */
import type { JsonPath } from './fieldRules';

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
  | 'earlyStopping';

export interface FieldSpec {
  path: JsonPath;
  label: string;
  control: FieldControl;
  /** Placeholder when neither the file nor the resolved config has a value. */
  fallbackPlaceholder?: string;
  /** Shown only while early stopping is on. */
  needsEarlyStopping?: boolean;
}

export interface SectionSpec {
  id: string;
  title: string;
  /** The `description` of this section's schema node is shown under the heading. */
  schemaPath: JsonPath;
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
