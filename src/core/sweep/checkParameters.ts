/**
 * The checks of one sweep parameter against the experiment it searches: is the dotted path a key of the
 * experiment file, is it `values` or a range (not both, not neither), is every value — and each end of a
 * range — valid for that key by the experiment schema (the same ajv rules and fix hints the experiment
 * loader uses), do layer names exist in the base model. Also the experiment context the sweep loader
 * needs: the experiment's text and config, its layer names, and a check that a trial's whole experiment
 * (all its values applied) still loads.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { parseTree, type Node } from 'jsonc-parser';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { JsonSchema } from '../../protocol/experimentSchema';
import type { ParamValue, SweepMethod, SweepParameter } from '../../protocol/sweepConfig';
import { parseExperimentText } from '../config/loadExperiment';
import { readModelInputSize } from '../config/modelInputShape';
import { isFileReadError, READ_LIMITS, readTextFileSync } from '../files/regularFile';
import { nodeAtPath, pointerSegments } from '../config/jsonPosition';
import { closest, intendedErrors, schemaErrorMessage } from '../config/schemaErrorText';
import { topologyLayerTree } from '../model/topologyLayerTree';
import type { LayerNode } from '../../protocol/layerTree';
import { isUserError } from '../userError';
import { resolveParameterPath, schemaTypes } from './parameterPaths';
import { gridValues, isValuesParameter, type TrialParams } from './sampleTrials';
import { applyParams } from './trialExperiment';

export interface ExperimentContext {
  path: string;
  text: string;
  config: ExperimentConfig;
  /** Every layer and nested-model path of the base model; undefined when model.json cannot be read. */
  layerNames?: Set<string>;
  /** The most epochs any trial trains (training.epochs, or the largest value searched for it). */
  maxEpochs(parameters: Record<string, SweepParameter>): number;
  /** Why the experiment with these values applied does not load; undefined when it does. */
  checkTrial(params: TrialParams): string | undefined;
}

export interface ParameterFinding {
  node: Node;
  message: string;
  warning?: boolean;
}

const TYPE_NOUNS: Record<string, string> = {
  array: 'lists',
  string: 'text',
  boolean: 'true or false',
  object: 'objects',
};

/** Keys whose values are layer names of the base model. */
const LAYER_VALUED = new Set(['freezeUpTo', 'head.cutAt']);

/** What the experiment context reads besides the experiment's text: the base model's input size and layers. */
export interface ExperimentReads {
  modelInputSize(modelJsonPath: string): [number, number] | undefined;
  layerTree(modelJsonPath: string): LayerNode[];
}

/** Synchronous reads from disk (the CLI and the sweep controller); the host passes cached ones. */
const DISK_READS: ExperimentReads = { modelInputSize: readModelInputSize, layerTree: topologyLayerTree };

/** Experiment files are small (a regular file of at most a few MiB: a link to /dev/zero is refused). */
export const SWEEP_EXPERIMENT_READ = { maxBytes: READ_LIMITS.smallJson };

/** Why the experiment a sweep names cannot be read, in the words the sweep's problem list uses. */
export function experimentReadProblem(experimentPath: string, error: unknown): Error {
  return new Error(
    isFileReadError(error) && error.reason === 'missing'
      ? `${experimentPath} does not exist — "experiment" is relative to the sweep file.`
      : `cannot read ${experimentPath}: ${(error as Error).message}`,
  );
}

export function readExperimentContext(experimentPath: string): ExperimentContext {
  let text: string;
  try {
    text = readTextFileSync(experimentPath, SWEEP_EXPERIMENT_READ);
  } catch (error) {
    throw experimentReadProblem(experimentPath, error);
  }
  return experimentContext(experimentPath, text);
}

export function experimentContext(
  experimentPath: string,
  text: string,
  reads: ExperimentReads = DISK_READS,
): ExperimentContext {
  const { config } = parseExperimentText(text, experimentPath, reads.modelInputSize);
  let layerNames: Set<string> | undefined;
  try {
    layerNames = new Set(flattenPaths(reads.layerTree(config.baseModel)));
  } catch {
    layerNames = undefined; // the trainer reports an unreadable model; names just cannot be checked here
  }
  return {
    path: experimentPath,
    text,
    config,
    layerNames,
    maxEpochs: (parameters) => {
      const epochs = parameters['training.epochs'];
      if (!epochs) return config.training.epochs;
      const values = isValuesParameter(epochs) ? epochs.values : [epochs.max];
      const numbers = values.filter((v): v is number => typeof v === 'number');
      return numbers.length > 0 ? Math.max(...numbers) : config.training.epochs;
    },
    checkTrial: (params) => {
      try {
        // Validated where the experiment is: its relative paths mean the same.
        parseExperimentText(applyParams(text, params), experimentPath, reads.modelInputSize);
        return undefined;
      } catch (error) {
        return isUserError(error) || error instanceof Error ? error.message : String(error);
      }
    },
  };
}

function flattenPaths(nodes: LayerNode[]): string[] {
  return nodes.flatMap((node) => [node.path, ...flattenPaths(node.children ?? [])]);
}

export function checkParameter(
  key: string,
  parameter: SweepParameter,
  valueNode: Node,
  keyNode: Node,
  text: string,
  context: ExperimentContext | undefined,
  method: SweepMethod,
): ParameterFinding[] {
  const resolved = resolveParameterPath(key);
  if (!resolved.ok) {
    const guess = closest(
      key.slice(resolved.validPrefix ? resolved.validPrefix.length + 1 : 0).split('.')[0],
      resolved.known,
    );
    const suggestion = guess
      ? ` (did you mean "${resolved.validPrefix ? `${resolved.validPrefix}.` : ''}${guess}"?)`
      : '';
    return [
      {
        node: keyNode,
        message: `parameters: "${key}" is not a key of the experiment file: ${resolved.problem}${suggestion}. Keys are dotted paths such as "training.learningRate", "head.dropout", "freezeUpTo" or "layers.<layer path>".`,
      },
    ];
  }
  const hasValues = 'values' in parameter;
  const hasRange = 'min' in parameter || 'max' in parameter;
  if (hasValues === hasRange) {
    return [
      {
        node: valueNode,
        message: `parameters["${key}"] must have either "values" or "min" and "max"${hasValues ? ', not both' : ''}. Use { "values": [...] }, or { "min": 0.0001, "max": 0.01, "distribution": "log_uniform" }.`,
      },
    ];
  }
  const findings: ParameterFinding[] = [];
  const check = (value: unknown, node: Node, what: string): void => {
    const message = valueProblem(resolved.jsonPath, resolved.schema, value, node, text);
    if (message) findings.push({ node, message: `${what}: ${message}` });
  };
  if (isValuesParameter(parameter)) {
    parameter.values.forEach((value, i) =>
      check(
        value,
        nodeAtPath(valueNode, ['values', String(i)]) ?? valueNode,
        `value ${i + 1} of parameters["${key}"]`,
      ),
    );
    if ((parameter as { distribution?: unknown }).distribution !== undefined)
      findings.push({
        node: nodeAtPath(valueNode, ['distribution']) ?? valueNode,
        message: `parameters["${key}"]: "distribution" applies to min/max ranges, not to "values" — remove it.`,
      });
  } else {
    const { min, max } = parameter as { min?: number; max?: number };
    const distribution = parameter.distribution ?? 'uniform';
    if (min === undefined || max === undefined) {
      findings.push({
        node: valueNode,
        message: `parameters["${key}"] needs both "min" and "max" (got only "${min === undefined ? 'max' : 'min'}").`,
      });
      return findings;
    }
    const types = schemaTypes(resolved.schema);
    if (!types.includes('number') && !types.includes('integer')) {
      findings.push({
        node: valueNode,
        message: `parameters["${key}"]: ${key} takes ${types.map((t) => TYPE_NOUNS[t] ?? t).join(' or ') || 'other values'}, not numbers — a range cannot produce them. Give "values" instead.`,
      });
      return findings;
    }
    if (min > max)
      findings.push({
        node: nodeAtPath(valueNode, ['min']) ?? valueNode,
        message: `parameters["${key}"]: min (${min}) is above max (${max}) — swap them.`,
      });
    if (distribution === 'log_uniform' && min <= 0)
      findings.push({
        node: nodeAtPath(valueNode, ['min']) ?? valueNode,
        message: `parameters["${key}"]: a log_uniform range needs min > 0 (got ${min}). Use a small positive min such as 1e-5, or "distribution": "uniform".`,
      });
    if (distribution === 'int_uniform' && !(Number.isInteger(min) && Number.isInteger(max)))
      findings.push({
        node: valueNode,
        message: `parameters["${key}"]: an int_uniform range needs whole-number min and max (got ${min}, ${max}).`,
      });
    const wholeNumbers = types.includes('integer') && !types.includes('number');
    if (wholeNumbers && distribution !== 'int_uniform')
      findings.push({
        node: nodeAtPath(valueNode, ['distribution']) ?? valueNode,
        message: `parameters["${key}"]: ${key} takes whole numbers — use "distribution": "int_uniform".`,
      });
    if (
      method === 'grid' &&
      gridValues(parameter) === undefined &&
      !(wholeNumbers && distribution !== 'int_uniform')
    )
      findings.push({
        node: valueNode,
        message: `parameters["${key}"] is a continuous range, which has no grid — give "values" for a grid, or use "method": "random".`,
      });
    check(min, nodeAtPath(valueNode, ['min']) ?? valueNode, `min of parameters["${key}"]`);
    check(max, nodeAtPath(valueNode, ['max']) ?? valueNode, `max of parameters["${key}"]`);
  }
  findings.push(...layerNameFindings(key, resolved.jsonPath, parameter, valueNode, keyNode, context));
  return findings;
}

function layerNameFindings(
  key: string,
  jsonPath: string[],
  parameter: SweepParameter,
  valueNode: Node,
  keyNode: Node,
  context: ExperimentContext | undefined,
): ParameterFinding[] {
  const names = context?.layerNames;
  if (!names) return [];
  const unknown = (name: string): string => {
    const guess = closest(name, [...names]);
    return `the base model has no layer "${name}"${guess ? ` (did you mean "${guess}"?)` : ''} — \`finetune layers ${context.config.baseModel}\` lists them.`;
  };
  if (jsonPath[0] === 'layers' && !names.has(jsonPath[1]))
    return [{ node: keyNode, message: `parameters["${key}"]: ${unknown(jsonPath[1])}` }];
  if (!LAYER_VALUED.has(key) || !isValuesParameter(parameter)) return [];
  return parameter.values.flatMap((value, i) =>
    typeof value === 'string' && !names.has(value)
      ? [
          {
            node: nodeAtPath(valueNode, ['values', String(i)]) ?? valueNode,
            message: `parameters["${key}"]: ${unknown(value)}`,
          },
        ]
      : [],
  );
}

const validators = new Map<string, ValidateFunction>();
const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictNumbers: true });

/**
 * Why `value` is not valid for the experiment key at `jsonPath`, worded as the experiment loader words it
 * (`head.dropout must be < 1 (got 1.5). Use a fraction …`); undefined when it is valid.
 */
export function valueProblem(
  jsonPath: string[],
  schema: JsonSchema,
  value: unknown,
  node: Node,
  text: string,
): string | undefined {
  const id = JSON.stringify(jsonPath.slice(0, jsonPath[0] === 'layers' ? 1 : undefined));
  let validate = validators.get(id);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(id, validate);
  }
  if (validate(value)) return undefined;
  const error = intendedErrors(validate.errors ?? [])[0];
  if (!error) return undefined;
  // The label ("head.dropout", `layers["features/conv1"]`) comes from a document holding just this key.
  const document = jsonPath.reduceRight<unknown>(
    (inner, segment) => ({ [segment]: inner }),
    value as ParamValue,
  );
  const root = parseTree(JSON.stringify(document))!;
  const inner = pointerSegments(error.instancePath);
  const at = nodeAtPath(node, inner) ?? node;
  return schemaErrorMessage(error, root, [...jsonPath, ...inner], at, text);
}
