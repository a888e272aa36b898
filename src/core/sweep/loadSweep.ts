/**
 * Reads a sweep file (`*.sweep.json`, JSONC) into a resolved SweepConfig, the way experiment files are
 * read: every problem at once, in file order, each line `file:line:col: what is wrong (got …). How to fix.`
 * Unknown keys are warnings. Beyond the schema it checks what makes a sweep meaningful: each parameter is
 * an experiment key (dotted path; did-you-mean for typos), each value or range end is valid for that key by
 * the experiment schema itself (so `head.dropout` 1.5 is refused with the experiment's own hint), layer
 * names exist in the base model, the search space is not empty, and a grid fits maxTrials (saying how
 * large it is). Reads only JSON files — no TensorFlow.js — so the extension host validates with it too.
 */
import * as path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { schemaValidator } from '../config/schemaValidators';
import { getNodeValue, parseTree, type Node, type ParseError } from 'jsonc-parser';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { JsonSchema } from '../../protocol/experimentSchema';
import {
  DEFAULT_RANDOM_TRIALS,
  defaultGoal,
  type ExecutorConfig,
  type SweepConfig,
  type SweepFile,
  type SweepMetricName,
  type SweepParameter,
} from '../../protocol/sweepConfig';
import {
  closestNodeAtPath,
  describeSyntaxError,
  excessiveNestingOffset,
  lineColumnAt,
  nodeAtPath,
  pointerSegments,
  propertyNode,
} from '../config/jsonPosition';
import { closest, intendedErrors, schemaErrorMessage } from '../config/schemaErrorText';
import { UserError } from '../userError';
import {
  checkParameter,
  experimentContext,
  experimentReadProblem,
  readExperimentContext,
  SWEEP_EXPERIMENT_READ,
  type ExperimentContext,
  type ExperimentReads,
} from './checkParameters';
import { isFileReadError, READ_LIMITS, readTextFile, readTextFileSync } from '../files/regularFile';
import { modelJsonFacts, type ModelJsonFacts } from '../model/modelJsonFacts';
import { gridSize, sweepTrials } from './sampleTrials';

export interface LoadedSweep {
  config: SweepConfig;
  warnings: string[];
  /** The experiment the trials start from, resolved (defaults applied). */
  experiment: ExperimentConfig;
}

interface Finding {
  offset: number;
  text: string;
}

const MAX_NESTING = 64;

export function loadSweep(filePath: string, experiment?: (experimentPath: string) => ExperimentContext) {
  const absolute = path.resolve(filePath);
  let text: string;
  try {
    // A regular file of bounded size: a sweep file that is a link to /dev/zero is refused, not read forever.
    text = readTextFileSync(absolute, { maxBytes: READ_LIMITS.smallJson });
  } catch (error) {
    const reason = isFileReadError(error) ? error.reason : undefined;
    throw new UserError(
      reason === 'missing'
        ? `Sweep file not found: ${filePath} (${absolute}) — check the path.`
        : reason === 'a folder'
          ? `${filePath} is a folder — give the path of a *.sweep.json file.`
          : `Cannot read the sweep file ${filePath}: ${(error as Error).message}`,
      absolute,
    );
  }
  return parseSweepText(text, filePath, experiment);
}

/**
 * parseSweepText for the extension host: the experiment file, its base model's input size and layer tree
 * are read asynchronously (bounded; the model's facts cached per version of model.json) instead of
 * synchronously on the host's thread. The check runs once, notes what it needed and had not read yet, reads
 * that, and runs again — until nothing new is needed.
 */
export async function parseSweepTextAsync(text: string, filePath: string): Promise<LoadedSweep> {
  const experiments = new Map<string, string | Error>();
  const models = new Map<string, ModelJsonFacts>();
  for (let pass = 0; ; pass++) {
    const wantedExperiments = new Set<string>();
    const wantedModels = new Set<string>();
    const facts = (modelJsonPath: string): ModelJsonFacts | undefined => {
      const known = models.get(modelJsonPath);
      if (!known) wantedModels.add(modelJsonPath);
      return known;
    };
    const reads: ExperimentReads = {
      modelInputSize: (modelJsonPath) => facts(modelJsonPath)?.inputSize,
      layerTree: (modelJsonPath) => {
        const known = facts(modelJsonPath);
        if (!known?.layers) throw new Error(known?.error ?? `${modelJsonPath} is not read yet`);
        return known.layers;
      },
    };
    const experiment = (experimentPath: string): ExperimentContext => {
      const known = experiments.get(experimentPath);
      if (known === undefined) {
        wantedExperiments.add(experimentPath);
        throw new Error(`${experimentPath} is not read yet`);
      }
      if (known instanceof Error) throw known;
      return experimentContext(experimentPath, known, reads);
    };
    let result: LoadedSweep | undefined;
    let failure: unknown;
    try {
      result = parseSweepText(text, filePath, experiment);
    } catch (error) {
      failure = error;
    }
    // Each pass reads at least one new file; a sweep names one experiment and a few models.
    if ((wantedExperiments.size === 0 && wantedModels.size === 0) || pass >= 16) {
      if (result) return result;
      throw failure;
    }
    for (const experimentPath of wantedExperiments) {
      experiments.set(
        experimentPath,
        await readTextFile(experimentPath, SWEEP_EXPERIMENT_READ).catch((error: unknown) =>
          experimentReadProblem(experimentPath, error),
        ),
      );
    }
    for (const modelJsonPath of wantedModels) models.set(modelJsonPath, await modelJsonFacts(modelJsonPath));
  }
}

/**
 * Parses and checks sweep text. `filePath` names the file in messages and anchors `experiment`;
 * `experiment` reads the experiment a sweep starts from (default: from disk, see checkParameters.ts).
 */
export function parseSweepText(
  text: string,
  filePath: string,
  experiment?: (experimentPath: string) => ExperimentContext,
): LoadedSweep {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const absoluteFile = path.resolve(filePath);
  const at = (offset: number): string => {
    const { line, column } = lineColumnAt(source, offset);
    return `${filePath}:${line}:${column}`;
  };
  const root = parse(source, at, absoluteFile);
  const data = getNodeValue(root) as unknown;
  const problems: Finding[] = [];
  const warnings: Finding[] = [];
  const report = (list: Finding[], node: Node, message: string): void =>
    void list.push({ offset: node.offset, text: `${at(node.offset)}: ${message}` });

  const validate = sweepValidator();
  if (!validate(data)) {
    const seen = new Set<string>();
    for (const error of intendedErrors(validate.errors ?? [])) {
      const segments = pointerSegments(error.instancePath);
      if (error.keyword === 'additionalProperties') {
        const key = String(error.params.additionalProperty);
        const keyNode = propertyNode(closestNodeAtPath(root, segments), key)?.children?.[0] ?? root;
        report(warnings, keyNode, unknownKeyText(key, segments, error));
        removeKey(data, segments, key);
        continue;
      }
      if (seen.has(error.instancePath) && error.keyword !== 'required') continue;
      seen.add(error.instancePath);
      const node = closestNodeAtPath(root, segments);
      const message = schemaErrorMessage(error, root, segments, node, source).replace(
        /^the experiment file /,
        'the sweep file ',
      );
      report(problems, node, message);
    }
  }
  if (problems.length > 0) throw new UserError(inFileOrder(problems).join('\n'), absoluteFile);

  const file = data as SweepFile;
  const experimentPath = path.resolve(path.dirname(absoluteFile), file.experiment);
  let context: ExperimentContext | undefined;
  try {
    context = (experiment ?? readExperimentContext)(experimentPath);
  } catch (error) {
    const node = nodeAtPath(root, ['experiment']) ?? root;
    const why = error instanceof Error ? error.message : String(error);
    report(problems, node, `the experiment ${file.experiment} cannot be used:\n${why}`);
  }

  const parametersNode = nodeAtPath(root, ['parameters']) ?? root;
  const entries = Object.entries(file.parameters);
  if (entries.length === 0) {
    report(
      problems,
      parametersNode,
      'parameters is empty: there is nothing to search. Add a key of the experiment file with values or a range, such as "head.dropout": { "values": [0.1, 0.3, 0.5] }.',
    );
  }
  for (const [key, parameter] of entries) {
    const keyNode = propertyNode(parametersNode, key)?.children?.[0] ?? parametersNode;
    const valueNode = propertyNode(parametersNode, key)?.children?.[1] ?? parametersNode;
    for (const finding of checkParameter(key, parameter, valueNode, keyNode, source, context, file.method)) {
      report(finding.warning ? warnings : problems, finding.node, finding.message);
    }
  }

  const method = file.method;
  const metricName: SweepMetricName = file.metric?.name ?? 'val_accuracy';
  let maxTrials = file.maxTrials ?? DEFAULT_RANDOM_TRIALS;
  if (method === 'grid' && entries.length > 0) {
    const { size, factors } = gridSize(file.parameters);
    if (Number.isFinite(size)) {
      maxTrials = file.maxTrials ?? size;
      if (size > maxTrials) {
        const node = nodeAtPath(root, ['maxTrials']) ?? parametersNode;
        report(
          problems,
          node,
          `the grid has ${size} combinations (${factors.join(' × ')}) but maxTrials is ${maxTrials}. Raise maxTrials to ${size}, give fewer values, or use "method": "random" to try ${maxTrials} of them.`,
        );
      }
    } else {
      const continuous = entries.find(([, p]) => !('values' in p) && p.distribution !== 'int_uniform');
      if (!continuous) {
        report(
          problems,
          parametersNode,
          'the grid has too many combinations: an int_uniform range in a grid may span at most 1000 values.',
        );
      }
      // A continuous range in a grid is reported by checkParameter at the range itself.
    }
  }
  const asha = file.earlyTermination;
  if (asha && context) {
    const epochs = context.maxEpochs(file.parameters);
    if (asha.minEpochs >= epochs) {
      report(
        warnings,
        nodeAtPath(root, ['earlyTermination', 'minEpochs']) ?? nodeAtPath(root, ['earlyTermination']) ?? root,
        `earlyTermination.minEpochs is ${asha.minEpochs} but trials train at most ${epochs} epochs: ASHA will never stop a trial. Use a smaller minEpochs, such as ${Math.max(1, Math.floor(epochs / 4))}.`,
      );
    }
  }
  if (problems.length > 0) throw new UserError(inFileOrder(problems).join('\n'), absoluteFile);

  const executor: ExecutorConfig = file.executor ?? { type: 'local' };
  const config: SweepConfig = {
    name: file.name,
    ...(file.description !== undefined && { description: file.description }),
    sweepPath: absoluteFile,
    experimentPath,
    method,
    metric: { name: metricName, goal: file.metric?.goal ?? defaultGoal(metricName) },
    parameters: file.parameters as Record<string, SweepParameter>,
    maxTrials,
    ...(file.parallel !== undefined && { parallel: file.parallel }),
    seed: file.seed ?? 1,
    ...(asha && {
      earlyTermination: {
        type: 'asha',
        minEpochs: asha.minEpochs ?? 2,
        reductionFactor: asha.reductionFactor ?? 3,
      },
    }),
    executor,
  };
  // Every trial's complete experiment must load: a combination can be wrong where each value alone is not.
  if (!context) throw new UserError(inFileOrder(problems).join('\n'), absoluteFile);
  {
    const trialProblems: string[] = [];
    for (const [trial, params] of sweepTrials(config).entries()) {
      const problem = context.checkTrial(params);
      if (problem) trialProblems.push(`trial ${trial} (${describeParams(params)}): ${problem}`);
      if (trialProblems.length >= 5) break;
    }
    if (trialProblems.length > 0)
      throw new UserError(
        `${at(parametersNode.offset)}: these parameters make an experiment that does not load:\n${trialProblems.join('\n')}`,
        absoluteFile,
      );
  }
  return { config, warnings: inFileOrder(warnings), experiment: context!.config };
}

export function describeParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${formatParamValue(value)}`)
    .join(', ');
}

export function formatParamValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Number(value.toPrecision(4)));
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const inFileOrder = (findings: Finding[]): string[] =>
  [...findings].sort((a, b) => a.offset - b.offset).map((finding) => finding.text);

function parse(text: string, at: (offset: number) => string, file: string): Node {
  const tooDeep = excessiveNestingOffset(text, MAX_NESTING);
  if (tooDeep !== undefined)
    throw new UserError(
      `${at(tooDeep)}: nested more than ${MAX_NESTING} levels deep — fix the JSON syntax`,
      file,
    );
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined)
    throw new UserError(
      `${at(first.offset)}: ${describeSyntaxError(first.error)} — fix the JSON syntax`,
      file,
    );
  if (root === undefined) throw new UserError(`${at(0)}: the file is empty — fix the JSON syntax`, file);
  return root;
}

function sweepValidator(): ValidateFunction {
  return schemaValidator('sweep');
}

function unknownKeyText(key: string, segments: string[], error: ErrorObject): string {
  const known = Object.keys(((error.parentSchema as JsonSchema).properties ?? {}) as object);
  const where = segments.length === 0 ? 'at the top level' : `in ${segments.join('.')}`;
  const nearby = closest(key, known);
  return `unknown key ${JSON.stringify(key)} ${where} — ignored${nearby ? ` (did you mean "${nearby}"?)` : ''}`;
}

function removeKey(data: unknown, segments: readonly string[], key: string): void {
  let target: unknown = data;
  for (const segment of segments) target = (target as Record<string, unknown> | undefined)?.[segment];
  if (typeof target === 'object' && target !== null) delete (target as Record<string, unknown>)[key];
}
