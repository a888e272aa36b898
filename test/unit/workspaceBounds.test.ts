/**
 * Bounds on what a cloned repository can make us read or write (issue 16): every dataset scan stops at a
 * bound (images, directory entries, depth, time) and says which — a UserError for training, a partial
 * result for the views; the dataset search stops at its time bound; experiment, sweep and sweep-state files
 * that are links to /dev/zero are refused; the trainer's memory settings are capped; the TensorBoard
 * export neither writes into nor cleans a `tensorboard` folder that is a link out of the run folder, and
 * the CSV export replaces a `metrics.csv` link instead of writing through it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadExperiment } from '../../src/core/config/loadExperiment';
import { scanDataset, SCAN_LIMITS, VIEW_SCAN_LIMITS } from '../../src/core/data/scanDataset';
import { exportMetrics } from '../../src/core/export/exportMetrics';
import { loadSweep } from '../../src/core/sweep/loadSweep';
import { listSweepsAsync, readSweep } from '../../src/core/sweep/sweepStore';
import { findDatasets } from '../../src/host/datasets/findDatasets';
import { boundedPipelineSettings, boundedTrainerMemoryMB } from '../../src/host/settingBounds';
import { MAX_MEMORY_BUDGET_MIB, MAX_TRAINER_MEMORY_MB } from '../../src/protocol/trainerMessages';
import { tempDir } from '../helpers/fixtureModels';

const unix = process.platform !== 'win32';

/** `<root>/<class>/<n>.png` for each class, `perClass` images each (not decoded: any bytes do). */
function dataset(root: string, classes: string[], perClass: number): string {
  for (const cls of classes) {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) fs.writeFileSync(path.join(root, cls, `${i}.png`), 'x');
  }
  return root;
}

describe('dataset scans are bounded and say which bound they reached', () => {
  it('the default bounds are a cap on files per dataset; the views have smaller ones and a time bound', () => {
    assert.ok(SCAN_LIMITS.maxImages >= 100_000 && Number.isFinite(SCAN_LIMITS.maxImages));
    assert.ok(SCAN_LIMITS.maxEntries >= SCAN_LIMITS.maxImages && SCAN_LIMITS.maxDepth > 0);
    assert.equal(SCAN_LIMITS.timeoutMs, undefined, 'training does not stop a slow disk');
    assert.ok((VIEW_SCAN_LIMITS.timeoutMs ?? Infinity) <= 10_000 && VIEW_SCAN_LIMITS.partial);
  });

  it('too many images: a UserError for training, a partial scan for a view', async () => {
    const root = dataset(tempDir('bound-images'), ['a', 'b', 'c'], 4);
    await assert.rejects(
      scanDataset(root, { maxImages: 9 }),
      /too large to scan: it holds more than 9 images/,
    );
    const partial = await scanDataset(root, { maxImages: 9, partial: true });
    assert.match(partial.incomplete ?? '', /more than 9 images/);
    assert.equal(partial.images.length, 9);
    assert.match(partial.warnings[0], /^The scan stopped early: it holds more than 9 images/);
    const whole = await scanDataset(root);
    assert.equal(whole.incomplete, undefined);
    assert.equal(whole.images.length, 12);
  });

  it('too many directory entries, too deep, too slow', async () => {
    const root = dataset(tempDir('bound-entries'), ['a', 'b'], 10);
    await assert.rejects(scanDataset(root, { maxEntries: 15 }), /more than 15 files and folders/);
    const deep = dataset(tempDir('bound-depth'), ['a', 'b'], 1);
    fs.mkdirSync(path.join(deep, 'b', '1', '2', '3'), { recursive: true });
    fs.writeFileSync(path.join(deep, 'b', '1', '2', '3', 'x.png'), 'x');
    const shallow = await scanDataset(deep, { maxDepth: 2, partial: true });
    assert.match(shallow.incomplete ?? '', /b\/1\/2 is more than 2 folders deep/);
    assert.equal(shallow.images.length, 2);
    assert.equal((await scanDataset(deep)).images.length, 3);
    await assert.rejects(
      scanDataset(root, { timeoutMs: -1, partial: true }),
      /\(The scan stopped early: it took longer than/,
    );
  });

  it('an error of a scan cut short says that it was cut short', async () => {
    const root = dataset(tempDir('bound-error'), ['a', 'b'], 3);
    await assert.rejects(
      scanDataset(root, { maxEntries: 4, partial: true }),
      /\(The scan stopped early: it holds more than 4 files and folders\.\)/,
    );
  });

  it('the dataset search of the Datasets view stops at its time bound', async () => {
    const root = tempDir('bound-search');
    dataset(path.join(root, 'x', 'set'), ['a', 'b'], 1);
    assert.equal((await findDatasets(root)).datasets.length, 1);
    const stopped = await findDatasets(root, { timeoutMs: -1 });
    assert.equal(stopped.truncated, true);
    assert.equal(stopped.datasets.length, 0);
  });
});

describe('experiment, sweep and sweep-state files that are not regular files', { skip: !unix }, () => {
  it('are refused at once instead of read forever', async () => {
    const dir = tempDir('zero-files');
    const experiment = path.join(dir, 'zero.finetune.json');
    fs.symlinkSync('/dev/zero', experiment);
    await assert.rejects(loadExperiment(experiment), /Cannot read the experiment file .*not a regular file/);
    const sweep = path.join(dir, 'zero.sweep.json');
    fs.symlinkSync('/dev/zero', sweep);
    assert.throws(() => loadSweep(sweep), /Cannot read the sweep file .*not a regular file/);
    // A sweep file naming an experiment that is /dev/zero: the experiment is said to be unreadable.
    const named = path.join(dir, 'names-zero.sweep.json');
    fs.writeFileSync(
      named,
      JSON.stringify({
        name: 'z',
        experiment: 'zero.finetune.json',
        method: 'grid',
        parameters: { 'head.dropout': { values: [0.1] } },
      }),
    );
    assert.throws(
      () => loadSweep(named),
      /the experiment zero\.finetune\.json cannot be used:[\s\S]*not a regular file/,
    );
    const sweepsDir = path.join(dir, 'sweeps');
    fs.mkdirSync(path.join(sweepsDir, 's1'), { recursive: true });
    fs.symlinkSync('/dev/zero', path.join(sweepsDir, 's1', 'state.json'));
    assert.match(
      readSweep(path.join(sweepsDir, 's1')).unreadable ?? '',
      /state\.json is unreadable \(a symbolic link\)/,
    );
    const listed = await listSweepsAsync(sweepsDir);
    assert.equal(listed[0].effectiveStatus, 'unreadable');
  });
});

describe("the trainer's memory settings from a workspace are capped", () => {
  const settings = (values: Record<string, unknown>) => ({
    get: <T>(key: string) => values[key] as T | undefined,
  });
  const GiB = 1024 ** 3;

  it('memoryBudgetMiB: at most half the machine and MAX_MEMORY_BUDGET_MIB; trainerMemoryMB: at most the machine', () => {
    assert.equal(boundedPipelineSettings(settings({ memoryBudgetMiB: 1e12 }), 8 * GiB).memoryBudgetMiB, 4096);
    assert.equal(
      boundedPipelineSettings(settings({ memoryBudgetMiB: 1e12 }), 4096 * GiB).memoryBudgetMiB,
      MAX_MEMORY_BUDGET_MIB,
    );
    assert.equal(boundedPipelineSettings(settings({ memoryBudgetMiB: 512 }), 8 * GiB).memoryBudgetMiB, 512);
    assert.equal(boundedTrainerMemoryMB(settings({ trainerMemoryMB: 1e12 }), 8 * GiB), 8192);
    assert.equal(
      boundedTrainerMemoryMB(settings({ trainerMemoryMB: 1e12 }), 4096 * GiB),
      MAX_TRAINER_MEMORY_MB,
    );
    assert.equal(boundedTrainerMemoryMB(settings({ trainerMemoryMB: 2048 }), 8 * GiB), 2048);
    assert.equal(boundedTrainerMemoryMB(settings({ trainerMemoryMB: -5 }), 8 * GiB), 0);
    assert.equal(boundedTrainerMemoryMB(settings({ trainerMemoryMB: 'x' }), 8 * GiB), 0);
  });

  it('package.json declares the same maximums', () => {
    const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8'));
    const props =
      manifest.contributes.configuration.properties ?? manifest.contributes.configuration[0].properties;
    assert.equal(props['fineTune.memoryBudgetMiB'].maximum, MAX_MEMORY_BUDGET_MIB);
    assert.equal(props['fineTune.trainerMemoryMB'].maximum, MAX_TRAINER_MEMORY_MB);
  });
});

describe('metrics exports stay in the run folder', { skip: !unix }, () => {
  function run(): string {
    const dir = path.join(tempDir('export-links'), 'run-1');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'run.json'),
      JSON.stringify({ id: 'run-1', name: 'r', status: 'completed', startedAt: '2025-01-01T00:00:00.000Z' }),
    );
    fs.writeFileSync(
      path.join(dir, 'metrics.jsonl'),
      `${JSON.stringify({ epoch: 1, loss: 1, accuracy: 0.5, val_loss: 1, val_accuracy: 0.5, lr: 0.001, time_s: 1, gap: 0, overfitting: false })}\n`,
    );
    return dir;
  }

  it('TensorBoard: a tensorboard/ or train/ folder that is a link is refused; nothing outside is written or removed', () => {
    const dir = run();
    const outside = tempDir('export-links-outside');
    fs.mkdirSync(path.join(outside, 'train'));
    fs.writeFileSync(path.join(outside, 'train', 'events.out.tfevents.1.keep'), 'user data');
    fs.symlinkSync(outside, path.join(dir, 'tensorboard'));
    assert.throws(
      () => exportMetrics(dir, 'tensorboard'),
      /is a symbolic link: the TensorBoard export does not follow it/,
    );
    assert.deepEqual(fs.readdirSync(path.join(outside, 'train')), ['events.out.tfevents.1.keep']);
    fs.rmSync(path.join(dir, 'tensorboard'));
    fs.mkdirSync(path.join(dir, 'tensorboard'));
    fs.symlinkSync(path.join(outside, 'train'), path.join(dir, 'tensorboard', 'train'));
    assert.throws(() => exportMetrics(dir, 'tensorboard'), /symbolic link/);
    assert.deepEqual(fs.readdirSync(path.join(outside, 'train')), ['events.out.tfevents.1.keep']);
    assert.deepEqual(fs.readdirSync(outside), ['train']);
  });

  it('CSV: a metrics.csv that is a link (to a file or a folder) is replaced, never written through', () => {
    const dir = run();
    const outside = tempDir('export-links-csv');
    const target = path.join(outside, 'bashrc');
    fs.writeFileSync(target, 'keep');
    fs.symlinkSync(target, path.join(dir, 'metrics.csv'));
    exportMetrics(dir, 'csv');
    assert.equal(fs.readFileSync(target, 'utf8'), 'keep');
    assert.ok(fs.lstatSync(path.join(dir, 'metrics.csv')).isFile());
    fs.rmSync(path.join(dir, 'metrics.csv'));
    fs.symlinkSync(outside, path.join(dir, 'metrics.csv'));
    exportMetrics(dir, 'csv');
    assert.deepEqual(fs.readdirSync(outside), ['bashrc']);
    assert.ok(fs.lstatSync(path.join(dir, 'metrics.csv')).isFile());
  });
});
