/**
 * The compare logic behind the Compare Runs panel and the run commands: the parameter table (all keys,
 * which differ), per-run series and outcomes from damaged folders, the freeze-pattern diff (model order,
 * merged models, config-only fallback, cut), run names and notes in run.json, and re-run files that the
 * loader turns back into the very config the run trained with.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseExperimentText } from '../../src/core/config/loadExperiment';
import { diffParameters, parameterTable, summarizeRun } from '../../src/core/runs/compareRuns';
import { readRun, type RunListing } from '../../src/core/runs/readRuns';
import {
  configChanges,
  describeChanges,
  rerunExperimentText,
  rerunFilePath,
} from '../../src/core/runs/rerunConfig';
import { notesLockedReason, runDisplayName, runNotesOf, updateRunNotes } from '../../src/core/runs/runNotes';
import { isUserError } from '../../src/core/userError';
import {
  compareRun,
  compareSeries,
  freezePatternDiff,
  mergeLayerOrders,
} from '../../src/host/panels/compareState';
import type { EpochMetrics } from '../../src/protocol/runRecord';
import type { LayerNode } from '../../src/protocol/layerTree';
import { curvePoints } from '../../webview/compare/model';
import { fixtureConfig, writeFixtureRun } from '../webview/compareFixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-compare-unit-'));
const runsDir = path.join(tmp, '.finetune', 'runs');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const leaf = (p: string, className = 'Conv2D'): LayerNode => ({
  path: p,
  name: p.split('/').pop()!,
  className,
  outputShape: [null],
  trainableParams: 1,
  nonTrainableParams: 0,
});

describe('parameter table', () => {
  const a = fixtureConfig('/w');
  const b = fixtureConfig('/w', { training: { learningRate: 0.01 } as never, head: { dropout: 0.5 } });

  it('lists every key once, marks the differing ones, and agrees with diffParameters', () => {
    const rows = parameterTable([a, b, undefined]);
    const keys = rows.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(keys.includes('dataset.imageSize') && keys.includes('training.earlyStopping.patience'));
    assert.deepEqual(
      rows.filter((r) => r.differs).map((r) => r.key),
      ['head.dropout', 'training.learningRate'],
    );
    assert.deepEqual(
      diffParameters([a, b, undefined]),
      rows.filter((r) => r.differs).map(({ key, values }) => ({ key, values })),
    );
    const lr = rows.find((r) => r.key === 'training.learningRate')!;
    assert.deepEqual(lr.values, [0.001, 0.01, undefined]);
    // Arrays compare as one value.
    assert.equal(rows.find((r) => r.key === 'dataset.imageSize')!.values[0], '[32,32]');
  });

  it('no config at all: no parameters', () => {
    assert.deepEqual(parameterTable([undefined, undefined]), []);
  });
});

describe('compare series and outcomes', () => {
  it('sorts by epoch, keeps the last copy of a repeated epoch, nulls non-finite values, derives a missing gap', () => {
    const lines = [
      { epoch: 2, loss: 0.5, val_loss: 0.7, time_s: 1 },
      { epoch: 1, loss: Infinity, val_loss: 0.9, accuracy: 0.4, time_s: 1, gap: Number.NaN },
      { epoch: 2, loss: 0.4, val_loss: 0.6, time_s: 1 },
    ] as unknown as EpochMetrics[];
    const series = compareSeries({ metrics: lines });
    assert.deepEqual(series.epoch, [1, 2]);
    assert.deepEqual(series.loss, [null, 0.4]);
    assert.deepEqual(
      series.gap.map((g) => (g === null ? null : Number(g.toFixed(10)))),
      [null, 0.2],
    );
    assert.deepEqual(series.val_accuracy, [null, null]);
    assert.deepEqual(series.accuracy, [0.4, null]);
  });

  it('a run without run.json still has its curves and a best epoch from metrics.jsonl', () => {
    const dir = writeFixtureRun(runsDir, { id: 'no-record', epochs: 5, noRecord: true, tornLine: true });
    const run = compareRun(readRun(dir));
    assert.equal(run.status, 'unreadable');
    assert.equal(run.series.epoch.length, 5);
    assert.ok(run.bestEpoch !== undefined);
    assert.match(run.problem!, /run\.json is missing; 1 unreadable line/);
  });

  it('smoothing: a debiased EMA whose first point equals the first value (no pull towards 0)', () => {
    const dir = writeFixtureRun(runsDir, { id: 'smooth', epochs: 8 });
    const run = compareRun(readRun(dir));
    const { raw, smoothed } = curvePoints(run, 'loss', 'epoch', 0.6);
    assert.equal(smoothed[0].y, raw[0].y);
    // By hand: avg₂ = 0.6·0.4·x₁ + 0.4·x₂, debiased by 1 − 0.6².
    const expected = (0.6 * 0.4 * raw[0].y + 0.4 * raw[1].y) / (1 - 0.36);
    assert.ok(Math.abs(smoothed[1].y - expected) < 1e-12);
    assert.ok(smoothed.every((p, i) => p.x === raw[i].x));
  });
});

describe('freeze-pattern diff', () => {
  const tree: LayerNode[] = [
    { ...leaf('base', 'Sequential'), children: [leaf('base/c1'), leaf('base/c2'), leaf('base/c3')] },
    leaf('flatten', 'Flatten'),
    leaf('dense', 'Dense'),
  ];
  const config = (changes: Parameters<typeof fixtureConfig>[1]) => fixtureConfig('/w', changes);

  it('resolves freezeUpTo and layers per run, marks the cut and what the head replaces', () => {
    const diff = freezePatternDiff([
      { name: 'a', config: config({ freezeUpTo: 'base/c2', layers: {} }), tree },
      { name: 'b', config: config({ freezeUpTo: 'base/c1', layers: { 'base/c3': 'reinit' } }), tree },
      {
        name: 'c',
        config: config({ freezeUpTo: undefined, layers: { base: 'frozen' }, head: { cutAt: 'base' } }),
        tree,
      },
    ]);
    const rows = Object.fromEntries(diff.rows.map((r) => [r.path, r]));
    assert.equal(diff.source, 'model');
    assert.deepEqual(Object.keys(rows), ['base/c1', 'base/c2', 'base/c3', 'flatten', 'dense']);
    assert.deepEqual(rows['base/c2'].states, ['frozen', 'trainable', 'frozen']);
    assert.deepEqual(rows['base/c3'].states, ['trainable', 'reinit', 'frozen']);
    // a and b cut before the last Dense (flatten); c cuts at the nested model, i.e. after base/c3.
    assert.deepEqual(rows.flatten.cut, [true, true, false]);
    assert.deepEqual(rows['base/c3'].cut, [false, false, true]);
    assert.deepEqual(rows.flatten.states, ['trainable', 'trainable', 'after-cut']);
    assert.deepEqual(rows.dense.states, ['after-cut', 'after-cut', 'after-cut']);
    assert.equal(rows['base/c1'].differs, false);
    assert.equal(rows.dense.differs, false);
    assert.equal(rows.flatten.differs, true);
  });

  it('names a model lacks are ignored and noted; a run without config makes nothing differ', () => {
    const diff = freezePatternDiff([
      { name: 'old run', config: config({ freezeUpTo: 'base/gone', layers: {} }), tree },
      { name: 'unreadable' },
    ]);
    assert.match(diff.notes.join('\n'), /old run: its base model has no layer "base\/gone"/);
    assert.ok(diff.rows.every((r) => !r.differs));
    assert.ok(diff.rows.every((r) => r.states[1] === null));
  });

  it('merges the layer orders of different models; without any model, lists the names the configs give', () => {
    assert.deepEqual(
      mergeLayerOrders([
        ['a', 'b', 'd'],
        ['a', 'c', 'd', 'e'],
      ]),
      ['a', 'b', 'c', 'd', 'e'],
    );
    const diff = freezePatternDiff([
      { name: 'a', config: config({ freezeUpTo: 'base/c2', layers: { 'base/c3': 'reinit' } }) },
      { name: 'b', config: config({ freezeUpTo: 'base/c2', layers: {} }) },
    ]);
    assert.equal(diff.source, 'configs');
    assert.deepEqual(
      diff.rows.map((r) => [r.path, r.states, r.differs]),
      [
        ['base/c2', ['frozen', 'frozen'], false],
        ['base/c3', ['reinit', null], true],
      ],
    );
  });
});

describe('run names and notes (run.json displayName / note)', () => {
  it('sets, shows and clears a name and a note, keeping the rest of run.json', () => {
    const dir = writeFixtureRun(runsDir, { id: 'named', name: 'digits', epochs: 3 });
    const before = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    updateRunNotes(dir, { displayName: '  lr 1e-4,\n frozen conv ' });
    updateRunNotes(dir, { note: 'best so far' });
    const run = readRun(dir);
    assert.deepEqual(runNotesOf(run.record), { displayName: 'lr 1e-4, frozen conv', note: 'best so far' });
    assert.equal(runDisplayName(run), 'lr 1e-4, frozen conv');
    assert.equal(summarizeRun(run).name, 'lr 1e-4, frozen conv');
    assert.equal(summarizeRun(run).note, 'best so far');
    const after = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    const { displayName: _d, note: _n, ...rest } = after;
    assert.deepEqual(rest, before, 'nothing else changed');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
      'no temp file left behind',
    );
    updateRunNotes(dir, { displayName: '', note: null });
    assert.deepEqual(runNotesOf(readRun(dir).record), {});
    assert.equal(runDisplayName(readRun(dir)), 'digits');
    // Renaming to the recorded name is no rename.
    updateRunNotes(dir, { displayName: 'digits' });
    assert.equal('displayName' in JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')), false);
  });

  it('refuses a running run (its trainer rewrites run.json) and a run without run.json', () => {
    const running = writeFixtureRun(runsDir, { id: 'live', status: 'running', epochs: 2, epochsPlanned: 9 });
    const text = fs.readFileSync(path.join(running, 'run.json'), 'utf8');
    assert.match(notesLockedReason(readRun(running)) ?? '', /still running/);
    assert.throws(
      () => updateRunNotes(running, { note: 'x' }),
      (e) => isUserError(e) && /still running/.test(e.message),
    );
    assert.equal(fs.readFileSync(path.join(running, 'run.json'), 'utf8'), text);
    const broken = writeFixtureRun(runsDir, { id: 'broken', epochs: 2, noRecord: true });
    assert.throws(() => updateRunNotes(broken, { displayName: 'x' }), /no readable run\.json/);
    assert.equal(fs.existsSync(path.join(broken, 'run.json')), false);
  });

  it('ignores a displayName or note of the wrong type written by hand', () => {
    const listing = { id: 'x', record: { name: 'n', displayName: 42, note: '  ' } } as unknown as RunListing;
    assert.deepEqual(runNotesOf(listing.record), {});
    assert.equal(runDisplayName(listing), 'n');
  });
});

describe('re-run', () => {
  const model = path.resolve(__dirname, '../../../samples/digits/models/base/model.json');
  const data = path.resolve(__dirname, '../../../samples/digits/data/target');

  it('writes a file the loader resolves to exactly the snapshot, paths relative to it', () => {
    const snapshot = fixtureConfig('/unused', {
      baseModel: model,
      dataset: { path: data, imageSize: [32, 32], pixelRange: [0, 1], validationSplit: 0.25, seed: 3 },
      layers: { 'features/conv3': 'reinit' },
      head: { cutAt: 'flatten', dropout: 0.4 },
    } as never);
    const folder = path.join(tmp, 'experiments');
    fs.mkdirSync(folder, { recursive: true });
    const file = rerunFilePath(folder, 'Digits: frozen/conv');
    assert.equal(path.basename(file), 'digits-frozen-conv-rerun.finetune.json');
    const text = rerunExperimentText(snapshot, file, {
      runId: 'evil\nid',
      startedAt: '2025-01-01T00:00:00Z',
    });
    assert.match(text, /^\/\/ Re-run of run evil id \(started 2025-01-01T00:00:00Z\)/);
    const written = JSON.parse(text.replace(/^\/\/.*\n/gm, ''));
    assert.equal(written.baseModel, path.relative(folder, model).split(path.sep).join('/'));
    assert.ok(!path.isAbsolute(written.dataset.path));
    fs.writeFileSync(file, text, { flag: 'wx' });
    const loaded = parseExperimentText(text, file);
    assert.deepEqual(loaded.config, snapshot);
    assert.deepEqual(configChanges(snapshot, loaded.config), []);
    // The next re-run file does not overwrite this one.
    assert.equal(
      path.basename(rerunFilePath(folder, 'Digits: frozen/conv')),
      'digits-frozen-conv-rerun-2.finetune.json',
    );
  });

  it('reports what changed, ignoring the backend the run was started with', () => {
    const snapshot = fixtureConfig('/w');
    const edited = fixtureConfig('/w', {
      training: { ...snapshot.training, learningRate: 0.01, backend: 'cpu' },
      freezeUpTo: undefined,
    });
    const changes = configChanges(snapshot, edited);
    assert.deepEqual(
      changes.map((c) => c.key),
      ['freezeUpTo', 'training.learningRate'],
    );
    assert.equal(
      describeChanges(changes),
      'freezeUpTo: features/pool2 → (unset)\ntraining.learningRate: 0.001 → 0.01',
    );
  });
});
