/**
 * A trial's experiment file: the sweep's experiment with the trial's values written in (jsonc-parser edits,
 * so the user's comments and layout stay), its name set to the trial's, and its two paths (`baseModel`,
 * `dataset.path`) rewritten relative to the trial's folder so they point where the original's pointed.
 * The file is a snapshot: editing the experiment while a sweep runs does not change the trials.
 */
import * as path from 'node:path';
import { applyEdits, modify, parse, type FormattingOptions } from 'jsonc-parser';
import type { ParamValue } from '../../protocol/sweepConfig';
import { resolveParameterPath } from './parameterPaths';

const FORMATTING: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: '\n' };

/** `text` with every parameter set; a key the file lacks is added (with its parent objects). */
export function applyParams(
  text: string,
  params: Record<string, ParamValue>,
  formatting = FORMATTING,
): string {
  let out = text;
  for (const [key, value] of Object.entries(params)) {
    const resolved = resolveParameterPath(key);
    if (!resolved.ok) throw new Error(`${key}: ${resolved.problem}`);
    out = setValue(out, resolved.jsonPath, value, formatting);
  }
  return out;
}

function setValue(text: string, jsonPath: string[], value: unknown, formatting: FormattingOptions): string {
  // `"earlyStopping": false` has no keys to set: a value for one of its settings turns it into an object.
  for (let depth = 1; depth < jsonPath.length; depth++) {
    const parent = valueAt(text, jsonPath.slice(0, depth));
    if (parent !== undefined && (typeof parent !== 'object' || parent === null || Array.isArray(parent))) {
      text = applyEdits(text, modify(text, jsonPath.slice(0, depth), {}, { formattingOptions: formatting }));
    }
  }
  return applyEdits(text, modify(text, jsonPath, value, { formattingOptions: formatting }));
}

function valueAt(text: string, jsonPath: string[]): unknown {
  let node = parse(text, [], { allowTrailingComma: true }) as unknown;
  for (const segment of jsonPath) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

export interface TrialFileInput {
  /** The experiment's text and absolute path. */
  experimentText: string;
  experimentPath: string;
  /** The folder the trial's file is written to. */
  trialDir: string;
  params: Record<string, ParamValue>;
  /** The trial run's name (`<sweep name> #<trial>`). */
  name: string;
  /** A line saying where the file comes from, written as a comment on top. */
  header: string;
}

export function trialExperimentText(input: TrialFileInput): string {
  const original = parse(input.experimentText, [], { allowTrailingComma: true }) as {
    baseModel?: unknown;
    dataset?: { path?: unknown };
  };
  let text = applyParams(input.experimentText, input.params);
  // Paths, also ones a trial's values set, are relative to the experiment; the trial file lives elsewhere.
  const from = path.dirname(input.experimentPath);
  const moved = (value: unknown): string | undefined =>
    typeof value === 'string' ? relativeTo(input.trialDir, path.resolve(from, value)) : undefined;
  const withParams = parse(text, [], { allowTrailingComma: true }) as typeof original;
  const baseModel = moved(withParams.baseModel ?? original.baseModel);
  const datasetPath = moved(withParams.dataset?.path ?? original.dataset?.path);
  if (baseModel !== undefined) text = setValue(text, ['baseModel'], baseModel, FORMATTING);
  if (datasetPath !== undefined) text = setValue(text, ['dataset', 'path'], datasetPath, FORMATTING);
  text = setValue(text, ['name'], input.name, FORMATTING);
  return `// ${input.header.replace(/\n/g, ' ')}\n${text.endsWith('\n') ? text : `${text}\n`}`;
}

/** `target` relative to `dir` with forward slashes; absolute when there is no relative way (Windows drives). */
function relativeTo(dir: string, target: string): string {
  const relative = path.relative(dir, target);
  if (relative === '' || path.isAbsolute(relative)) return target;
  return relative.split(path.sep).join('/');
}
