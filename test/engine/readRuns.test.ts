import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRuns, markCrashedRuns, readRun, resolveRunRef } from '../../src/core/runs/readRuns';
import { UserError } from '../../src/core/userError';

function tempRunsDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-runs-'));
}

function writeRun(
  runsDir: string,
  id: string,
  record: Record<string, unknown> | string,
  metrics?: string,
): string {
  const dir = path.join(runsDir, id);
  fs.mkdirSync(dir, { recursive: true });
  const runJson =
    typeof record === 'string'
      ? record
      : JSON.stringify({
          id,
          name: id,
          status: 'completed',
          startedAt: '2025-01-01T00:00:00.000Z',
          pid: process.pid,
          hostname: os.hostname(),
          ...record,
        });
  fs.writeFileSync(path.join(dir, 'run.json'), runJson);
  if (metrics !== undefined) fs.writeFileSync(path.join(dir, 'metrics.jsonl'), metrics);
  return dir;
}

const line = (epoch: number) =>
  JSON.stringify({
    epoch,
    loss: 1 / epoch,
    accuracy: 0.5,
    val_loss: 1,
    val_accuracy: 0.5,
    lr: 0.001,
    time_s: 1,
  });

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  assert.ok(pid !== undefined);
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

test('a torn last line and a garbage line of metrics.jsonl are skipped and counted', () => {
  const runsDir = tempRunsDir();
  const dir = writeRun(runsDir, 'r1', {}, `${line(1)}\nnot json\n${line(2)}\n{"epoch":3,"loss":0.3`);
  const run = readRun(dir);
  assert.deepEqual(
    run.metrics.map((m) => m.epoch),
    [1, 2],
  );
  assert.equal(run.skippedMetricLines, 2);
  assert.equal(run.effectiveStatus, 'completed');
  assert.equal(run.unreadable, undefined);
});

test('garbage or missing run.json makes the run unreadable with a reason instead of throwing', () => {
  const runsDir = tempRunsDir();
  const garbage = readRun(writeRun(runsDir, 'g', '{"id": "g", "status": ', line(1)));
  assert.equal(garbage.effectiveStatus, 'unreadable');
  assert.match(garbage.unreadable ?? '', /not valid JSON/);
  assert.equal(garbage.metrics.length, 1); // metrics are still read

  fs.mkdirSync(path.join(runsDir, 'empty'));
  const missing = readRun(path.join(runsDir, 'empty'));
  assert.equal(missing.effectiveStatus, 'unreadable');
  assert.match(missing.unreadable ?? '', /missing/);
  assert.deepEqual(missing.metrics, []);

  const noStatus = readRun(writeRun(runsDir, 'ns', '[1,2]'));
  assert.equal(noStatus.effectiveStatus, 'unreadable');
});

test('a running run whose pid is gone is crashed and markCrashedRuns records it; a live one stays running', async () => {
  const runsDir = tempRunsDir();
  const pid = await deadPid();
  writeRun(
    runsDir,
    'dead',
    { status: 'running', pid, startedAt: '2025-01-02T00:00:00.000Z', extra: 'kept' },
    line(1),
  );
  writeRun(runsDir, 'alive', { status: 'running', pid: process.pid, startedAt: '2025-01-03T00:00:00.000Z' });
  writeRun(runsDir, 'elsewhere', { status: 'running', pid, hostname: `not-${os.hostname()}` });

  assert.equal(readRun(path.join(runsDir, 'dead')).effectiveStatus, 'crashed');
  assert.equal(readRun(path.join(runsDir, 'alive')).effectiveStatus, 'running');
  assert.equal(readRun(path.join(runsDir, 'elsewhere')).effectiveStatus, 'running'); // cannot check another host

  assert.deepEqual(markCrashedRuns(runsDir), ['dead']);
  const rewritten = JSON.parse(fs.readFileSync(path.join(runsDir, 'dead', 'run.json'), 'utf8'));
  assert.equal(rewritten.status, 'crashed');
  assert.match(rewritten.error, new RegExp(`trainer process ${pid} is gone`));
  assert.ok(Number.isFinite(Date.parse(rewritten.endedAt)));
  assert.equal(rewritten.extra, 'kept');
  assert.deepEqual(
    fs.readdirSync(path.join(runsDir, 'dead')).sort(),
    ['metrics.jsonl', 'run.json'],
    'no temporary file is left behind',
  );
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(runsDir, 'alive', 'run.json'), 'utf8')).status,
    'running',
  );
  assert.deepEqual(markCrashedRuns(runsDir), [], 'a second pass has nothing left to mark');
});

test('listRuns: sub-folders only, newest first; a missing runs folder has no runs', () => {
  const runsDir = tempRunsDir();
  writeRun(runsDir, 'old', { startedAt: '2025-01-01T00:00:00.000Z' });
  writeRun(runsDir, 'new', { startedAt: '2025-03-01T00:00:00.000Z' });
  writeRun(runsDir, 'mid', { startedAt: '2025-02-01T00:00:00.000Z' });
  fs.writeFileSync(path.join(runsDir, 'stray.txt'), 'x');
  assert.deepEqual(
    listRuns(runsDir).map((r) => r.id),
    ['new', 'mid', 'old'],
  );
  assert.deepEqual(listRuns(path.join(runsDir, 'nope')), []);
  assert.throws(() => listRuns(path.join(runsDir, 'stray.txt')), /is a file, not a folder/);
});

test('resolveRunRef: exact id, unique prefix, folder path; ambiguous and unknown refs list candidates', () => {
  const runsDir = tempRunsDir();
  writeRun(runsDir, '20250101-aaa', {});
  writeRun(runsDir, '20250101-abc', {});
  writeRun(runsDir, '20250102-xyz', {});
  assert.equal(resolveRunRef(runsDir, '20250102').id, '20250102-xyz');
  assert.equal(resolveRunRef(runsDir, '20250101-ab').id, '20250101-abc');
  assert.equal(resolveRunRef(runsDir, '20250101-aaa').id, '20250101-aaa');
  assert.equal(resolveRunRef('/elsewhere', path.join(runsDir, '20250101-aaa')).id, '20250101-aaa');
  assert.throws(
    () => resolveRunRef(runsDir, '20250101'),
    (error: unknown) =>
      error instanceof UserError && /ambiguous/.test(error.message) && /20250101-abc/.test(error.message),
  );
  assert.throws(
    () => resolveRunRef(runsDir, 'zzz'),
    (error: unknown) => error instanceof UserError && /20250102-xyz/.test(error.message),
  );
  assert.throws(() => resolveRunRef(path.join(runsDir, 'none'), 'x'), /holds no runs/);
});
