/**
 * The extension host never blocks its thread on the file system (issue 16): the lint rules refuse every
 * `…Sync` call and import in src/host, and the imports of core functions that do synchronous I/O (listed in
 * scripts/lint/hostSyncIo.mjs), while their asynchronous twins stay allowed. A completeness check keeps the
 * list true: every exported core function whose own body calls a `…Sync` API must be on it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { ESLint } from 'eslint';

const REPO = path.resolve(__dirname, '../../..');
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** [file, code, refused] */
const CASES: [string, string, boolean][] = [
  ['src/host/x.ts', "import * as fs from 'node:fs';\nexport const t = fs.readFileSync('run.json');", true],
  ['src/host/x.ts', "import * as fs from 'node:fs';\nexport const t = fs.existsSync('run.json');", true],
  ['src/host/views/x.ts', "import { statSync } from 'node:fs';\nexport const t = statSync('.');", true],
  [
    'src/host/x.ts',
    "import { readTextFileSync } from '../core/files/regularFile';\nexport const t = readTextFileSync('a', { maxBytes: 1 });",
    true,
  ],
  [
    'src/host/x.ts',
    "import { listRuns } from '../core/runs/readRuns';\nexport const t = listRuns('r');",
    true,
  ],
  [
    'src/host/panels/x.ts',
    "import { readRun } from '../../core/runs/readRuns';\nexport const t = readRun('r');",
    true,
  ],
  [
    'src/host/sweeps/x.ts',
    "import { readSweep } from '../../core/sweep/sweepStore';\nexport const t = readSweep('s');",
    true,
  ],
  [
    'src/host/x.ts',
    "import { parseExperimentText } from '../core/config/loadExperiment';\nexport const t = parseExperimentText('{}', 'f');",
    true,
  ],
  [
    'src/host/x.ts',
    "import { exportRunModel } from '../core/export/exportModel';\nexport const t = exportRunModel;",
    true,
  ],
  // Allowed: the asynchronous twins and fs.promises.
  ['src/host/x.ts', "import { promises as fs } from 'node:fs';\nexport const t = fs.readFile('a');", false],
  [
    'src/host/x.ts',
    "import { listRunsAsync, readRunAsync } from '../core/runs/readRuns';\nexport const t = [listRunsAsync, readRunAsync];",
    false,
  ],
  [
    'src/host/x.ts',
    "import { parseExperimentTextAsync } from '../core/config/loadExperiment';\nexport const t = parseExperimentTextAsync;",
    false,
  ],
  ['src/host/x.ts', "import { RUN_FILE } from '../core/runs/readRuns';\nexport const t = RUN_FILE;", false],
  // The rule is the host's: the CLI and the engine may read synchronously.
  ['src/cli/x.ts', "import * as fs from 'node:fs';\nexport const t = fs.readFileSync('a');", false],
  [
    'src/engine/x.ts',
    "import { listRuns } from '../core/runs/readRuns';\nexport const t = listRuns('r');",
    false,
  ],
];

describe('no synchronous file-system work in the extension host: lint rules', () => {
  const eslint = new ESLint({ cwd: REPO });
  for (const [file, code, refused] of CASES) {
    it(`${refused ? 'refuses' : 'allows'} in ${file}: ${code.split('\n').at(-1)}`, async () => {
      const [result] = await eslint.lintText(`${code}\n`, { filePath: path.join(REPO, file) });
      const refusals = result.messages.filter(
        (m) =>
          (m.ruleId === 'no-restricted-syntax' || m.ruleId === 'no-restricted-imports') &&
          /must not block on the file system/.test(m.message),
      );
      if (refused)
        assert.ok(refusals.length >= 1, `expected a refusal, got ${JSON.stringify(result.messages)}`);
      else assert.deepEqual(refusals, []);
    });
  }

  it('finds no such call anywhere in src/host today', async () => {
    const results = await eslint.lintFiles(['src/host/**/*.ts']);
    const found = results.flatMap((r) =>
      r.messages
        .filter((m) => /must not block on the file system/.test(m.message))
        .map((m) => `${path.relative(REPO, r.filePath)}:${m.line}: ${m.message}`),
    );
    assert.deepEqual(found, []);
  });
});

/** Exported top-level functions of a TypeScript file with the text of their declaration. */
function exportedFunctions(text: string): { name: string; body: string }[] {
  const starts = [
    ...text.matchAll(
      /^(export )?(?:async )?function (\w+)|^(?:export )?(?:const|let|class|interface|type) /gm,
    ),
  ];
  return starts.flatMap((match, i) => {
    if (!match[1] || !match[2]) return [];
    const end = starts[i + 1]?.index ?? text.length;
    return [{ name: match[2], body: text.slice(match.index ?? 0, end) }];
  });
}

describe('no synchronous file-system work in the extension host: the list of sync core functions', () => {
  let listed: Record<string, string[]>;
  before(async () => {
    ({ SYNC_CORE_IO: listed } = (await importEsm(
      pathToFileURL(path.join(REPO, 'scripts/lint/hostSyncIo.mjs')).href,
    )) as { SYNC_CORE_IO: Record<string, string[]> });
  });

  it('names every exported core function that calls a …Sync API itself', () => {
    const core = path.join(REPO, 'src/core');
    const missing: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'portable') walk(full); // portable: no Node built-ins at all
          continue;
        }
        if (!entry.name.endsWith('.ts')) continue;
        const module = path.relative(core, full).replace(/\\/g, '/').replace(/\.ts$/, '');
        for (const fn of exportedFunctions(fs.readFileSync(full, 'utf8'))) {
          const callsSync = /\b\w+Sync\(/.test(fn.body.slice(fn.body.indexOf('{')));
          // …Sync-named functions are refused by the name rule already.
          if (callsSync && !fn.name.endsWith('Sync') && !(listed[module] ?? []).includes(fn.name))
            missing.push(`${module}: ${fn.name}`);
        }
      }
    };
    walk(core);
    assert.deepEqual(
      missing,
      [],
      'add them to scripts/lint/hostSyncIo.mjs (and give the host an async twin)',
    );
  });

  it('lists only functions that exist', () => {
    for (const [module, names] of Object.entries(listed)) {
      const text = fs.readFileSync(path.join(REPO, 'src/core', `${module}.ts`), 'utf8');
      for (const name of names)
        assert.match(text, new RegExp(`export (async )?function ${name}\\b`), `${module}: ${name}`);
    }
  });
});
