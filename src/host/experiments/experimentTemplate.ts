/**
 * The text of a new experiment file, as "Fine-Tune: New Experiment" writes it: every setting spelled out
 * with its default and a comment that says what it does, so the file doubles as documentation of the
 * knobs (freeze, head, regularization, augmentation, early stopping). Plus the small decisions the command
 * makes from the model: where to cut, what to freeze, which image size.
 *
 * Pure (no vscode, no file access): strings from the user's files (names, paths, layer names) only ever
 * appear as JSON string literals, never inside comments, so no name can break the file's syntax.
 */
import * as path from 'node:path';
import { DEFAULTS } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import { analyseCuts, defaultCutPath } from '../../core/portable/cutPoints';

export const EXPERIMENT_SUFFIX = '.finetune.json';

export interface ExperimentTemplateInput {
  /** The experiment's name (any text; JSON-escaped). */
  name: string;
  /** Relative to the experiment file, '/' separators. */
  baseModel: string;
  /** Relative to the experiment file, '/' separators. */
  datasetPath: string;
  datasetLayout?: 'flat' | 'split';
  classCount?: number;
  /** [height, width] of the model's input; when unknown a placeholder is written with a note to set it. */
  imageSize?: [number, number];
  /** Default [0, 1]. */
  pixelRange?: [number, number];
  /** Set when pixelRange was chosen because the model looks like MobileNet / Teachable Machine. */
  pixelRangeFromModelFamily?: boolean;
  /** From suggestLayerChoices; both absent when the model's layers could not be read. */
  freezeUpTo?: string;
  cutAt?: string;
  /** Whether the model's layers were read (decides what the freeze/cut comments say). */
  layersKnown: boolean;
}

/** Written when the model's input size could not be read; the comment next to it asks to set it. */
export const PLACEHOLDER_IMAGE_SIZE: [number, number] = [224, 224];

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Why `name` cannot be an experiment's file name (without the suffix), or undefined when it can. */
export function experimentNameProblem(name: string): string | undefined {
  const trimmed = stripExperimentSuffix(name.trim());
  if (trimmed === '') return 'Give the experiment a name.';
  if (trimmed.length > 100) return 'Keep the name under 100 characters.';
  // eslint-disable-next-line no-control-regex
  const bad = /[<>:"/\\|?*\u0000-\u001f\u007f]/.exec(trimmed);
  if (bad) {
    const shown = bad[0] < ' ' || bad[0] === '\u007f' ? 'control characters' : `the character ${bad[0]}`;
    return `A file name cannot contain ${shown}. Use letters, digits, "-", "_", "." or spaces.`;
  }
  if (trimmed.startsWith('.')) return 'The name must not start with "." (that would hide the file).';
  if (/[. ]$/.test(trimmed)) return 'The name must not end with "." or a space.';
  if (WINDOWS_RESERVED.test(trimmed)) return `"${trimmed}" is a reserved file name on Windows.`;
  return undefined;
}

function stripExperimentSuffix(name: string): string {
  if (name.toLowerCase().endsWith(EXPERIMENT_SUFFIX)) return name.slice(0, -EXPERIMENT_SUFFIX.length);
  if (name.toLowerCase().endsWith('.json')) return name.slice(0, -'.json'.length);
  return name;
}

/** The experiment name as typed, without a `.finetune.json` the user may have added. */
export function experimentNameOf(input: string): string {
  return stripExperimentSuffix(input.trim());
}

export function experimentFileName(name: string): string {
  return `${experimentNameOf(name)}${EXPERIMENT_SUFFIX}`;
}

/** `target` relative to the folder of the experiment file, '/' separators ('.' for that folder itself). */
export function relativeToExperiment(experimentFile: string, target: string): string {
  const relative = path.relative(path.dirname(experimentFile), target);
  if (relative === '') return '.';
  // Another drive (Windows): there is no relative path; an absolute one still works.
  const usable = path.isAbsolute(relative) ? target : relative;
  return usable.split(path.sep).join('/');
}

/** [height, width] from a model input shape [null, h, w, c] (or [h, w, c]), when both are known. */
export function imageSizeFromInputShape(
  shape: readonly (number | null)[] | undefined,
): [number, number] | undefined {
  if (!shape) return undefined;
  const dims = shape.length === 4 ? shape.slice(1, 3) : shape.length === 3 ? shape.slice(0, 2) : [];
  const [h, w] = dims;
  const ok = (n: number | null | undefined): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1;
  return ok(h) && ok(w) ? [h, w] : undefined;
}

interface Leaf {
  node: LayerNode;
  /** Nested models holding it, outermost first. */
  parents: LayerNode[];
}

function leavesOf(tree: LayerNode[]): Leaf[] {
  const leaves: Leaf[] = [];
  const visit = (nodes: LayerNode[], parents: LayerNode[]): void => {
    for (const node of nodes) {
      if (node.children) visit(node.children, [...parents, node]);
      else leaves.push({ node, parents });
    }
  };
  visit(tree, []);
  return leaves;
}

const CONV_OR_POOL = /Conv|Pool/;
const FEATURE_OUTPUT = /^(Global(Average|Max)Pooling[123]D|Flatten)$/;
/** Layers that belong to the conv block before them (they hold no features of their own worth training alone). */
const BLOCK_TAIL = /^(BatchNormalization|Activation|ReLU|LeakyReLU|PReLU|ELU|Softmax|ZeroPadding[123]D)$/;

export interface LayerChoices {
  /** Where the new head goes: the engine's default (the layer before the last Dense) or, without any
   * Dense layer, the last global pooling / Flatten layer. */
  cutAt?: string;
  /** The last conv/pooling block at or before the cut (its BatchNormalization/activation included), as
   * the outermost nested model it ends, if it ends one. Freezing it is feature extraction: the safe
   * start for a small dataset. */
  freezeUpTo?: string;
}

export function suggestLayerChoices(tree: LayerNode[]): LayerChoices {
  const leaves = leavesOf(tree);
  // The engine's default cut (the last valid cut before the last Dense layer), computed the same way.
  const cuts = analyseCuts(tree);
  const engineDefault = defaultCutPath(tree, cuts);
  let cutIndex = engineDefault === undefined ? -1 : leaves.findIndex((l) => l.node.path === engineDefault);
  if (cutIndex < 0) {
    for (let i = leaves.length - 1; i >= 0 && cutIndex < 0; i--) {
      if (FEATURE_OUTPUT.test(leaves[i].node.className) && cuts.isValid(leaves[i].node.path)) cutIndex = i;
    }
  }
  if (cutIndex < 0) return {};
  const choices: LayerChoices = { cutAt: leaves[cutIndex].node.path };

  let freezeIndex = -1;
  for (let i = cutIndex; i >= 0 && freezeIndex < 0; i--)
    if (CONV_OR_POOL.test(leaves[i].node.className)) freezeIndex = i;
  if (freezeIndex < 0) return choices;
  while (freezeIndex < cutIndex && BLOCK_TAIL.test(leaves[freezeIndex + 1].node.className)) freezeIndex++;

  const leaf = leaves[freezeIndex];
  // "features" reads better than "features/pool3" when pool3 ends the nested model anyway.
  const endsContainer = leaf.parents.find((parent) => {
    const inside = leaves.filter((l) => l.parents.includes(parent));
    return inside[inside.length - 1] === leaf;
  });
  choices.freezeUpTo = (endsContainer ?? leaf.node).path;
  return choices;
}

/** A compact one-line JSON value: `[0, 1]`, `{ "a": 1, "b": false }`. */
function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

type Line = { comment: string } | { key: string; value: unknown } | { open: string } | { close: true };

/** Renders lines into JSONC with two-space indentation, commas between members. */
function render(lines: Line[]): string {
  const out: string[] = [];
  let depth = 1;
  const pad = (): string => '  '.repeat(depth);
  // Index of the previous member line at each depth: its comma is added once the next member comes.
  const lastMember: (number | undefined)[] = [];
  const member = (text: string): void => {
    const previous = lastMember[depth];
    if (previous !== undefined) out[previous] += ',';
    out.push(pad() + text);
    lastMember[depth] = out.length - 1;
  };
  for (const line of lines) {
    if ('comment' in line) {
      for (const part of line.comment.split('\n')) out.push(`${pad()}// ${part}`);
    } else if ('key' in line) {
      member(`${JSON.stringify(line.key)}: ${inline(line.value)}`);
    } else if ('open' in line) {
      member(`${JSON.stringify(line.open)}: {`);
      depth++;
      lastMember[depth] = undefined;
    } else {
      depth--;
      out.push(`${pad()}}`);
      // The object as a whole is the member: a following one puts its comma after the brace.
      lastMember[depth] = out.length - 1;
    }
  }
  return out.join('\n');
}

export function experimentTemplate(input: ExperimentTemplateInput): string {
  const t = DEFAULTS.training;
  const split = input.datasetLayout === 'split';
  const classes = input.classCount !== undefined ? ` (${input.classCount} classes)` : '';
  const lines: Line[] = [
    { key: 'name', value: experimentNameOf(input.name) },
    { key: 'description', value: `Fine-tune ${input.baseModel} on ${input.datasetPath}${classes}.` },
    { comment: 'The pre-trained TensorFlow.js LayersModel (model.json next to its weight files).' },
    { key: 'baseModel', value: input.baseModel },
    { open: 'dataset' },
    { comment: 'One sub-folder of images per class, or train/ and val/ folders that hold those.' },
    { key: 'path', value: input.datasetPath },
    input.imageSize
      ? { comment: "[height, width] every image is resized to: the base model's input size." }
      : {
          comment:
            "The base model's input size could not be read: set the [height, width] it expects\n" +
            '(every image is resized to it).',
        },
    { key: 'imageSize', value: input.imageSize ?? PLACEHOLDER_IMAGE_SIZE },
    {
      comment:
        'Pixels 0..255 are mapped linearly onto this range before the model sees them. Use the range the\n' +
        'base model was trained with: MobileNet and Teachable Machine models expect [-1, 1].' +
        (input.pixelRangeFromModelFamily ? '\nThis model looks like one of those, hence [-1, 1].' : ''),
    },
    { key: 'pixelRange', value: input.pixelRange ?? DEFAULTS.dataset.pixelRange },
    {
      comment: split
        ? 'Ignored here: the dataset folder has train/ and val/, and that split is used.'
        : 'Fraction of each class held out as the validation set, where overfitting shows (val_loss rising).',
    },
    { key: 'validationSplit', value: DEFAULTS.dataset.validationSplit },
    { comment: 'The same seed gives the same train/validation split.' },
    { key: 'seed', value: DEFAULTS.dataset.seed },
    { close: true },
  ];
  if (input.freezeUpTo !== undefined) {
    lines.push(
      {
        comment:
          'This layer and every layer before it keep their pre-trained weights (frozen): the convolutional\n' +
          'features are reused as they are. Layers after it are fine-tuned. Tick or untick layers in the\n' +
          'Layers view to change this.',
      },
      { key: 'freezeUpTo', value: input.freezeUpTo },
    );
  } else {
    lines.push({
      comment:
        'Nothing is frozen yet: every pre-trained layer is fine-tuned. Add "freezeUpTo": "<layer>" to keep\n' +
        'that layer and every layer before it as they are (or tick layers in the Layers view).',
    });
  }
  lines.push(
    {
      comment:
        'Per-layer overrides by name or path ("outer/inner/conv1"): "frozen", "trainable", or "reinit" (same\n' +
        'architecture, fresh weights: transfer only the lower-level features).',
    },
    { key: 'layers', value: {} },
    { comment: "The new classification head, trained from scratch on this dataset's classes." },
    { open: 'head' },
  );
  if (input.cutAt !== undefined) {
    lines.push(
      { comment: "The new head is put on this layer's output; the layers after it are dropped." },
      { key: 'cutAt', value: input.cutAt },
    );
  } else {
    lines.push({
      comment: input.layersKnown
        ? 'The base model has no Dense layer: set "cutAt" to the layer whose output feeds the new head.'
        : 'Without "cutAt" the new head replaces the last Dense layer; set it to cut elsewhere.',
    });
  }
  lines.push(
    { comment: 'Hidden Dense layers of the new head before its softmax output; [] = a linear classifier.' },
    { key: 'hiddenUnits', value: DEFAULTS.head.hiddenUnits },
    { comment: 'Fraction of units dropped during training, against overfitting (0 = off).' },
    { key: 'dropout', value: DEFAULTS.head.dropout },
    { comment: 'BatchNormalization after each hidden layer of the head.' },
    { key: 'batchNorm', value: DEFAULTS.head.batchNorm },
    { close: true },
    {
      comment:
        'Penalties against overfitting: l1 and l2 on trainable weights; l2sp pulls fine-tuned weights\n' +
        'back towards their pre-trained values.',
    },
    { key: 'regularization', value: DEFAULTS.regularization },
    {
      comment:
        'Random changes to training images only (never validation images). Mirror only when a mirrored\n' +
        'image keeps its class (not for digits or text); rotation in degrees, the rest as fractions.',
    },
    { key: 'augmentation', value: DEFAULTS.augmentation },
    { open: 'training' },
    { comment: 'At most this many passes over the training images (early stopping may end sooner).' },
    { key: 'epochs', value: t.epochs },
    { key: 'batchSize', value: t.batchSize },
    { comment: '"adam", "sgd" or "rmsprop".' },
    { key: 'optimizer', value: t.optimizer },
    { comment: 'Learning rate of the new head.' },
    { key: 'learningRate', value: t.learningRate },
    {
      comment:
        'Trainable pre-trained layers learn at learningRate × this: lower, so their features are adjusted,\n' +
        'not destroyed.',
    },
    { key: 'fineTuneLearningRateMultiplier', value: t.fineTuneLearningRateMultiplier },
    { comment: 'The same seed gives the same shuffling, augmentation, dropout and fresh weights.' },
    { key: 'seed', value: t.seed },
    {
      comment:
        "Stop when the monitored metric has not improved for `patience` epochs and keep the best epoch's\n" +
        'weights; false turns it off.',
    },
    { key: 'earlyStopping', value: t.earlyStopping },
    { close: true },
  );
  const header = [
    '// A fine-tuning experiment (Fine-Tune Studio). Paths are relative to this file.',
    '// Train it with "Fine-Tune: Start Training" or `npx finetune train <this file>`; hover a key for its meaning.',
  ];
  return `${header.join('\n')}\n{\n${render(lines)}\n}\n`;
}
