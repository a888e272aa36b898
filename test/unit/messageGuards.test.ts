/**
 * The message guards under test, with every case derived from the one description per message
 * (src/protocol/{webview,trainer}MessageSchemas.ts) rather than from a second copy of the contracts:
 * - every message type of every channel: its valid values are accepted, and a value breaking any one
 *   constraint of its description is refused — so a guard that is removed, loosened or skips a message
 *   fails here (the descriptions' types make a message without a description a compile error);
 * - what a webview sends is bounded: every string, number and list has a limit in its description;
 * - each field of each valid message set to each of a list of hostile values (path escapes, hidden and
 *   doubled extensions, huge strings and numbers, wrong types): what a guard accepts is what the handler
 *   can take, checked deterministically so loosening a file-name pattern or a bound a handler relies on
 *   is always caught;
 * - 20 000 random and mutated values: no guard throws, and whatever a guard accepts satisfies the
 *   description (checked by an interpreter written independently of ajv) and what the host relies on.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createRng, type Rng } from '../../src/core/rng';
import * as guards from '../../src/protocol/messageGuards';
import { MESSAGE_CHANNELS } from '../../src/protocol/messageGuards';
import * as sweepEventSchemas from '../../src/protocol/sweepEventSchemas';
import * as trainerMessageSchemas from '../../src/protocol/trainerMessageSchemas';
import * as webviewMessageSchemas from '../../src/protocol/webviewMessageSchemas';
import { variantSchemas, type JsonSchema } from '../../src/protocol/messageSchema';
import { invalidValues, satisfies, subSchemas, validValues } from '../helpers/schemaCases';

type Channel = keyof typeof MESSAGE_CHANNELS;
const CHANNELS = Object.entries(MESSAGE_CHANNELS) as [Channel, (typeof MESSAGE_CHANNELS)[Channel]][];

/** The description of each message type of a channel, as JSON Schema. */
const schemasOf = (channel: (typeof MESSAGE_CHANNELS)[Channel]): Record<string, JsonSchema> =>
  variantSchemas(channel.tag, channel.shapes as Parameters<typeof variantSchemas>[1]);

/** Fields a webview may fill with any value: the handler validates them itself. */
const UNBOUNDED_BY_DESIGN = new Set([
  // checked against the experiment schema and shown as a problem in the file
  'experimentPanel.setValue.value',
]);

/** What the host's handlers rely on beyond the types, stated where it matters for safety. */
const RELIED_ON: Partial<Record<Channel, (m: Record<string, unknown>) => boolean>> = {
  comparePanel: (m) => {
    if (m.type !== 'saveCsv' && m.type !== 'savePng') return true;
    const name = m.suggestedName as string;
    const extension = m.type === 'saveCsv' ? '.csv' : '.png';
    const plainName = !/[/\\]/.test(name) && !name.includes('..') && !name.startsWith('.');
    const png = m.type !== 'savePng' || (m.dataUrl as string).startsWith('data:image/png;base64,');
    return plainName && name.endsWith(extension) && png;
  },
  trainingPanel: (m) =>
    (m.type !== 'showCell' ||
      [m.trueIndex, m.predictedIndex].every(
        (i) => Number.isInteger(i) && (i as number) >= 0 && (i as number) < 10000,
      )) &&
    (m.type !== 'openImage' || (typeof m.file === 'string' && m.file.length <= 4095)),
  experimentPanel: (m) =>
    m.type !== 'previewAugmentation' ||
    (Number.isInteger(m.seed) && (m.seed as number) >= 0 && (m.seed as number) <= 0x7fffffff),
  lrFinderPanel: (m) =>
    m.type !== 'useLearningRate' ||
    (typeof m.value === 'number' && Number.isFinite(m.value) && m.value > 0 && m.value <= 100),
};

describe('message guards from one description per message', () => {
  it('accept every valid value of every message and refuse each broken constraint', () => {
    let messages = 0;
    let refusals = 0;
    for (const [name, channel] of CHANNELS) {
      for (const [type, schema] of Object.entries(schemasOf(channel))) {
        messages++;
        for (const value of validValues(schema)) {
          assert.ok(satisfies(schema, value), `${name}.${type}: generated ${JSON.stringify(value)} is valid`);
          assert.equal(
            channel.guard(value),
            true,
            `${name} guard accepts ${JSON.stringify(value)?.slice(0, 200)}`,
          );
        }
        const invalid = invalidValues(schema);
        assert.ok(invalid.length > 0, `${name}.${type} has constraints to break`);
        for (const value of invalid) {
          refusals++;
          assert.equal(
            channel.guard(value),
            false,
            `${name} guard refuses ${JSON.stringify(value)?.slice(0, 200)}`,
          );
        }
      }
    }
    assert.ok(messages >= 30, `${messages} message types`);
    assert.ok(refusals > 300, `${refusals} refusals`);
  });

  it('cover every channel described, and every panel host checks its messages with its channel guard', () => {
    // A description left out of MESSAGE_CHANNELS would not be fuzzed: every set of shapes the schema
    // modules export is some channel's.
    const described = Object.entries({
      ...webviewMessageSchemas,
      ...trainerMessageSchemas,
      ...sweepEventSchemas,
    })
      .filter(([name]) => name.endsWith('_MESSAGES') || name === 'LAYER_EDITS' || name === 'SWEEP_EVENTS')
      .map(([name, shapes]) => [name, shapes] as const);
    assert.ok(described.length >= 8, described.map(([n]) => n).join(', '));
    for (const [name, shapes] of described)
      assert.ok(
        CHANNELS.some(([, channel]) => channel.shapes === shapes),
        `${name} is not in MESSAGE_CHANNELS`,
      );
    // A panel that handed WebviewPanelHost a guard of its own (or none) would act on unchecked input.
    const guardName = new Map(
      Object.entries(guards)
        .filter(([, value]) => typeof value === 'function')
        .map(([name, value]) => [value, name]),
    );
    const panelsDir = path.resolve(__dirname, '../../../src/host/panels');
    const hosts = fs
      .readdirSync(panelsDir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => {
        const source = fs.readFileSync(path.join(panelsDir, file), 'utf8');
        return [...source.matchAll(/new WebviewPanelHost(?:<[^>]*>)?\(\{([\s\S]*?)\}\);/g)].map((m) => ({
          file,
          source,
          bundle: /bundle: '(\w+)'/.exec(m[1])?.[1],
          isMessage: /isMessage: (\w+),/.exec(m[1])?.[1],
        }));
      });
    const bundles = fs
      .readdirSync(path.resolve(__dirname, '../../../webview'))
      .filter((dir) => fs.existsSync(path.resolve(__dirname, '../../../webview', dir, 'main.ts')));
    assert.deepEqual(
      hosts.map((h) => h.bundle).sort(),
      [...bundles].sort(),
      'one panel host per webview bundle',
    );
    for (const host of hosts) {
      const channel = MESSAGE_CHANNELS[`${host.bundle}Panel` as Channel];
      assert.ok(channel, `${host.file}: no channel for the ${host.bundle} bundle`);
      assert.equal(host.isMessage, guardName.get(channel.guard), `${host.file} passes its channel guard`);
      assert.match(
        host.source,
        new RegExp(`import \\{[^}]*\\b${host.isMessage}\\b[^}]*\\} from '../../protocol/messageGuards'`),
        `${host.file} takes ${host.isMessage} from messageGuards`,
      );
    }
  });

  it('bound every string, number and list a webview sends', () => {
    for (const [name, channel] of CHANNELS.filter(([, c]) => c.fromWebview)) {
      for (const [type, schema] of Object.entries(schemasOf(channel))) {
        for (const [path, s] of subSchemas(schema)) {
          const where = `${name}.${type}${path ? `.${path}` : ''}`;
          const types = [s.type ?? []].flat();
          const fixed = 'const' in s || s.enum !== undefined;
          if (types.length === 0 && !fixed && !s.anyOf && !s.allOf)
            assert.ok(UNBOUNDED_BY_DESIGN.has(where), `${where} accepts anything`);
          if (types.includes('string') && !fixed)
            assert.ok(s.maxLength !== undefined, `${where} has a maxLength`);
          if (types.includes('number') || types.includes('integer')) {
            assert.ok(
              s.minimum !== undefined || s.exclusiveMinimum !== undefined,
              `${where} has a lower bound`,
            );
            assert.ok(
              s.maximum !== undefined || s.exclusiveMaximum !== undefined,
              `${where} has an upper bound`,
            );
          }
          if (types.includes('array')) assert.ok(s.maxItems !== undefined, `${where} has a maxItems`);
        }
      }
    }
  });

  it('refuse each hostile value in each field of each message where the handler relies on more than the types', () => {
    // Deterministic, so a loosened description (a file-name pattern, a bound) is caught every time, not
    // when the random pass below happens to hit the one value that shows it.
    let accepted = 0;
    for (const [name, channel] of CHANNELS) {
      for (const [type, schema] of Object.entries(schemasOf(channel))) {
        for (const message of validValues(schema)) {
          for (const field of leafPaths(message)) {
            for (const hostile of HOSTILE) {
              const value = withField(message, field, hostile);
              if (!channel.guard(value)) continue;
              accepted++;
              const shown = `${name}.${type} with ${field.join('.')} = ${JSON.stringify(hostile)?.slice(0, 40)}`;
              assert.ok(satisfies(schema, value), `${shown} accepted, which its description forbids`);
              assert.ok(
                RELIED_ON[name]?.(value as Record<string, unknown>) ?? true,
                `${shown} accepted, which its handler cannot take`,
              );
            }
          }
        }
      }
    }
    assert.ok(accepted > 0, 'some hostile values are legitimate somewhere (plain names, numbers in range)');
  });

  it('never throw on 20 000 random and mutated values, and accept only what the descriptions allow', () => {
    const rng = createRng('guard-fuzz');
    const valid = CHANNELS.flatMap(([, channel]) =>
      Object.values(schemasOf(channel)).flatMap((s) => validValues(s)),
    );
    const accepted = new Map<Channel, number>(CHANNELS.map(([name]) => [name, 0]));
    for (let i = 0; i < 20000; i++) {
      const value = i % 2 === 0 ? randomValue(rng, 0) : mutate(valid[rng.int(valid.length)], rng);
      for (const [name, channel] of CHANNELS) {
        let ok: boolean;
        try {
          ok = channel.guard(value);
        } catch (error) {
          assert.fail(`${name} guard threw on ${JSON.stringify(value)}: ${String(error)}`);
        }
        assert.equal(typeof ok, 'boolean');
        if (!ok) continue;
        accepted.set(name, accepted.get(name)! + 1);
        const message = value as Record<string, unknown>;
        const schema = schemasOf(channel)[message[channel.tag] as string];
        const shown = JSON.stringify(value)?.slice(0, 300);
        assert.ok(
          schema && satisfies(schema, value),
          `${name} accepted ${shown}, which its description forbids`,
        );
        assert.ok(
          RELIED_ON[name]?.(message) ?? true,
          `${name} accepted ${shown}, which its handler cannot take`,
        );
      }
    }
    // The fuzz must reach the accepting branches, or it proves nothing.
    for (const [name, n] of accepted) assert.ok(n > 50, `${name} accepted ${n} values`);
  });
});

// ───────────── Random values: junk, and valid messages with one field broken ─────────────

const TAGS = CHANNELS.flatMap(([, channel]) => Object.keys(channel.shapes));
const KEYS = [
  ...new Set(
    CHANNELS.flatMap(([, channel]) =>
      Object.values(schemasOf(channel)).flatMap((s) =>
        [...subSchemas(s)].map(([path]) => path.split('.').pop()!),
      ),
    ),
  ),
  '__proto__',
  'constructor',
].filter(Boolean);
const STRINGS = [
  '',
  'x',
  '../../../etc/passwd',
  'a.csv',
  'a.png',
  '../a.csv',
  'data:image/png;base64,AAAA',
  'data:text/html,<script>',
  '<img src=x onerror=alert(1)>',
  'x'.repeat(5000),
  '\u0000',
  'sub/a.csv',
  'sub\\a.png',
  '.a.csv',
  '..csv',
  'a.csv.png',
  'a.png.csv',
];
const NUMBERS = [0, 1, 2, -1, 0.5, 9999, 10000, 1e12, NaN, Infinity, -Infinity, -0, 0x7fffffff, 100, 101];

/** Every value a hostile webview might put into one field. */
const HOSTILE: unknown[] = [
  ...STRINGS,
  'x'.repeat(4096),
  ...NUMBERS,
  0x80000000,
  -0x80000000,
  null,
  true,
  [],
  {},
];

/** The paths of a message's leaf fields (not its tag), nested objects and lists included. */
function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return prefix.length > 0 ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  const paths = entries
    .filter(([key]) => !(prefix.length === 0 && (key === 'type' || key === 'kind')))
    .flatMap(([key, v]) => leafPaths(v, [...prefix, key]));
  return paths.length > 0 || prefix.length === 0 ? paths : [prefix];
}

/** A copy of `message` with the field at `path` set to `value`. */
function withField(message: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(message) as Record<string | number, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  target[path[path.length - 1]] = value;
  return copy;
}

function randomValue(rng: Rng, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];
  switch (rng.int(depth > 2 ? 5 : 8)) {
    case 0:
      return pick(NUMBERS);
    case 1:
      return pick([...STRINGS, ...TAGS]);
    case 2:
      return pick([null, undefined, true, false]);
    case 3:
      return rng.next() < 0.5 ? [] : {};
    case 4:
      return pick(TAGS);
    case 5:
    case 6: {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(5); i >= 0; i--) {
        Object.defineProperty(out, pick(KEYS), {
          value: randomValue(rng, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      if (rng.next() < 0.8) out[rng.next() < 0.8 ? 'type' : 'kind'] = pick(TAGS);
      return out;
    }
    default:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
  }
}

/** A copy of a valid message with one field (possibly nested) deleted, retyped or replaced. */
function mutate(message: unknown, rng: Rng): unknown {
  const copy = structuredClone(message);
  if (typeof copy !== 'object' || copy === null) return copy;
  let target = copy as Record<string, unknown>;
  for (const value of Object.values(target)) {
    if (typeof value === 'object' && value !== null && rng.next() < 0.5)
      target = value as Record<string, unknown>;
  }
  const keys = Object.keys(target);
  const key = rng.next() < 0.8 && keys.length > 0 ? keys[rng.int(keys.length)] : KEYS[rng.int(KEYS.length)];
  if (rng.next() < 0.3) delete target[key];
  else target[key] = randomValue(rng, 2);
  return copy;
}
