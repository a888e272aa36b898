import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import type { RunListing } from '../../src/core/runs/readRuns';
import {
  bestEpochOf,
  compareTable,
  diffParameters,
  epochsSinceBest,
  finalGap,
  flattenConfig,
  recomputeBestEpoch,
  runDurationS,
  type MetricsLine,
} from '../../src/core/runs/compareRuns';
import { formatDuration } from '../../src/core/portable/format';
import { experimentConfig } from '../helpers/fixtureConfig';

function config(overrides: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const base = experimentConfig({ name: 'digits', baseModel: '/w/models/base/model.json' });
  return { ...base, dataset: { ...base.dataset, path: '/w/data', imageSize: [32, 32] }, ...overrides };
}

function epoch(n: number, loss: number, valLoss: number, valAcc: number): EpochMetrics {
  return {
    epoch: n,
    loss,
    accuracy: 1 - loss / 2,
    val_loss: valLoss,
    val_accuracy: valAcc,
    lr: 0.001,
    time_s: 2,
    gap: valLoss - loss,
    overfitting: false,
  };
}

function listing(id: string, metrics: MetricsLine[], record?: Partial<RunRecord>): RunListing {
  const full = record
    ? ({
        id,
        name: id,
        status: 'completed',
        config: config(),
        backend: 'cpu',
        startedAt: '2025-01-01T00:00:00.000Z',
        endedAt: '2025-01-01T00:01:30.000Z',
        epochsCompleted: metrics.length,
        ...record,
      } as RunRecord)
    : undefined;
  return {
    id,
    dir: `/runs/${id}`,
    record: full,
    metrics: metrics as EpochMetrics[],
    skippedMetricLines: 0,
    effectiveStatus: full ? full.status : 'unreadable',
    unreadable: full ? undefined : 'run.json is missing',
  };
}

const curve = [
  epoch(1, 1.0, 0.9, 0.6),
  epoch(2, 0.6, 0.5, 0.8),
  epoch(3, 0.4, 0.55, 0.82),
  epoch(4, 0.3, 0.7, 0.81),
];

test('best epoch is recomputed by the monitored metric when run.json does not name it', () => {
  assert.equal(bestEpochOf(listing('a', curve, {}))?.epoch, 2); // val_loss (default monitor) lowest at 2
  const byAcc = config({
    training: {
      ...DEFAULTS.training,
      earlyStopping: { ...DEFAULTS.training.earlyStopping, monitor: 'val_accuracy' },
    },
  });
  assert.equal(bestEpochOf(listing('b', curve, { config: byAcc }))?.epoch, 3); // val_accuracy highest at 3
});

test('the recorded bestEpoch wins over recomputation', () => {
  assert.equal(bestEpochOf(listing('a', curve, { bestEpoch: 4 }))?.epoch, 4);
  // Recorded best epoch whose metrics line is missing falls back to record.best.
  const best = bestEpochOf(listing('a', curve.slice(0, 2), { bestEpoch: 3, best: curve[2] }));
  assert.equal(best?.epoch, 3);
  assert.equal(best?.val_accuracy, 0.82);
});

test('recomputation skips missing and non-finite values and falls back to another metric', () => {
  const partial: MetricsLine[] = [
    { epoch: 1, loss: 0.9 },
    { epoch: 2, loss: 0.5, val_loss: NaN },
    { epoch: 3, loss: 0.7 },
  ];
  assert.equal(recomputeBestEpoch(partial, 'val_loss')?.epoch, 2); // no finite val_loss anywhere: lowest loss
  assert.equal(recomputeBestEpoch([], 'val_loss'), undefined);
  // Ties keep the earliest epoch, as early stopping does.
  assert.equal(recomputeBestEpoch([epoch(1, 1, 0.5, 0.5), epoch(2, 1, 0.5, 0.5)], 'val_loss')?.epoch, 1);
});

test('final gap is val_loss − loss of the last epoch; epochs since best counts what came after', () => {
  assert.ok(Math.abs((finalGap(curve) ?? NaN) - 0.4) < 1e-12);
  assert.equal(finalGap([{ epoch: 1, loss: 0.3 }]), undefined);
  assert.equal(finalGap([]), undefined);
  assert.equal(epochsSinceBest(listing('a', curve, {})), 2);
  assert.equal(epochsSinceBest(listing('a', [], {})), undefined);
});

test('duration comes from start/end, else from the epoch times', () => {
  assert.equal(runDurationS(listing('a', curve, {})), 90);
  assert.equal(runDurationS(listing('a', curve)), 8); // no run.json: sum of time_s
  const running = listing('r', curve, { status: 'running', endedAt: undefined });
  assert.equal(runDurationS(running, Date.parse('2025-01-01T00:00:10.000Z')), 10);
  assert.equal(runDurationS(listing('e', [])), undefined);
  assert.equal(formatDuration(5), '5.0s');
  assert.equal(formatDuration(185), '3m 05s');
  assert.equal(formatDuration(3720), '1h 02m');
});

test('durations read the same everywhere: one formatDuration for the CLI, the host and the panels', () => {
  assert.equal(formatDuration(0), '0.0s');
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(3725), '1h 02m');
  for (const none of [undefined, NaN, Infinity, -1]) assert.equal(formatDuration(none), '—');
});

test('flattenConfig uses dotted keys, arrays as JSON and layers by path', () => {
  const flat = flattenConfig(config({ layers: { 'outer/conv1': 'frozen' } }));
  assert.equal(flat['training.learningRate'], 0.001);
  assert.equal(flat['dataset.imageSize'], '[32,32]');
  assert.equal(flat['layers.outer/conv1'], 'frozen');
  assert.equal(flat['training.earlyStopping.monitor'], 'val_loss');
});

test('diffParameters keeps only the keys whose values differ', () => {
  const a = config();
  const b = config({
    training: {
      ...DEFAULTS.training,
      learningRate: 0.0001,
      earlyStopping: { ...DEFAULTS.training.earlyStopping },
    },
    layers: { conv1: 'reinit' },
  });
  const c = config({ dataset: { ...a.dataset, imageSize: [64, 64] } });
  const diffs = diffParameters([a, b, c]);
  assert.deepEqual(diffs.map((d) => d.key).sort(), [
    'dataset.imageSize',
    'layers.conv1',
    'training.learningRate',
  ]);
  assert.deepEqual(diffs.find((d) => d.key === 'layers.conv1')?.values, [undefined, 'reinit', undefined]);
  assert.deepEqual(diffs.find((d) => d.key === 'dataset.imageSize')?.values, [
    '[32,32]',
    '[32,32]',
    '[64,64]',
  ]);
  assert.deepEqual(diffParameters([a, config()]), []);
  // A run without a readable config does not make every key "differ".
  assert.deepEqual(diffParameters([a, undefined, config()]), []);
  assert.deepEqual(diffParameters([a, undefined, b]).find((d) => d.key === 'layers.conv1')?.values, [
    undefined,
    undefined,
    'reinit',
  ]);
  // Early stopping turned off in one run shows up as a difference, not a crash.
  const off = config({ training: { ...DEFAULTS.training, earlyStopping: false } });
  assert.ok(diffParameters([a, off]).some((d) => d.key === 'training.earlyStopping'));
});

test('compareTable: one row per run, outcome columns, then only differing parameters', () => {
  const fast = config({ training: { ...DEFAULTS.training, learningRate: 0.01 } });
  const table = compareTable([
    listing('run-a', curve, { bestEpoch: 2 }),
    listing('run-b', curve.slice(0, 2), { config: fast, status: 'stopped' }),
    listing('run-c', [{ epoch: 1, loss: 0.9 }]),
  ]);
  assert.deepEqual(table.columns.slice(0, 9), [
    'run',
    'status',
    'best val_acc',
    'best val_loss',
    'best epoch',
    'final gap',
    'since best',
    'duration',
    'backend',
  ]);
  assert.ok(table.columns.includes('training.learningRate'));
  assert.ok(!table.columns.includes('training.batchSize'));
  assert.equal(table.rows.length, 3);
  for (const row of table.rows) assert.equal(row.length, table.columns.length);
  const [a, b, c] = table.rows;
  assert.deepEqual(a.slice(0, 9), [
    'run-a',
    'completed',
    '0.8000',
    '0.5000',
    '2',
    '+0.4000',
    '2',
    '1m 30s',
    'cpu',
  ]);
  assert.equal(b[1], 'stopped');
  assert.equal(b[table.columns.indexOf('training.learningRate')], '0.01');
  // The unreadable run has no config and no validation metrics: dashes, not a crash.
  assert.deepEqual(c.slice(0, 9), ['run-c', 'unreadable', '—', '—', '1', '—', '0', '—', '—']);
});
