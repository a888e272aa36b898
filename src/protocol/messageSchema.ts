/**
 * How a message is described: one JSON Schema per field, keyed by the message's type. From these
 * descriptions come both the guards that check every message before the host or the trainer acts on it
 * (messageGuards.ts, compiled with ajv) and the cases the fuzz test throws at them
 * (test/webview/security.test.ts), so the two cannot drift apart.
 *
 * The types tie a description to its TypeScript union: a message type without a description, a field
 * without a schema, or a schema for a field the message does not have, does not compile. Whether a field
 * is required comes from the type too (an optional property is optional in the schema).
 * Pure data, no ajv: the webviews may import the types next to it.
 */
import type { JsonSchema } from './experimentSchema';

export type { JsonSchema };

/** Keys of T whose properties are not optional. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;

/** A schema for every field: `fields` those the message always has, `optional` the others. */
export type Shape<M, Tag extends keyof M> = ([Exclude<RequiredKeys<M>, Tag>] extends [never]
  ? { fields?: Record<string, never> }
  : { fields: { [K in Exclude<RequiredKeys<M>, Tag>]-?: JsonSchema } }) &
  ([OptionalKeys<M>] extends [never]
    ? { optional?: Record<string, never> }
    : { optional: { [K in OptionalKeys<M>]-?: JsonSchema } });

/** One shape per variant of the union U, keyed by its tag (`type` for messages, `kind` for layer edits). */
export type Shapes<
  U extends Record<Tag, string>,
  Tag extends keyof U & string = 'type' & keyof U & string,
> = {
  readonly [V in U[Tag]]: Shape<Extract<U, Record<Tag, V>>, Tag>;
};

/** The JSON Schema of one variant: an object whose tag is `value`, with the shape's fields. */
export function variantSchema(
  tag: string,
  value: string,
  shape: { fields?: Record<string, JsonSchema>; optional?: Record<string, JsonSchema> },
): JsonSchema {
  const fields = shape.fields ?? {};
  return {
    type: 'object',
    properties: { [tag]: { const: value }, ...fields, ...(shape.optional ?? {}) },
    required: [tag, ...Object.keys(fields)],
  };
}

/** Every variant's schema, by tag value. */
export function variantSchemas(
  tag: string,
  shapes: Readonly<
    Record<string, { fields?: Record<string, JsonSchema>; optional?: Record<string, JsonSchema> }>
  >,
): Record<string, JsonSchema> {
  return Object.fromEntries(
    Object.entries(shapes).map(([value, shape]) => [value, variantSchema(tag, value, shape)]),
  );
}

/** One of the variants (the schema of a field that holds a union, e.g. a layer edit). */
export function unionSchema(tag: string, shapes: Parameters<typeof variantSchemas>[1]): JsonSchema {
  return { anyOf: Object.values(variantSchemas(tag, shapes)) };
}

// ─────────── Field schemas the descriptions share ───────────

/** A string of at most `max` characters (code points). */
export const text = (max: number, extra: JsonSchema = {}): JsonSchema => ({
  type: 'string',
  maxLength: max,
  ...extra,
});

/** An integer in [min, max]. */
export const integer = (min: number, max: number): JsonSchema => ({
  type: 'integer',
  minimum: min,
  maximum: max,
});

/** An index into a list the host holds (classes, suggestions): a non-negative integer below 10 000. */
export const INDEX: JsonSchema = integer(0, 9999);

export const BOOLEAN: JsonSchema = { type: 'boolean' };
