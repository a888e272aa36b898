/**
 * Durability of the run folder's writes (issue 16, point 10): a rename is followed by an fsync of its
 * folder (without it a power cut can leave the folder entry at the old file), metrics.jsonl's next line
 * never joins a line an earlier short write left without its newline, metrics.jsonl is appended to
 * through no link, and temp files name their writer (pid and host) so cleaners tell dead writers apart.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { tempNameFor, writeFileAtomic } from '../../src/core/atomicFile';
import { HOST_TAG } from '../../src/core/files/writerId';
import { parseMetricsLines } from '../../src/core/runs/readRuns';
import { RunWriter } from '../../src/engine/runs/runWriter';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import { tempDir } from '../helpers/fixtureModels';

const unix = process.platform !== 'win32';

function epoch(n: number): EpochMetrics {
  return {
    epoch: n,
    loss: 1 / n,
    accuracy: 0.5,
    val_loss: 1 / n,
    val_accuracy: 0.5,
    lr: 0.001,
    time_s: 1,
    gap: 0,
    overfitting: false,
  };
}

function newRun(runsDir: string): RunWriter {
  const record = {
    name: 'durable',
    status: 'running',
    experimentPath: path.join(runsDir, 'durable.finetune.json'),
    config: {},
    backend: 'cpu',
    requestedBackend: 'cpu',
    datasetFingerprint: 'f',
    classNames: ['a', 'b'],
    counts: { train: 1, val: 1, skipped: 0 },
    epochsPlanned: 3,
    epochsCompleted: 0,
    startedAt: new Date().toISOString(),
    pid: process.pid,
    hostname: os.hostname(),
    warnings: [],
  } as unknown as Omit<RunRecord, 'id'>;
  return RunWriter.create(runsDir, record);
}

/** Records the order of renames and of fsyncs of folders while `body` runs. */
function traceRenamesAndFolderSyncs(body: () => void): string[] {
  const events: string[] = [];
  // The module object itself (an `import * as` namespace is read-only): the code under test reads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mutable = require('node:fs') as { renameSync: typeof fs.renameSync; fsyncSync: typeof fs.fsyncSync };
  const rename = mutable.renameSync;
  const fsync = mutable.fsyncSync;
  mutable.renameSync = (from, to) => {
    rename(from, to);
    events.push(`rename ${path.basename(String(to))}`);
  };
  mutable.fsyncSync = (fd) => {
    fsync(fd);
    if (fs.fstatSync(fd).isDirectory()) events.push('fsync folder');
  };
  try {
    body();
  } finally {
    mutable.renameSync = rename;
    mutable.fsyncSync = fsync;
  }
  return events;
}

describe('durable run-folder writes', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(
    'an atomic write fsyncs the folder after its rename',
    { skip: !unix && 'folders cannot be fsynced' },
    () => {
      const dir = tempDir('durable');
      dirs.push(dir);
      const events = traceRenamesAndFolderSyncs(() => writeFileAtomic(path.join(dir, 'run.json'), '{}'));
      assert.deepEqual(events, ['rename run.json', 'fsync folder']);
    },
  );

  it(
    'a new run folder is renamed into place and its parent fsynced after the rename',
    { skip: !unix },
    () => {
      const runsDir = tempDir('durable');
      dirs.push(runsDir);
      let writer: RunWriter | undefined;
      const events = traceRenamesAndFolderSyncs(() => {
        writer = newRun(runsDir);
      });
      const id = writer!.id;
      assert.ok(events.includes(`rename ${id}`), events.join(', '));
      assert.equal(events[events.indexOf(`rename ${id}`) + 1], 'fsync folder');
      writer!.update({ status: 'completed' });
    },
  );

  it("metrics.jsonl: a line left without its newline is ended first, so the next epoch's line stands alone", () => {
    const runsDir = tempDir('durable');
    dirs.push(runsDir);
    const writer = newRun(runsDir);
    const metricsFile = path.join(writer.dir, 'metrics.jsonl');
    writer.appendMetrics(epoch(1));
    // A short write of epoch 2 (disk full, a kill): half a line, no newline.
    fs.appendFileSync(metricsFile, JSON.stringify(epoch(2)).slice(0, 20));
    writer.appendMetrics(epoch(2));
    writer.appendMetrics(epoch(3));
    const text = fs.readFileSync(metricsFile, 'utf8');
    assert.ok(text.endsWith('\n'));
    const { metrics, skipped } = parseMetricsLines(text);
    assert.deepEqual(
      metrics.map((m) => m.epoch),
      [1, 2, 3],
    );
    assert.equal(skipped, 1, 'only the torn line is skipped');
    writer.update({ status: 'completed' });
  });

  it('metrics.jsonl that is a link is not appended through', { skip: !unix }, () => {
    const runsDir = tempDir('durable');
    dirs.push(runsDir);
    const victim = path.join(runsDir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    const writer = newRun(runsDir);
    const metricsFile = path.join(writer.dir, 'metrics.jsonl');
    fs.rmSync(metricsFile);
    fs.symlinkSync(victim, metricsFile);
    assert.throws(() => writer.appendMetrics(epoch(1)), /ELOOP|EMLINK/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
    writer.update({ status: 'completed' });
  });

  it('temp files name their writer: pid and host', () => {
    const name = path.basename(tempNameFor('/x/run.json'));
    assert.match(name, new RegExp(`^run\\.json\\.tmp-${process.pid}-${HOST_TAG}[0-9a-f]{8}$`));
    assert.notEqual(path.basename(tempNameFor('/x/run.json')), name, 'a random part: no two names alike');
  });

  it('labels.json is written with the first best model and again only when it no longer holds the class names', async () => {
    const runsDir = tempDir('labels');
    const writer = newRun(runsDir);
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 2 })] });
    const labels = path.join(writer.dir, 'model', 'labels.json');
    await writer.saveModel(model, ['a', 'b']);
    const first = fs.statSync(labels).ino;
    await writer.saveModel(model, ['a', 'b']);
    assert.equal(
      fs.statSync(labels).ino,
      first,
      'the same file: not written again (a rewrite renames a new one in)',
    );
    fs.writeFileSync(labels, '["tampered"]');
    await writer.saveModel(model, ['a', 'b']);
    assert.equal(fs.readFileSync(labels, 'utf8'), '["a","b"]');
    fs.rmSync(labels);
    await writer.saveModel(model, ['a', 'b']);
    assert.equal(fs.readFileSync(labels, 'utf8'), '["a","b"]', 'a removed file comes back');
    model.dispose();
  });
});
