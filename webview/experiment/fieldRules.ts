/**
 * Inline validation of the experiment panel's fields, read from EXPERIMENT_SCHEMA itself.
 *
 * The host validates the whole file with ajv, but a webview's CSP forbids eval (ajv compiles validators
 * with `new Function`), so the panel checks one field at a time with this small interpreter of the
 * keywords the schema actually uses: type, enum, const, anyOf, minimum / exclusiveMinimum / maximum /
 * exclusiveMaximum, minLength, minItems / maxItems / items. Reading the bounds from the schema means the
 * panel cannot drift from the file format. No DOM here, so it is unit-tested directly from Node.
 */
import type { JsonSchema } from '../../src/protocol/experimentSchema';

export type JsonPath = readonly (string | number)[];

export type ParseResult = { ok: true; value: unknown } | { ok: false; message: string };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const asSchema = (v: unknown): JsonSchema | undefined => (isObject(v) ? v : undefined);

const branches = (schema: JsonSchema): JsonSchema[] =>
  Array.isArray(schema.anyOf) ? schema.anyOf.filter(isObject) : [];

/** The schema node describing the value at `path` (object keys and array indices), if the schema has one. */
export function schemaAt(root: JsonSchema, path: JsonPath): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const key of path) {
    if (!node) return undefined;
    node = childSchema(node, key);
  }
  return node;
}

function childSchema(node: JsonSchema, key: string | number): JsonSchema | undefined {
  if (typeof key === 'number') return asSchema(node.items);
  const properties = asSchema(node.properties);
  if (properties && Object.prototype.hasOwnProperty.call(properties, key)) return asSchema(properties[key]);
  // `earlyStopping` is an anyOf of an object and `false`: its keys live in the object branch.
  for (const branch of branches(node)) {
    const found = childSchema(branch, key);
    if (found) return found;
  }
  return asSchema(node.additionalProperties);
}

/** Whether the key at `path` is listed in its parent's `required` (so an empty field cannot remove it). */
export function isRequired(root: JsonSchema, path: JsonPath): boolean {
  const key = path[path.length - 1];
  const parent = schemaAt(root, path.slice(0, -1));
  return typeof key === 'string' && Array.isArray(parent?.required) && parent.required.includes(key);
}

/** The schema's description of a field, or of the anyOf branch that has one. */
export function descriptionOf(schema: JsonSchema | undefined): string {
  if (!schema) return '';
  if (typeof schema.description === 'string') return schema.description;
  const described = branches(schema).find((b) => typeof b.description === 'string');
  return typeof described?.description === 'string' ? described.description : '';
}

/** The allowed values of an enum field (for select boxes), or undefined. */
export function enumOf(schema: JsonSchema | undefined): string[] | undefined {
  return Array.isArray(schema?.enum) ? schema.enum.map(String) : undefined;
}

const typesOf = (schema: JsonSchema): string[] =>
  typeof schema.type === 'string' ? [schema.type] : Array.isArray(schema.type) ? schema.type.map(String) : [];

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Structural equality of JSON values (key order as written). */
export const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Why `value` does not satisfy `schema`, or undefined when it does. */
export function checkValue(schema: JsonSchema, value: unknown): string | undefined {
  const alternatives = branches(schema);
  if (alternatives.length > 0) {
    const messages = alternatives.map((b) => checkValue(b, value));
    if (messages.some((m) => m === undefined)) return undefined;
    return messages[0];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => sameJson(e, value))) {
    return `Must be one of: ${schema.enum.map(show).join(', ')}`;
  }
  if ('const' in schema && !sameJson(schema.const, value)) return `Must be ${show(schema.const)}`;
  const types = typesOf(schema);
  if (types.length > 0 && !types.some((t) => hasType(t, value))) return typeMessage(types[0]);
  if (typeof value === 'number') return checkNumber(schema, value);
  if (typeof value === 'string') {
    const minLength = num(schema.minLength);
    if (minLength !== undefined && value.length < minLength) {
      return minLength === 1 ? 'Must not be empty' : `Must be at least ${minLength} characters`;
    }
  }
  if (Array.isArray(value)) return checkArray(schema, value);
  if (isObject(value)) return checkObject(schema, value);
  return undefined;
}

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    case 'null':
      return value === null;
    default:
      return true;
  }
}

function typeMessage(type: string): string {
  switch (type) {
    case 'integer':
      return 'Must be a whole number';
    case 'number':
      return 'Must be a number';
    case 'boolean':
      return 'Must be true or false';
    case 'array':
      return 'Must be a list of values';
    default:
      return `Must be a ${type}`;
  }
}

function checkNumber(schema: JsonSchema, value: number): string | undefined {
  const minimum = num(schema.minimum);
  const exclusiveMinimum = num(schema.exclusiveMinimum);
  const maximum = num(schema.maximum);
  const exclusiveMaximum = num(schema.exclusiveMaximum);
  if (minimum !== undefined && value < minimum) return `Must be at least ${minimum}`;
  if (exclusiveMinimum !== undefined && value <= exclusiveMinimum) {
    return `Must be greater than ${exclusiveMinimum}`;
  }
  if (maximum !== undefined && value > maximum) return `Must be at most ${maximum}`;
  if (exclusiveMaximum !== undefined && value >= exclusiveMaximum) {
    return `Must be less than ${exclusiveMaximum}`;
  }
  return undefined;
}

function checkArray(schema: JsonSchema, value: unknown[]): string | undefined {
  const minItems = num(schema.minItems);
  const maxItems = num(schema.maxItems);
  if (minItems !== undefined && minItems === maxItems && value.length !== minItems) {
    return `Enter exactly ${minItems} values, separated by commas`;
  }
  if (minItems !== undefined && value.length < minItems) return `Enter at least ${minItems} values`;
  if (maxItems !== undefined && value.length > maxItems) return `Enter at most ${maxItems} values`;
  const items = asSchema(schema.items);
  if (!items) return undefined;
  for (let i = 0; i < value.length; i++) {
    const message = checkValue(items, value[i]);
    if (message) return `Value ${i + 1}: ${lowerFirst(message)}`;
  }
  return undefined;
}

function checkObject(schema: JsonSchema, value: Record<string, unknown>): string | undefined {
  for (const [key, child] of Object.entries(value)) {
    const childSchema = asSchema(asSchema(schema.properties)?.[key]) ?? asSchema(schema.additionalProperties);
    if (!childSchema) {
      if (schema.additionalProperties === false) return `Unknown key "${key}"`;
      continue;
    }
    const message = checkValue(childSchema, child);
    if (message) return `${key}: ${lowerFirst(message)}`;
  }
  return undefined;
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

// Plain decimal or scientific notation only: Number() would also accept '0x10', '' and 'Infinity'.
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(text: string, type: string): ParseResult {
  if (!NUMBER_TEXT.test(text)) {
    return { ok: false, message: type === 'integer' ? 'Enter a whole number' : 'Enter a number' };
  }
  return { ok: true, value: Number(text) };
}

/**
 * Turns what the user typed into the value to write, checked against the field's schema. An empty field
 * means "remove the key" (value undefined, so the default applies) unless the key is required. Lists are
 * comma (or space) separated, optionally in brackets: "128, 64" → [128, 64]; "[]" is the empty list.
 */
export function parseFieldText(schema: JsonSchema, text: string, required = false): ParseResult {
  const trimmed = text.trim();
  if (trimmed === '') return required ? { ok: false, message: 'Required' } : { ok: true, value: undefined };
  const type = typesOf(schema)[0];
  let parsed: ParseResult;
  if (type === 'number' || type === 'integer') {
    parsed = parseNumber(trimmed, type);
  } else if (type === 'array') {
    parsed = parseList(schema, trimmed);
  } else if (type === 'boolean') {
    parsed =
      trimmed === 'true' || trimmed === 'false'
        ? { ok: true, value: trimmed === 'true' }
        : { ok: false, message: 'Enter true or false' };
  } else {
    parsed = { ok: true, value: trimmed };
  }
  if (!parsed.ok) return parsed;
  const message = checkValue(schema, parsed.value);
  return message ? { ok: false, message } : parsed;
}

function parseList(schema: JsonSchema, text: string): ParseResult {
  const inner = text.replace(/^\[/, '').replace(/\]$/, '').trim();
  const parts = inner === '' ? [] : inner.split(/[\s,]+/).filter((p) => p !== '');
  const items = asSchema(schema.items) ?? {};
  const itemType = typesOf(items)[0];
  const values: unknown[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (itemType === 'number' || itemType === 'integer') {
      const item = parseNumber(parts[i], itemType);
      if (!item.ok)
        return { ok: false, message: `Value ${i + 1} ("${parts[i]}"): ${lowerFirst(item.message)}` };
      values.push(item.value);
    } else {
      values.push(parts[i]);
    }
  }
  return { ok: true, value: values };
}

/** How a stored value is shown in a text field: lists as "a, b", everything else as its JSON text. */
export function formatFieldValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(formatFieldValue).join(', ');
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The value at `path` inside a JSON document (undefined when any step is missing). */
export function valueAt(document: unknown, path: JsonPath): unknown {
  let node: unknown = document;
  for (const key of path) {
    if (typeof key === 'number') node = Array.isArray(node) ? node[key] : undefined;
    else node = isObject(node) && Object.prototype.hasOwnProperty.call(node, key) ? node[key] : undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * `training.gradualUnfreezing.blocks`: "auto", or layer paths separated by commas (paths may hold spaces,
 * so only commas separate them). Empty removes the key (the default, "auto").
 */
export function parseBlocksText(schema: JsonSchema, text: string): ParseResult {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: undefined };
  const value =
    trimmed === 'auto'
      ? 'auto'
      : trimmed
          .replace(/^\[/, '')
          .replace(/\]$/, '')
          .split(',')
          .map((part) => part.trim().replace(/^"(.*)"$/, '$1'))
          .filter((part) => part !== '');
  if (Array.isArray(value) && value.length === 0)
    return { ok: false, message: 'Enter "auto" or layer paths' };
  const message = checkValue(schema, value);
  return message
    ? { ok: false, message: `Enter "auto" or layer paths separated by commas` }
    : { ok: true, value };
}
