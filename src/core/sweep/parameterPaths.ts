/**
 * The keys a sweep may search: dotted paths into the experiment file (`training.learningRate`,
 * `head.dropout`, `freezeUpTo`, `training.earlyStopping.patience`, `layers.<layer path>`), resolved against
 * the experiment schema so each sampled value can be checked with the very rules the experiment loader
 * applies. A layer path may hold dots or slashes: everything after `layers.` is the layer's name.
 */
import { EXPERIMENT_SCHEMA, type JsonSchema } from '../../protocol/experimentSchema';

/** Keys that name or describe the experiment rather than set anything a run learns with. */
const NOT_SEARCHABLE = new Set(['$schema', 'name', 'description']);

export type ResolvedPath =
  | {
      ok: true;
      /** JSON path for jsonc-parser's `modify` (`layers.<path>` keeps the layer name whole). */
      jsonPath: string[];
      schema: JsonSchema;
    }
  | {
      ok: false;
      /** Why the path is refused, and what is known at the point where it stopped. */
      problem: string;
      /** Keys that exist where the path went wrong (for "did you mean"). */
      known: string[];
      /** The part of the path that was valid. */
      validPrefix: string;
    };

const propertiesOf = (schema: JsonSchema): Record<string, JsonSchema> => {
  const own = (schema.properties ?? {}) as Record<string, JsonSchema>;
  // earlyStopping and gradualUnfreezing are "an object of settings or false": the object branch's keys.
  const branches = ((schema.anyOf ?? []) as JsonSchema[]).map(
    (branch) => (branch.properties ?? {}) as Record<string, JsonSchema>,
  );
  return Object.assign({}, ...branches, own) as Record<string, JsonSchema>;
};

export function resolveParameterPath(dotted: string): ResolvedPath {
  if (dotted.trim() === '' || dotted.split('.').some((part) => part === '')) {
    return {
      ok: false,
      problem: `"${dotted}" is not a dotted key — write keys of the experiment file joined by dots, such as "training.learningRate"`,
      known: Object.keys(propertiesOf(EXPERIMENT_SCHEMA)),
      validPrefix: '',
    };
  }
  const parts = dotted.split('.');
  if (parts[0] === 'layers') {
    if (parts.length === 1)
      return {
        ok: false,
        problem:
          '"layers" as a whole cannot be searched — search one layer\'s state with "layers.<layer path>", or "freezeUpTo"',
        known: [],
        validPrefix: 'layers',
      };
    const layer = parts.slice(1).join('.');
    const layers = propertiesOf(EXPERIMENT_SCHEMA).layers;
    return { ok: true, jsonPath: ['layers', layer], schema: layers.additionalProperties as JsonSchema };
  }
  if (NOT_SEARCHABLE.has(parts[0]) && parts.length === 1) {
    return {
      ok: false,
      problem: `"${parts[0]}" is not a setting a run trains with — it cannot be searched`,
      known: [],
      validPrefix: '',
    };
  }
  let schema = EXPERIMENT_SCHEMA;
  for (const [index, part] of parts.entries()) {
    const properties = propertiesOf(schema);
    const next = Object.prototype.hasOwnProperty.call(properties, part) ? properties[part] : undefined;
    const prefix = parts.slice(0, index).join('.');
    if (next === undefined) {
      const keys = Object.keys(properties).filter((key) => !NOT_SEARCHABLE.has(key));
      const where = prefix === '' ? 'the experiment file' : `"${prefix}"`;
      return {
        ok: false,
        problem:
          keys.length === 0
            ? `"${prefix}" holds a single value, not keys — search "${prefix}" itself`
            : `${where} has no key "${part}"`,
        known: keys,
        validPrefix: prefix,
      };
    }
    schema = next;
  }
  return { ok: true, jsonPath: parts, schema };
}

/** The schema's type(s) of a key, as the loader's messages name them ("a whole number", "a number"). */
export function schemaTypes(schema: JsonSchema): string[] {
  const direct = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const branches = ((schema.anyOf ?? []) as JsonSchema[]).flatMap(schemaTypes);
  return [...new Set([...(direct as string[]), ...branches])];
}
