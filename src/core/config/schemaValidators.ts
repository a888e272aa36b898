/**
 * The experiment and sweep files' schema validators: the code the build generated from the schemas
 * (precompiledValidators.ts, by scripts/precompileValidators.mjs) when it was generated from the schema
 * this code holds now, else compiled with ajv here, once per process.
 *
 * Why: compiling the experiment schema took 90–126 ms in a fresh process on the 2-core development
 * machine, paid by every trainer, CLI command and sweep trial before its first step. The generated code is
 * ajv's own output for the same schema and options, so both report the same errors (tested).
 */
import { createHash } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import { EXPERIMENT_SCHEMA } from '../../protocol/experimentSchema';
import { SWEEP_SCHEMA } from '../../protocol/sweepSchema';
import { PRECOMPILED_SCHEMA_HASHES, precompiledValidators } from './precompiledValidators';

/** ajv's options for both schemas; scripts/precompileValidators.mjs generates with the same (tested). */
export const VALIDATOR_OPTIONS = {
  allErrors: true,
  verbose: true,
  strict: true,
  strictNumbers: true,
} as const;

export type SchemaName = 'experiment' | 'sweep';

const SCHEMAS: Record<SchemaName, object> = { experiment: EXPERIMENT_SCHEMA, sweep: SWEEP_SCHEMA };

/** Where a validator came from: the build's generated code, or compiled in this process. */
export type ValidatorSource = 'precompiled' | 'compiled';

const chosen = new Map<SchemaName, { validate: ValidateFunction; source: ValidatorSource }>();
/** The generated module's validators, evaluated once. */
let generated: Record<string, unknown> | undefined;

export function schemaHash(schema: object): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/**
 * The generated validator when it was generated from exactly `schema`, else one compiled now. Exported
 * with the schema as a parameter for the test of a stale generated file.
 */
export function validatorFor(
  name: SchemaName,
  schema: object,
): { validate: ValidateFunction; source: ValidatorSource } {
  if (PRECOMPILED_SCHEMA_HASHES[name] === schemaHash(schema)) {
    generated ??= precompiledValidators();
    const validate = generated[name];
    if (typeof validate === 'function')
      return { validate: validate as ValidateFunction, source: 'precompiled' };
  }
  return { validate: new Ajv({ ...VALIDATOR_OPTIONS }).compile(schema), source: 'compiled' };
}

/** The validator of an experiment or sweep file, chosen once per process. */
export function schemaValidator(name: SchemaName): ValidateFunction {
  let entry = chosen.get(name);
  if (!entry) {
    entry = validatorFor(name, SCHEMAS[name]);
    chosen.set(name, entry);
  }
  return entry.validate;
}

/** Which validator this process uses for `name` (for the test that the build's code is in use). */
export function schemaValidatorSource(name: SchemaName): ValidatorSource {
  schemaValidator(name);
  return chosen.get(name)!.source;
}
