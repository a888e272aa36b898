/**
 * The CLI on a hostile cloned repository (issue 16): `finetune runs` with run.json a link to /dev/zero
 * and metrics.jsonl a FIFO returns at once (it read forever before); run names with terminal escapes are
 * printed as visible text; exports refuse weight files outside the model folder or behind links (and
 * copy nothing); the metrics CSV neutralises formulas; `--force` says what it replaced. Needs `npm run build`.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { main } from '../../src/cli/program';
import type { CliIO } from '../../src/cli/io';
import {
  ANSI_RUN_NAME,
  writeHostileRuns,
  writeReachingModelRun,
  writeSecret,
  type HostileRuns,
} from '../helpers/hostileFixtures';

const CLI = path.resolve(__dirname, '../../../dist/cli.js');
const unix = process.platform !== 'win32';

async function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), cwd, env: {} };
  const code = await main(['node', 'finetune', ...args], io);
  return { code, stdout, stderr };
}

/** dist/cli.js as a user runs it, killed after `timeoutMs` (then `timedOut`). */
function spawnCli(
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, timedOut });
    });
  });
}

describe('the CLI on a hostile repository', { skip: !unix }, () => {
  let repo: string;
  let runs: HostileRuns;
  before(() => {
    assert.ok(fs.existsSync(CLI), 'run `npm run build` first (npm test does)');
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-hostile-cli-'));
    runs = writeHostileRuns(repo);
  });

  it(
    '`finetune runs` returns within 10 s with run.json → /dev/zero and a FIFO as metrics.jsonl',
    { timeout: 20000 },
    async () => {
      const started = Date.now();
      const result = await spawnCli(['runs', '--json'], repo, 10000);
      assert.equal(result.timedOut, false, 'finetune runs hung');
      assert.equal(result.code, 0);
      const listed = JSON.parse(result.stdout) as { id: string; status: string; unreadable?: string }[];
      const zero = listed.find((r) => r.id === path.basename(runs.zeroRun));
      assert.equal(zero?.status, 'unreadable');
      assert.match(zero?.unreadable ?? '', /run\.json is unreadable \(not a regular file\)/);
      assert.ok(
        listed.some((r) => r.id === path.basename(runs.fifoRun)),
        'the FIFO run is listed from its run.json',
      );
      console.log(`finetune runs on the hostile runs folder: ${Date.now() - started} ms`);
    },
  );

  it('run names and backends with terminal escapes are printed as visible text, JSON stays exact', async () => {
    const text = await run(['runs'], repo);
    assert.equal(text.code, 0);
    const shown = text.stdout + text.stderr;
    assert.ok(
      !shown.includes('\u001b') && !shown.includes('\u0007'),
      'no escape or BEL reaches the terminal',
    );
    assert.match(text.stdout, /\\u001b\[2J/, 'shown as \\u001b…');
    const json = await run(['runs', '--json'], repo);
    const ansi = (JSON.parse(json.stdout) as { id: string; name: string }[]).find(
      (r) => r.id === path.basename(runs.ansiRun),
    );
    assert.equal(ansi?.name, ANSI_RUN_NAME, '--json output parses back to the very name');
  });

  it('the metrics CSV of a hostile run neutralises formulas', async () => {
    const result = await run(['export-metrics', path.basename(runs.ansiRun)], repo);
    assert.equal(result.code, 0, result.stderr);
    const csv = fs.readFileSync(path.join(runs.ansiRun, 'metrics.csv'), 'utf8');
    assert.match(csv, /^1,"'=HYPERLINK\(""https:\/\/evil\.example"",""x""\)",0\.5,/m);
  });

  for (const how of ['dotdot', 'symlink', 'linked-folder'] as const) {
    it(`export refuses a weights manifest that reaches out of the model folder (${how}) and copies nothing`, async () => {
      const secret = writeSecret();
      const runDir = writeReachingModelRun(runs.runsDir, `20250102-000000-reach-${how}`, how, secret);
      const out = path.join(repo, `export-${how}`);
      const result = await run(['export', runDir, out], repo);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        how === 'dotdot'
          ? /is outside the model folder/
          : /symbolic link; weights must be plain files|reached through a symbolic link/,
      );
      assert.equal(fs.existsSync(out), false, 'no export folder');
      const leaked = fs
        .readdirSync(repo, { recursive: true, withFileTypes: false })
        .map(String)
        .filter((f) => f.startsWith('.export-') || f.includes('weights.bin'));
      assert.deepEqual(
        leaked.filter((f) => !f.startsWith('.finetune')),
        [],
        'nothing staged or copied',
      );
    });
  }

  it('export --force names the files of the export it replaces', async () => {
    const secretless = writeReachingModelRun(runs.runsDir, '20250102-000001-plain', 'dotdot', writeSecret());
    // Make it a plain, valid model: its one weights file inside the folder.
    const modelDir = path.join(secretless, 'model');
    fs.writeFileSync(path.join(modelDir, 'w.bin'), Buffer.alloc(16));
    const json = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[] }[];
    };
    json.weightsManifest[0].paths = ['./w.bin'];
    fs.writeFileSync(path.join(modelDir, 'model.json'), JSON.stringify(json));
    const out = path.join(repo, 'export-force');
    assert.equal((await run(['export', secretless, out], repo)).code, 0);
    const again = await run(['export', secretless, out], repo);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /holds an earlier export.*--force/);
    const forced = await run(['export', secretless, out, '--force'], repo);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stderr,
      /replaced the earlier export in .* \(--force\); its files \(README\.md, labels\.json, model\.json, predict\.js, preprocessing\.json, weights\.bin\) were deleted/,
    );
  });
});
