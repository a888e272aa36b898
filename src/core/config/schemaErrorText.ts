/**
 * Wording of experiment-file validation messages: what is wrong with a value, in the user's terms
 * (`training.learningRate must be > 0 (got -0.1)`), and how to fix it — from a hint written for the key
 * when there is one, otherwise from the schema's own type, bounds, enum and default. Also the "did you
 * mean" suggestions for typos in keys and enum values.
 */
import type { ErrorObject } from 'ajv';
import type { Node } from 'jsonc-parser';
import { EXPERIMENT_SCHEMA, type JsonSchema } from '../../protocol/experimentSchema';
import { nodeAtPath, sourcePreview } from './jsonPosition';

/** Hints that say more than the schema's bounds can, keyed by dotted key (array indices dropped). */
export const FIX_HINTS: Record<string, string> = {
  'training.learningRate': 'Use a small positive number such as 0.001.',
  'head.dropout':
    'Use a fraction from 0 up to (not including) 1, such as 0.5: the share of units dropped while training.',
  'dataset.validationSplit':
    'Use a fraction from 0 up to (not including) 1, such as 0.2 (20% of each class held out).',
  'dataset.imageSize':
    'Use [height, width] in pixels, such as [224, 224], or leave it out to use the base model’s input size.',
  'dataset.pixelRange':
    'Use [lo, hi] with lo < hi, such as [0, 1] (or [-1, 1] for MobileNet and Teachable Machine).',
  'training.earlyStopping':
    'Use false to turn early stopping off, or an object such as { "monitor": "val_loss", "patience": 3 }.',
  layers:
    'Use an object mapping layer names to "frozen", "trainable" or "reinit", such as { "conv1": "frozen" }.',
  'layers.*': 'Use "frozen", "trainable" or "reinit".',
  'head.hiddenUnits': 'Use a list of layer sizes such as [128], or [] for no hidden layer.',
};

/**
 * For `anyOf` (earlyStopping: object or false) ajv reports every branch's failure, most of them noise.
 * Keep only the errors of the branch whose type matches the value the user wrote; when no branch fits,
 * keep the `anyOf` error itself ("must be an object or false").
 */
export function intendedErrors(errors: ErrorObject[]): ErrorObject[] {
  let kept = errors;
  for (const anyOf of errors.filter((error) => error.keyword === 'anyOf')) {
    const branches = anyOf.schema as JsonSchema[];
    // A branch that is a single constant (`false`) is not "meant" by a value of its type (`true`):
    // "must be an object or false" explains more than "must be false".
    const intended = branches.findIndex(
      (branch) => typeMatches(branch.type, anyOf.data) && !('const' in branch),
    );
    const prefix = `${anyOf.schemaPath}/`;
    kept = kept.filter((error) => {
      if (error === anyOf) return intended < 0;
      if (!error.schemaPath.startsWith(prefix)) return true;
      return Number(error.schemaPath.slice(prefix.length).split('/')[0]) === intended;
    });
  }
  return kept;
}

function typeMatches(type: unknown, value: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

export function schemaErrorMessage(
  error: ErrorObject,
  root: Node,
  segments: string[],
  node: Node,
  text: string,
): string {
  const schema = (error.parentSchema ?? {}) as JsonSchema;
  if (error.keyword === 'required') {
    const missing = String(error.params.missingProperty);
    const propertySchema = ((schema.properties ?? {}) as Record<string, JsonSchema>)[missing] ?? {};
    const example = (propertySchema.examples as unknown[] | undefined)?.[0];
    const where = segments.length === 0 ? 'at the top level' : `in ${keyLabel(root, segments)}`;
    return `missing required key "${missing}" ${where} — add "${missing}": ${JSON.stringify(example ?? '…')}.`;
  }
  const label = segments.length === 0 ? 'the experiment file' : keyLabel(root, segments);
  const hint =
    error.keyword === 'enum' ? enumSuggestion(error) : (FIX_HINTS[hintKey(segments)] ?? genericHint(schema));
  return `${label} ${problemText(error, schema)} (got ${sourcePreview(text, node)}).${hint ? ` ${hint}` : ''}`;
}

function problemText(error: ErrorObject, schema: JsonSchema): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `must be ${typeNoun(params.type)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(params.comparison).replace('>=', '≥').replace('<=', '≤')} ${String(params.limit)}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((value) => JSON.stringify(value)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'anyOf':
      return `must be ${(error.schema as JsonSchema[]).map((branch) => ('const' in branch ? JSON.stringify(branch.const) : typeNoun(branch.type))).join(' or ')}`;
    case 'minItems':
    case 'maxItems':
      return schema.minItems === schema.maxItems
        ? `must be a list of exactly ${String(schema.minItems)} items`
        : `must have ${error.keyword === 'minItems' ? 'at least' : 'at most'} ${String(params.limit)} items`;
    case 'minLength':
      return 'must not be empty';
    default:
      return error.message ?? `is invalid (${error.keyword})`;
  }
}

/** The list of allowed values is already in the message; only a likely typo is worth adding. */
function enumSuggestion(error: ErrorObject): string {
  const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.filter(
    (v) => typeof v === 'string',
  );
  const suggestion = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
  return suggestion === undefined ? '' : `Did you mean "${suggestion}"?`;
}

function typeNoun(type: unknown): string {
  const nouns: Record<string, string> = {
    integer: 'a whole number',
    number: 'a number',
    string: 'a string in double quotes',
    boolean: 'true or false',
    object: 'an object { … }',
    array: 'a list [ … ]',
    null: 'null',
  };
  return (Array.isArray(type) ? type : [type]).map((t) => nouns[String(t)] ?? String(t)).join(' or ');
}

/** "Use …" from the schema itself: its type, bounds, allowed values and default or example. */
function genericHint(schema: JsonSchema): string {
  const example = (schema.examples as unknown[] | undefined)?.[0] ?? schema.default;
  const suchAs = example === undefined ? '' : `, such as ${JSON.stringify(example)}`;
  if (Array.isArray(schema.enum))
    return `Use one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}.`;
  switch (schema.type) {
    case 'number':
    case 'integer':
      return `Use ${typeNoun(schema.type)}${rangeText(schema)}${suchAs}.`;
    case 'boolean':
      return 'Use true or false (without quotes).';
    case 'object': {
      const required = (schema.required ?? []) as string[];
      const keys = (required.length > 0 ? required : Object.keys((schema.properties ?? {}) as object)).slice(
        0,
        3,
      );
      return keys.length === 0
        ? 'Use an object { … }.'
        : `Use an object with keys such as ${keys.map((k) => `"${k}"`).join(', ')}.`;
    }
    default:
      return example === undefined ? '' : `Use a value${suchAs}.`;
  }
}

function rangeText(schema: JsonSchema): string {
  const lower =
    schema.exclusiveMinimum !== undefined
      ? `greater than ${String(schema.exclusiveMinimum)}`
      : schema.minimum !== undefined
        ? `from ${String(schema.minimum)}`
        : '';
  const upper =
    schema.exclusiveMaximum !== undefined
      ? `up to (not including) ${String(schema.exclusiveMaximum)}`
      : schema.maximum !== undefined
        ? `to ${String(schema.maximum)}`
        : '';
  if (lower.startsWith('from') && upper === '') return ` of at least ${String(schema.minimum)}`;
  return [lower, upper]
    .filter(Boolean)
    .map((part) => ` ${part}`)
    .join('');
}

/** `training.learningRate`, `dataset.imageSize[0]`, `layers["outer/inner/conv"]` — array or not decided by the tree. */
export function keyLabel(root: Node, segments: readonly string[]): string {
  let label = '';
  let node: Node | undefined = root;
  for (const segment of segments) {
    if (node?.type === 'array') label += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) label += label === '' ? segment : `.${segment}`;
    else label += `[${JSON.stringify(segment)}]`;
    node = node === undefined ? undefined : nodeAtPath(node, [segment]);
  }
  return label;
}

function hintKey(segments: readonly string[]): string {
  if (segments[0] === 'layers' && segments.length === 2) return 'layers.*';
  return segments.filter((segment) => !/^\d+$/.test(segment)).join('.');
}

export function unknownKeyMessage(key: string, root: Node, segments: string[], error: ErrorObject): string {
  const known = Object.keys(((error.parentSchema as JsonSchema).properties ?? {}) as object);
  const where = segments.length === 0 ? 'at the top level' : `in ${keyLabel(root, segments)}`;
  const nearby = closest(key, known);
  const elsewhere = nearby === undefined ? keyElsewhere(key) : undefined;
  const suggestion = nearby
    ? ` (did you mean "${nearby}"?)`
    : elsewhere
      ? ` (did you mean ${elsewhere}? it belongs there)`
      : '';
  return `unknown key ${JSON.stringify(key)} ${where} — ignored${suggestion}`;
}

/**
 * The dotted path of the known key with this name in another section (`learningRate` at the top level →
 * `training.learningRate`); both when the name is ambiguous (`seed`).
 */
function keyElsewhere(key: string): string | undefined {
  const matches: string[] = [];
  const visit = (prefix: string, schema: JsonSchema): void => {
    for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
      const dotted = prefix ? `${prefix}.${name}` : name;
      if (normalizeKey(name) === normalizeKey(key)) matches.push(dotted);
      for (const branch of [child, ...((child.anyOf ?? []) as JsonSchema[])]) visit(dotted, branch);
    }
  };
  visit('', EXPERIMENT_SCHEMA); // the schema is three levels deep: recursion is bounded by it, not by input
  return matches.length === 0 ? undefined : matches.map((match) => `"${match}"`).join(' or ');
}

const normalizeKey = (key: string): string => key.toLowerCase().replace(/[_\-\s]/g, '');

/** The candidate nearest to `word` by edit distance, if near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(normalizeKey(word), normalizeKey(candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const tolerance = Math.max(1, Math.floor(Math.max(word.length, best?.length ?? 0) / 3));
  if (bestDistance <= tolerance) return best;
  // An abbreviation (`val_acc`, `restoreBest`) is as likely a slip as a typo.
  const normalized = normalizeKey(word);
  const expansions = candidates.filter((candidate) => normalizeKey(candidate).startsWith(normalized));
  return normalized.length >= 3 && expansions.length === 1 ? expansions[0] : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Infinity; // never a typo, and keeps huge keys cheap
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
