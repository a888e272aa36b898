/**
 * Test cases from a message description (src/protocol/messageSchema.ts): values that satisfy it, values
 * that break each of its constraints, and an interpreter of the keywords the descriptions use, written
 * independently of ajv — so a guard that lets through what its description forbids is caught, whatever
 * the guard's implementation. A keyword the interpreter does not know fails loudly instead of being
 * skipped.
 */
import type { JsonSchema } from '../../src/protocol/messageSchema';

const KEYWORDS = new Set([
  'type',
  'const',
  'enum',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minItems',
  'maxItems',
  'items',
  'properties',
  'required',
  'anyOf',
  'allOf',
  'examples',
]);

type Schema = JsonSchema & {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  examples?: unknown[];
};

function known(schema: JsonSchema): Schema {
  for (const keyword of Object.keys(schema)) {
    if (!KEYWORDS.has(keyword)) throw new Error(`schemaCases does not know the keyword "${keyword}"`);
  }
  return schema as Schema;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      throw new Error(`schemaCases does not know the type "${type}"`);
  }
}

/** Whether `value` satisfies `schema` (characters counted as code points, as JSON Schema does). */
export function satisfies(schema: JsonSchema, value: unknown): boolean {
  const s = known(schema);
  if (s.type !== undefined && ![s.type].flat().some((t) => hasType(t, value))) return false;
  if ('const' in s && value !== s.const) return false;
  if (s.enum && !s.enum.includes(value)) return false;
  if (typeof value === 'string') {
    const length = [...value].length;
    if (s.minLength !== undefined && length < s.minLength) return false;
    if (s.maxLength !== undefined && length > s.maxLength) return false;
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) return false;
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && !(value >= s.minimum)) return false;
    if (s.maximum !== undefined && !(value <= s.maximum)) return false;
    if (s.exclusiveMinimum !== undefined && !(value > s.exclusiveMinimum)) return false;
    if (s.exclusiveMaximum !== undefined && !(value < s.exclusiveMaximum)) return false;
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) return false;
    if (s.maxItems !== undefined && value.length > s.maxItems) return false;
    // Array.prototype's, not the value's own: a hostile array may have had its prototype replaced.
    if (s.items && !Array.prototype.every.call(value, (item: unknown) => satisfies(s.items!, item)))
      return false;
  }
  if (isObject(value)) {
    // A field whose value is undefined is absent (it does not survive JSON, and handlers read it so).
    const present = (key: string): boolean =>
      Object.prototype.hasOwnProperty.call(value, key) && value[key] !== undefined;
    if (s.required && !s.required.every(present)) return false;
    for (const [key, sub] of Object.entries(s.properties ?? {})) {
      if (present(key) && !satisfies(sub, value[key])) return false;
    }
  }
  if (s.anyOf && !s.anyOf.some((sub) => satisfies(sub, value))) return false;
  if (s.allOf && !s.allOf.every((sub) => satisfies(sub, value))) return false;
  return true;
}

/**
 * Values that satisfy `schema`: the smallest, the one with every optional field, and the edges of each
 * bound (the longest string, the largest number…). Patterns need an example in the description.
 */
export function validValues(schema: JsonSchema): unknown[] {
  const s = known(schema);
  if (s.anyOf) return s.anyOf.flatMap((sub) => validValues(sub));
  if (s.examples) return s.examples;
  if ('const' in s) return [s.const];
  if (s.enum) return s.enum;
  if (s.pattern !== undefined || s.allOf) throw new Error(`give ${JSON.stringify(s)} an example`);
  const type = [s.type ?? 'any'].flat()[0];
  switch (type) {
    case 'string': {
      const shortest = 'x'.repeat(Math.max(s.minLength ?? 0, 1));
      // A bound in the millions (an export) is not worth a string that long in every case.
      return s.maxLength !== undefined && s.maxLength <= 100_000
        ? [shortest, 'x'.repeat(s.maxLength)]
        : [shortest];
    }
    case 'integer':
      return [s.minimum ?? 0, ...(s.maximum !== undefined ? [s.maximum] : [])];
    case 'number': {
      const low = s.exclusiveMinimum ?? s.minimum ?? 0;
      const high = s.maximum ?? low + 1;
      return [(low + high) / 2, ...(s.maximum !== undefined ? [s.maximum] : [])];
    }
    case 'boolean':
      return [true, false];
    case 'null':
      return [null];
    case 'array': {
      const item = s.items ? validValues(s.items) : [0];
      const count = Math.max(s.minItems ?? 0, 1);
      return [
        Array.from({ length: count }, (_, i) => item[i % item.length]),
        ...(s.maxItems !== undefined
          ? [Array.from({ length: s.maxItems }, (_, i) => item[i % item.length])]
          : []),
      ];
    }
    case 'object': {
      const properties = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const smallest = Object.fromEntries(
        Object.entries(properties)
          .filter(([key]) => required.has(key))
          .map(([key, sub]) => [key, validValues(sub)[0]]),
      );
      const fullest = Object.fromEntries(
        Object.entries(properties).map(([key, sub]) => [key, validValues(sub)[0]]),
      );
      // Each field at each of its valid values, the others at their smallest.
      const edges = Object.entries(properties).flatMap(([key, sub]) =>
        validValues(sub).map((v) => ({ ...smallest, [key]: v })),
      );
      return [smallest, fullest, ...edges];
    }
    default:
      return [42, 'anything', null];
  }
}

/** Strings a hostile webview would try where a pattern is: traversal, absolute paths, hidden files… */
const HOSTILE_STRINGS = [
  '',
  '../runs.csv',
  '..\\runs.csv',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  '.hidden.csv',
  'a/b.csv',
  'runs.csv.exe',
  'runs.txt',
  'data:text/html,<script>alert(1)</script>',
  'javascript:alert(1)',
  '<img src=x onerror=alert(1)>',
];

/** Values that each break one constraint of `schema` (and so must not satisfy it). */
export function invalidValues(schema: JsonSchema): unknown[] {
  const s = known(schema);
  const out: unknown[] = [];
  const types = s.type === undefined ? [] : [s.type].flat();
  if (s.anyOf) {
    const all = s.anyOf.flatMap((sub) => invalidValues(sub));
    return all.filter((v) => !satisfies(schema, v));
  }
  if (types.length > 0) {
    for (const wrong of [null, true, 1.5, 'x', [], {}, NaN, Infinity]) {
      if (!types.some((t) => hasType(t, wrong))) out.push(wrong);
    }
  }
  if ('const' in s) out.push(typeof s.const === 'string' ? `${s.const}x` : null);
  if (s.enum) out.push('not-one-of-them');
  if (s.minLength !== undefined && s.minLength > 0) out.push('x'.repeat(s.minLength - 1));
  if (s.maxLength !== undefined) out.push(s.maxLength <= 100_000 ? 'x'.repeat(s.maxLength + 1) : undefined);
  const patterns = [s.pattern, ...(s.allOf ?? []).map((sub) => (sub as Schema).pattern)].filter(
    (p): p is string => p !== undefined,
  );
  for (const pattern of patterns)
    out.push(...HOSTILE_STRINGS.filter((h) => !new RegExp(pattern, 'u').test(h)));
  if (s.minimum !== undefined) out.push(s.minimum - 1);
  if (s.maximum !== undefined) out.push(s.maximum + 1, s.maximum * 2 + 1);
  if (s.exclusiveMinimum !== undefined) out.push(s.exclusiveMinimum, s.exclusiveMinimum - 1);
  if (s.exclusiveMaximum !== undefined) out.push(s.exclusiveMaximum);
  if (types.includes('integer')) out.push(0.5, -Infinity);
  if (types.includes('number')) out.push(NaN, Infinity, -Infinity);
  if (types.includes('array')) {
    const good = s.items ? validValues(s.items)[0] : 0;
    if (s.minItems !== undefined && s.minItems > 0) out.push(Array(s.minItems - 1).fill(good));
    if (s.maxItems !== undefined) out.push(Array(s.maxItems + 1).fill(good));
    if (s.items) for (const bad of invalidValues(s.items)) out.push([bad]);
  }
  if (types.includes('object')) {
    const smallest = validValues(schema)[0] as Record<string, unknown>;
    for (const key of s.required ?? []) {
      const { [key]: _dropped, ...rest } = smallest;
      out.push(rest);
    }
    for (const [key, sub] of Object.entries(s.properties ?? {})) {
      for (const bad of invalidValues(sub)) out.push({ ...smallest, [key]: bad });
    }
  }
  return out.filter((v) => v !== undefined && !satisfies(schema, v));
}

/** Each place a value can be in a schema: its path (`edit.path`) and schema (allOf parts only refine it). */
export function* subSchemas(schema: JsonSchema, path = ''): Generator<[string, Schema]> {
  const s = known(schema);
  yield [path, s];
  for (const [key, sub] of Object.entries(s.properties ?? {}))
    yield* subSchemas(sub, path ? `${path}.${key}` : key);
  if (s.items) yield* subSchemas(s.items, `${path}[]`);
  for (const sub of s.anyOf ?? []) yield* subSchemas(sub, path);
}
