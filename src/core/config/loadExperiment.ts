/**
 * Reads an experiment file (`*.finetune.json`, JSONC) into a fully resolved ExperimentConfig.
 *
 * Every problem is a UserError whose lines each say file:line:col, the dotted key, what is wrong, the value
 * as written and how to fix it — all problems at once, in file order, so one edit round fixes them all.
 * Unknown keys and duplicates are warnings (a typo must be visible but must not block a run). Layer names
 * (`freezeUpTo`, `layers`, `head.cutAt`) are not checked here: only the model surgery knows the model.
 */
import * as path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { schemaValidator } from './schemaValidators';
import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import {
  DEFAULTS,
  DEFAULT_GRADUAL_UNFREEZING,
  type ExperimentConfig,
  type ExperimentFile,
} from '../../protocol/experimentConfig';
import { isUserError, UserError } from '../userError';
import {
  closestNodeAtPath,
  describeSyntaxError,
  excessiveNestingOffset,
  lineColumnAt,
  nodeAtPath,
  pointerSegments,
  propertyNode,
  sourcePreview,
} from './jsonPosition';
import { readModelInputSize } from './modelInputShape';
import { isFileReadError, READ_LIMITS, readTextFile } from '../files/regularFile';
import {
  FIX_HINTS,
  intendedErrors,
  keyLabel,
  schemaErrorMessage,
  unknownKeyMessage,
} from './schemaErrorText';

export interface LoadedExperiment {
  config: ExperimentConfig;
  warnings: string[];
}

/** Far deeper than any experiment file; guards the recursive parser against stack overflow. */
const MAX_NESTING = 64;

/** Experiment files are small; anything larger than this is not one. */
const EXPERIMENT_READ = { maxBytes: READ_LIMITS.smallJson };

/** Reads an experiment file as text the way loadExperiment does (regular file, byte cap); UserErrors name it. */
export async function readExperimentText(filePath: string): Promise<string> {
  const absolute = path.resolve(filePath);
  try {
    return await readTextFile(absolute, EXPERIMENT_READ);
  } catch (error) {
    throw new UserError(`Cannot read the experiment file ${filePath}: ${(error as Error).message}`, absolute);
  }
}

export async function loadExperiment(filePath: string): Promise<LoadedExperiment> {
  const absolute = path.resolve(filePath);
  let text: string;
  try {
    // A regular file of bounded size: an experiment file that is a link to /dev/zero or a FIFO in a cloned
    // repository is refused, not read forever.
    text = await readTextFile(absolute, EXPERIMENT_READ);
  } catch (error) {
    if (isFileReadError(error) && error.reason === 'missing')
      throw new UserError(`Experiment file not found: ${filePath} (${absolute}) — check the path.`, absolute);
    if (isFileReadError(error) && error.reason === 'a folder')
      throw new UserError(`${filePath} is a folder — give the path of a *.finetune.json file.`, absolute);
    throw new UserError(`Cannot read the experiment file ${filePath}: ${(error as Error).message}`, absolute);
  }
  return parseExperimentText(text, filePath);
}

/**
 * Parses, validates and resolves experiment text. `filePath` names the file in messages and anchors the
 * relative paths; `modelInputSize` supplies `dataset.imageSize` when the file leaves it out.
 */
export function parseExperimentText(
  text: string,
  filePath: string,
  modelInputSize: (modelJsonPath: string) => [number, number] | undefined = readModelInputSize,
): LoadedExperiment {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // editors do not count a BOM as a column
  const absoluteFile = path.resolve(filePath);
  const at = (offset: number): string => {
    const { line, column } = lineColumnAt(source, offset);
    return `${filePath}:${line}:${column}`;
  };

  const root = parseOrThrow(source, at, absoluteFile);
  const data = getNodeValue(root) as unknown;
  const problems: Finding[] = [];
  const warnings: Finding[] = [...duplicateKeyWarnings(root, at)];

  const validate = experimentValidator();
  if (!validate(data)) {
    for (const error of intendedErrors(validate.errors ?? [])) {
      const segments = pointerSegments(error.instancePath);
      if (error.keyword === 'additionalProperties') {
        const key = String(error.params.additionalProperty);
        const keyNode = propertyNode(closestNodeAtPath(root, segments), key)?.children?.[0] ?? root;
        warnings.push({
          offset: keyNode.offset,
          text: `${at(keyNode.offset)}: ${unknownKeyMessage(key, root, segments, error)}`,
        });
        removeKey(data, segments, key);
      } else if (!problems.some((p) => p.path === error.instancePath && error.keyword !== 'required')) {
        const node = closestNodeAtPath(root, segments);
        const message = schemaErrorMessage(error, root, segments, node, source);
        problems.push({
          offset: node.offset,
          path: error.instancePath,
          text: `${at(node.offset)}: ${message}`,
        });
      }
    }
  }
  semanticChecks(data, root, source, at, problems, warnings);
  if (problems.length > 0) throw new UserError(inFileOrder(problems).join('\n'), absoluteFile);

  const file = data as ExperimentFile;
  const config = resolveConfig(file, path.dirname(absoluteFile));
  if (file.dataset.imageSize === undefined) {
    const size = imageSizeFromModel(modelInputSize, config.baseModel);
    const datasetNode = nodeAtPath(root, ['dataset']) ?? root;
    if (size === undefined) {
      throw new UserError(
        `${at(datasetNode.offset)}: dataset.imageSize is not set and the input size of the base model ` +
          `(${config.baseModel}) could not be read. Add "imageSize": [height, width] to "dataset", such as [224, 224].`,
        absoluteFile,
      );
    }
    config.dataset.imageSize = size;
  }
  return { config, warnings: inFileOrder(warnings) };
}

/**
 * parseExperimentText for the extension host: the base model's input size (only needed when the file
 * leaves out dataset.imageSize) is read asynchronously by `modelInputSize` — the host passes the cached
 * model.json facts — instead of synchronously on every keystroke.
 */
export async function parseExperimentTextAsync(
  text: string,
  filePath: string,
  modelInputSize: (modelJsonPath: string) => Promise<[number, number] | undefined>,
): Promise<LoadedExperiment> {
  let wanted: string | undefined;
  try {
    return parseExperimentText(text, filePath, (modelJsonPath) => {
      wanted = modelJsonPath;
      return undefined;
    });
  } catch (error) {
    if (wanted === undefined) throw error;
  }
  const size = await modelInputSize(wanted);
  return parseExperimentText(text, filePath, () => size);
}

interface Finding {
  offset: number;
  text: string;
  /** JSON pointer of the offending value, to report one problem per value. */
  path?: string;
}

const inFileOrder = (findings: Finding[]): string[] =>
  [...findings].sort((a, b) => a.offset - b.offset).map((finding) => finding.text);

function parseOrThrow(text: string, at: (offset: number) => string, file: string): Node {
  const tooDeep = excessiveNestingOffset(text, MAX_NESTING);
  if (tooDeep !== undefined) {
    throw new UserError(
      `${at(tooDeep)}: nested more than ${MAX_NESTING} levels deep — fix the JSON syntax`,
      file,
    );
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
    allowEmptyContent: false,
  });
  const first = errors[0];
  if (first !== undefined) {
    const what = describeSyntaxError(first.error) + foundText(text, first);
    throw new UserError(`${at(first.offset)}: ${what} — fix the JSON syntax`, file);
  }
  if (root === undefined) throw new UserError(`${at(0)}: the file is empty — fix the JSON syntax`, file);
  return root;
}

/** What stands where something else was expected — `(found "}")` — for the errors where that helps. */
function foundText(text: string, error: ParseError): string {
  if (
    ![
      'InvalidSymbol',
      'PropertyNameExpected',
      'ValueExpected',
      'ColonExpected',
      'CommaExpected',
      'CloseBraceExpected',
      'CloseBracketExpected',
      'EndOfFileExpected',
    ].includes(printParseErrorCode(error.error))
  ) {
    return '';
  }
  const found = text.slice(error.offset, error.offset + Math.min(Math.max(error.length, 1), 20)).trim();
  return found === '' ? '' : ` (found ${JSON.stringify(found)})`;
}

function experimentValidator(): ValidateFunction {
  return schemaValidator('experiment');
}

// ---- unknown and duplicate keys -------------------------------------------------------------------

function duplicateKeyWarnings(root: Node, at: (offset: number) => string): Finding[] {
  const findings: Finding[] = [];
  const stack: Array<{ node: Node; segments: string[] }> = [{ node: root, segments: [] }];
  while (stack.length > 0) {
    const { node, segments } = stack.pop()!;
    const seen = new Map<string, Node>();
    for (const [index, child] of (node.children ?? []).entries()) {
      if (node.type === 'object') {
        const [keyNode, valueNode] = child.children ?? [];
        const key = String(keyNode?.value);
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          const where = segments.length === 0 ? 'at the top level' : `in ${keyLabel(root, segments)}`;
          findings.push({
            offset: earlier.offset,
            text: `${at(earlier.offset)}: duplicate key ${JSON.stringify(key)} ${where} — only the last one is used`,
          });
        }
        if (keyNode) seen.set(key, keyNode);
        if (valueNode) stack.push({ node: valueNode, segments: [...segments, key] });
      } else if (node.type === 'array') {
        stack.push({ node: child, segments: [...segments, String(index)] });
      }
    }
  }
  return findings;
}

function removeKey(data: unknown, segments: readonly string[], key: string): void {
  let target: unknown = data;
  for (const segment of segments) target = (target as Record<string, unknown> | undefined)?.[segment];
  if (isObject(target)) delete target[key];
}

// ---- checks the schema cannot express ---------------------------------------------------------------

function semanticChecks(
  data: unknown,
  root: Node,
  text: string,
  at: (offset: number) => string,
  problems: Finding[],
  warnings: Finding[],
): void {
  const dataset = isObject(data) && isObject(data.dataset) ? data.dataset : {};
  const training = isObject(data) && isObject(data.training) ? data.training : {};
  const report = (list: Finding[], segments: string[], message: string): void => {
    const node = closestNodeAtPath(root, segments);
    list.push({
      offset: node.offset,
      path: `/${segments.join('/')}`,
      text: `${at(node.offset)}: ${message}`,
    });
  };

  const range = dataset.pixelRange;
  if (Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && !(range[0] < range[1])) {
    const node = nodeAtPath(root, ['dataset', 'pixelRange']) ?? root;
    report(
      problems,
      ['dataset', 'pixelRange'],
      `dataset.pixelRange must be [lo, hi] with lo < hi (got ${sourcePreview(text, node)}). ${FIX_HINTS['dataset.pixelRange']}`,
    );
  }
  if (dataset.validationSplit === 0) {
    report(
      warnings,
      ['dataset', 'validationSplit'],
      'dataset.validationSplit is 0 — no validation set, so val_loss, val_accuracy and early stopping on them are unavailable unless the dataset folder has train/ and val/.',
    );
  }
  if (training.momentum !== undefined && (training.optimizer ?? DEFAULTS.training.optimizer) === 'adam') {
    report(
      warnings,
      ['training', 'momentum'],
      'training.momentum is ignored by the "adam" optimizer — it applies to "sgd" and "rmsprop".',
    );
  }
}

// ---- defaults and paths --------------------------------------------------------------------------------

function resolveConfig(file: ExperimentFile, baseDir: string): ExperimentConfig {
  const dataset = merge(DEFAULTS.dataset, file.dataset) as ExperimentConfig['dataset'];
  return {
    name: file.name,
    ...(file.description !== undefined && { description: file.description }),
    baseModel: path.resolve(baseDir, file.baseModel),
    dataset: {
      path: path.resolve(baseDir, file.dataset.path),
      // Filled from the model by the caller when the file leaves it out.
      imageSize: dataset.imageSize,
      pixelRange: dataset.pixelRange,
      validationSplit: dataset.validationSplit,
      seed: dataset.seed,
    },
    ...(file.freezeUpTo !== undefined && { freezeUpTo: file.freezeUpTo }),
    layers: merge({}, file.layers) as ExperimentConfig['layers'],
    head: merge(DEFAULTS.head, file.head) as ExperimentConfig['head'],
    regularization: merge(DEFAULTS.regularization, file.regularization) as ExperimentConfig['regularization'],
    augmentation: merge(DEFAULTS.augmentation, file.augmentation) as ExperimentConfig['augmentation'],
    // An earlyStopping object is merged with DEFAULT_EARLY_STOPPING; `false` replaces it.
    training: trainingWithDefaults(file.training),
  };
}

function trainingWithDefaults(fileTraining: unknown): ExperimentConfig['training'] {
  const training = merge(DEFAULTS.training, fileTraining) as ExperimentConfig['training'];
  // gradualUnfreezing defaults to false, so a generic merge would not fill a partial object's keys.
  if (training.gradualUnfreezing !== false) {
    training.gradualUnfreezing = merge(
      DEFAULT_GRADUAL_UNFREEZING,
      training.gradualUnfreezing,
    ) as typeof training.gradualUnfreezing;
  }
  return training;
}

/** Deep merge into fresh objects: objects merge key by key, anything else (arrays, false) replaces. */
function merge(defaults: unknown, override: unknown): unknown {
  if (override === undefined) return copyJson(defaults);
  if (!isObject(defaults) || !isObject(override)) return copyJson(override);
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(defaults), ...Object.keys(override)])) {
    setOwn(out, key, merge(defaults[key], override[key]));
  }
  return out;
}

function copyJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyJson);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setOwn(out, key, copyJson(value[key]));
  return out;
}

/** A layer may be called "__proto__"; plain assignment would change the prototype instead. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function imageSizeFromModel(
  lookup: (modelJsonPath: string) => [number, number] | undefined,
  modelPath: string,
): [number, number] | undefined {
  let size: unknown;
  try {
    size = lookup(modelPath);
  } catch (error) {
    if (isUserError(error)) throw error;
    return undefined; // an unreadable model is reported as "set dataset.imageSize" just below
  }
  const valid = Array.isArray(size) && size.length === 2 && size.every((n) => Number.isInteger(n) && n >= 1);
  return valid ? [(size as number[])[0], (size as number[])[1]] : undefined;
}

// ---- small helpers ---------------------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
