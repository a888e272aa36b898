/**
 * Compare Runs panel: the pure parts (reducer, smoothing and wall-time curves, sort, CSV, parallel axes)
 * directly, and the bundled page in headless Chromium under the real CSP shell, fed the state the host
 * builds from fixture run folders on disk — including a run without validation metrics, one without
 * epoch times, one with a torn metrics line, one without run.json, and names that are HTML (needs
 * `node scripts/build.mjs`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { ComparePanelState, CompareRun } from '../../src/protocol/webviewMessages';
import { listRuns, readRun } from '../../src/core/runs/readRuns';
import { comparePanelState, compareRun, freezePatternDiff } from '../../src/host/panels/compareState';
import { csvField } from '../../src/core/portable/csv';
import { seriesCsv, tableCsv } from '../../webview/compare/csv';
import {
  curvePoints,
  DEFAULT_UI,
  reduce,
  restoreRunDirs,
  restoreUi,
  savedState,
  sortedRunIndices,
  wallTimes,
  type PageState,
} from '../../webview/compare/model';
import { axisPosition, parallelAxes } from '../../webview/compare/parallelModel';
import { debiasedEma } from '../../webview/shared/smoothing';
import { writeFixtureRun } from './compareFixtures';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(1)</script>';

/** The sample's base model, as ModelDescriber reports it. */
function leaf(p: string, className: string): LayerNode {
  return {
    path: p,
    name: p.split('/').pop()!,
    className,
    outputShape: [null],
    trainableParams: 1,
    nonTrainableParams: 0,
  };
}
const TREE: LayerNode[] = [
  {
    ...leaf('features', 'Sequential'),
    children: [
      leaf('features/conv1', 'Conv2D'),
      leaf('features/bn1', 'BatchNormalization'),
      leaf('features/pool1', 'MaxPooling2D'),
      leaf('features/conv2', 'Conv2D'),
      leaf('features/pool2', 'MaxPooling2D'),
      leaf('features/conv3', 'Conv2D'),
      leaf('features/pool3', 'MaxPooling2D'),
    ],
  },
  leaf('flatten', 'Flatten'),
  leaf('dense_1', 'Dense'),
  leaf('dropout', 'Dropout'),
  leaf('dense_2', 'Dense'),
];

let tmp: string;
let runsDir: string;
let state: ComparePanelState;

/** Five runs: three complete ones that differ in freezing, lr and dropout, and three damaged ones. */
function writeRuns(): void {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-compare-'));
  runsDir = path.join(tmp, '.finetune', 'runs');
  writeFixtureRun(
    runsDir,
    { id: '20250101-100000-frozen', name: 'frozen conv', epochs: 14, overfitAt: 6 },
    0,
  );
  writeFixtureRun(
    runsDir,
    {
      id: '20250101-100100-unfrozen',
      name: XSS_IMG,
      epochs: 12,
      overfitAt: 9,
      config: {
        freezeUpTo: 'features/pool1',
        layers: { 'features/conv3': 'reinit' },
        training: { learningRate: 0.0001 },
        head: { dropout: 0.5 },
      },
      record: { note: `${XSS_SCRIPT} dropout helps` },
    },
    1,
  );
  writeFixtureRun(
    runsDir,
    {
      id: '20250101-100200-running',
      name: 'still running',
      status: 'running',
      epochs: 5,
      epochsPlanned: 20,
      config: { freezeUpTo: 'features/pool2', training: { learningRate: 0.01 } },
    },
    2,
  );
  // No validation set: metrics lines without val_* (and so no gap).
  writeFixtureRun(
    runsDir,
    {
      id: '20250101-100300-noval',
      name: 'no validation',
      epochs: 6,
      omit: ['val_loss', 'val_accuracy', 'gap'],
    },
    3,
  );
  // An older writer without time_s, and a torn last line.
  writeFixtureRun(
    runsDir,
    {
      id: '20250101-100400-partial',
      name: 'partial metrics',
      epochs: 4,
      omit: ['time_s', 'lr'],
      tornLine: true,
    },
    4,
  );
  // run.json missing: only metrics.jsonl.
  writeFixtureRun(runsDir, { id: '20250101-100500-norecord', epochs: 3, noRecord: true }, 5);
}

function buildState(): ComparePanelState {
  const runs = listRuns(runsDir).reverse(); // oldest first: the fixture order
  const freeze = freezePatternDiff(
    runs.map((run) => ({ name: run.id, config: run.record?.config, tree: run.record ? TREE : undefined })),
  );
  return comparePanelState(runs, freeze, Date.parse('2025-01-01T12:00:00Z'));
}

before(() => {
  writeRuns();
  state = buildState();
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// ───────────────────────── Pure parts ─────────────────────────

describe('compare model', () => {
  it('builds one run per folder, damaged ones included, with honest gaps in the series', () => {
    assert.deepEqual(
      state.runs.map((r) => r.runId),
      [
        '20250101-100000-frozen',
        '20250101-100100-unfrozen',
        '20250101-100200-running',
        '20250101-100300-noval',
        '20250101-100400-partial',
        '20250101-100500-norecord',
      ],
    );
    const noval = state.runs[3];
    assert.ok(noval.series.val_loss.every((v) => v === null));
    assert.ok(
      noval.series.gap.every((v) => v === null),
      'no gap without val_loss',
    );
    assert.equal(noval.finalGap, undefined);
    const partial = state.runs[4];
    assert.equal(partial.series.epoch.length, 4, 'the torn line is skipped');
    assert.match(partial.problem ?? '', /1 unreadable line/);
    const norecord = state.runs[5];
    assert.equal(norecord.status, 'unreadable');
    assert.equal(norecord.name, norecord.runId);
    assert.match(norecord.problem ?? '', /run\.json is missing/);
    assert.equal(state.runs[1].note, `${XSS_SCRIPT} dropout helps`);
  });

  it('marks exactly the parameters that differ (the unreadable run says nothing)', () => {
    const differing = state.parameters.filter((p) => p.differs).map((p) => p.key);
    assert.deepEqual(
      differing.sort(),
      ['freezeUpTo', 'head.dropout', 'layers.features/conv3', 'training.learningRate'].sort(),
    );
    const lr = state.parameters.find((p) => p.key === 'training.learningRate')!;
    assert.deepEqual(lr.values, [0.001, 0.0001, 0.01, 0.001, 0.001, null]);
    assert.ok(state.parameters.some((p) => p.key === 'datasetFingerprint' && !p.differs));
  });

  it('wall time is the running sum of epoch times, unknown after the first missing one', () => {
    const series = { ...state.runs[0].series };
    const sums = wallTimes(series);
    let total = 0;
    series.time_s.forEach((t, i) => {
      total += t!;
      assert.ok(Math.abs(sums[i]! - total) < 1e-9);
    });
    assert.ok(wallTimes(state.runs[4].series).every((t) => t === null));
    const gapped = { ...series, epoch: [1, 2, 4], time_s: [1, 2, 3] };
    assert.deepEqual(wallTimes(gapped), [1, 3, null], 'a missing epoch makes later times unknown');
  });

  it('smoothing is a debiased EMA: the first point is the raw value, a constant stays constant', () => {
    const run = state.runs[0];
    const { raw, smoothed } = curvePoints(run, 'val_loss', 'epoch', 0.9);
    assert.equal(raw.length, 14);
    assert.ok(Math.abs(smoothed[0].y - raw[0].y) < 1e-12);
    assert.deepEqual(
      debiasedEma([2, 2, 2, 2], 0.9).map((v) => Number(v.toFixed(12))),
      [2, 2, 2, 2],
    );
    // Smoothed values lag a falling curve: above the raw value once it has fallen.
    assert.ok(smoothed[5].y > raw[5].y);
    const unsmoothed = curvePoints(run, 'val_loss', 'epoch', 0);
    assert.deepEqual(unsmoothed.smoothed, unsmoothed.raw);
    assert.equal(curvePoints(state.runs[3], 'val_loss', 'epoch', 0.5).raw.length, 0);
    assert.equal(
      curvePoints(state.runs[4], 'loss', 'time', 0).raw.length,
      0,
      'no times, no wall-time points',
    );
  });

  it('sorts with missing values last in both directions', () => {
    const asc = sortedRunIndices(state, { column: 'bestValLoss', descending: false });
    const desc = sortedRunIndices(state, { column: 'bestValLoss', descending: true });
    const missing = state.runs.map((r, i) => (r.bestValLoss === undefined ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(asc.slice(-missing.length).sort(), missing.sort());
    assert.deepEqual(desc.slice(-missing.length).sort(), missing.sort());
    const values = asc.slice(0, -missing.length).map((i) => state.runs[i].bestValLoss!);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
    );
    const byParam = sortedRunIndices(state, { column: 'param:training.learningRate', descending: true });
    assert.equal(state.runs[byParam[0]].runId, '20250101-100200-running');
  });

  it('reduces host messages: runs are replaced by folder, freeze arrives later, hidden runs pruned', () => {
    let page: PageState = { ui: { ...DEFAULT_UI, hidden: [state.runs[0].dir, '/gone'] } };
    page = reduce(page, { type: 'init', state });
    assert.deepEqual(page.ui.hidden, [state.runs[0].dir]);
    const grown: CompareRun = { ...state.runs[2], epochsCompleted: 6 };
    page = reduce(page, { type: 'runs', runs: [grown] });
    assert.equal(page.data!.runs[2].epochsCompleted, 6);
    assert.equal(page.data!.runs[0], state.runs[0]);
    page = reduce(page, { type: 'freeze', freeze: { source: 'configs', rows: [], notes: ['x'] } });
    assert.deepEqual(page.data!.freeze.notes, ['x']);
    // Before the host's init, the saved state keeps naming the runs the previous page showed.
    const restored = restoreRunDirs({ runDirs: ['/runs/a', 3] });
    assert.deepEqual(savedState({ ui: DEFAULT_UI }, restored).runDirs, ['/runs/a']);
    assert.deepEqual(
      savedState(page, restored).runDirs,
      state.runs.map((r) => r.dir),
    );
    assert.deepEqual(restoreUi({ ui: { metric: 'nope', smoothing: 7, hidden: [1, 'a'] } }), {
      ...DEFAULT_UI,
      hidden: ['a'],
    });
  });

  it('CSV quotes, neutralises formulas, and keeps full precision', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField(-0.5), '-0.5');
    assert.equal(csvField(null), '');
    const table = tableCsv(state, [0, 1], ['training.learningRate']).split('\r\n');
    assert.equal(table[0].split(',')[0], 'run_id');
    assert.ok(table[0].endsWith(',training.learningRate'));
    assert.ok(table[2].includes(XSS_IMG), 'names are data in a CSV');
    assert.ok(table[1].includes(String(state.runs[0].bestValLoss)));
    const series = seriesCsv(state).trim().split('\r\n');
    const epochs = state.runs.reduce((n, r) => n + r.series.epoch.length, 0);
    assert.equal(series.length, 1 + epochs);
  });

  it('parallel axes: differing numeric parameters, frozen-layer count, outcome last', () => {
    const axes = parallelAxes(state, 'bestValAccuracy');
    assert.deepEqual(
      axes.map((a) => a.key),
      ['head.dropout', 'training.learningRate', 'frozen layers', 'best val_accuracy'],
    );
    const lr = axes[1];
    assert.equal(lr.log, true, 'learning rates spanning 100× sit on a log scale');
    assert.ok(Math.abs(axisPosition(lr, 0.001) - 0.5) < 1e-9);
    const frozen = axes[2];
    // frozen conv: conv1…pool2 (5 leaves); unfrozen: up to pool1 (3); the unreadable run: unknown.
    assert.deepEqual(frozen.values, [5, 3, 5, 5, 5, null]);
  });

  it('freeze diff: states per run, after-cut layers, the cut, differing rows', () => {
    const row = (p: string) => state.freeze.rows.find((r) => r.path === p)!;
    assert.equal(state.freeze.source, 'model');
    assert.deepEqual(row('features/pool2').states, [
      'frozen',
      'trainable',
      'frozen',
      'frozen',
      'frozen',
      null,
    ]);
    assert.equal(row('features/pool2').differs, true);
    assert.deepEqual(row('features/conv3').states.slice(0, 2), ['trainable', 'reinit']);
    assert.equal(row('features/conv1').differs, false);
    // The default cut is before the last Dense: dropout; dense_2 is replaced by the head.
    assert.deepEqual(row('dropout').cut.slice(0, 2), [true, true]);
    assert.equal(row('dense_2').states[0], 'after-cut');
    assert.equal(row('dense_2').differs, false);
  });
});

// ───────────────────────── The page in Chromium ─────────────────────────

/** The page counts its renders on #root (data-renders): tests wait for the render a change causes. */
const RENDERS = `Number(document.getElementById('root')?.dataset.renders ?? 0)`;

async function waitForRenders(page: Page, atLeast: number): Promise<void> {
  // A function, not a string: the page's CSP forbids the eval a string predicate needs.
  await page.waitForFunction((n) => {
    const root = (
      globalThis as unknown as {
        document: { getElementById(id: string): { dataset: { renders?: string } } | null };
      }
    ).document.getElementById('root');
    return Number(root?.dataset.renders ?? 0) >= n;
  }, atLeast);
}

async function renders(page: Page): Promise<number> {
  return (await page.evaluate(RENDERS)) as number;
}

async function openWith(message = state, options: { width?: number; height?: number; state?: unknown } = {}) {
  const view = await openWebview('compare', { width: 1280, height: 1500, ...options });
  await view.page.waitForFunction(() => '__fineTuneCompare' in globalThis);
  const before = await renders(view.page);
  await view.send({ type: 'init', state: message });
  await waitForRenders(view.page, before + 1);
  return view;
}

function assertClean(view: WebviewPage): void {
  assert.deepEqual(view.problems, [], 'no page errors or CSP violations');
  assert.deepEqual(view.dialogs, [], 'no dialogs (no injected script ran)');
}

interface DrawnDataset {
  label: string;
  hidden: boolean;
  raw: boolean;
  points: [number, number][];
}
/** The curves chart's datasets as chart.js holds them (the page's test hook). */
const datasets = async (page: Page): Promise<DrawnDataset[]> =>
  (await page.evaluate(`__fineTuneCompare.chart.data.datasets.map((d) => ({
    label: d.label,
    hidden: !!d.hidden,
    raw: d.raw,
    points: d.data.map((p) => [p.x, p.y]),
  }))`)) as DrawnDataset[];
const hook = async <T>(expression: string): Promise<T> =>
  (await (globalPage as Page).evaluate(`__fineTuneCompare.${expression}`)) as T;
let globalPage: Page | undefined;

describe('compare panel in Chromium', () => {
  after(closeBrowser);

  it('says ready, shows every run as text (HTML names stay text), and raises no errors', async () => {
    const view = await openWith();
    try {
      assert.deepEqual((await view.posted())[0], { type: 'ready' });
      const rows = view.page.locator('#runs-table tbody tr');
      assert.equal(await rows.count(), 6);
      const names = await view.page.locator('#runs-table .run-link').allTextContents();
      assert.ok(names.includes(XSS_IMG), `names: ${names.join(' | ')}`);
      assert.equal(await view.page.locator('img').count(), 0, 'no element injected from a run name');
      assert.ok((await view.page.locator('.run-note').first().textContent())?.includes(XSS_SCRIPT));
      const legend = await view.page.locator('#legend .legend-name').allTextContents();
      assert.equal(legend.length, 6);
      // The unreadable and the torn-line runs carry a warning with the reason.
      const problemTitles = await view.page
        .locator('#runs-table .problem-icon')
        .evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''));
      assert.ok(problemTitles.some((t) => /run\.json is missing/.test(t)));
      assert.ok(problemTitles.some((t) => /unreadable line/.test(t)));
      // One curve per run; the run without validation data has none for val_loss (the default metric).
      const sets = await datasets(view.page);
      assert.equal(sets.length, 6);
      assert.equal(sets[3].points.length, 0);
      assert.equal(sets[0].points.length, 14);
      // Persisted for the serializer: the run folders shown.
      const saved = (await view.page.evaluate('__state')) as { runDirs: string[] };
      assert.deepEqual(
        saved.runDirs,
        state.runs.map((r) => r.dir),
      );
      await view.page.screenshot({ path: '/tmp/compare-light.png', fullPage: true });
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('shows only differing parameters by default; the toggle shows them all', async () => {
    const view = await openWith();
    try {
      const paramHeaders = () => view.page.locator('#runs-table thead th.param').count();
      assert.equal(await paramHeaders(), state.parameters.filter((p) => p.differs).length);
      const n = await renders(view.page);
      await view.page.locator('#only-differences').click();
      await waitForRenders(view.page, n + 1);
      assert.equal(await paramHeaders(), state.parameters.length);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('sorts by a header click, reverses on the second, missing values last', async () => {
    const view = await openWith();
    try {
      const header = view.page.locator('#runs-table thead button[data-column="bestValLoss"]');
      const order = () =>
        view.page
          .locator('#runs-table tbody tr')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-dir')));
      let n = await renders(view.page);
      await header.click();
      await waitForRenders(view.page, n + 1);
      const expectedAsc = sortedRunIndices(state, { column: 'bestValLoss', descending: false }).map(
        (i) => state.runs[i].dir,
      );
      assert.deepEqual(await order(), expectedAsc);
      assert.equal(
        await view.page
          .locator('#runs-table thead th:has(button[data-column="bestValLoss"])')
          .getAttribute('aria-sort'),
        'ascending',
      );
      n = await renders(view.page);
      await header.click();
      await waitForRenders(view.page, n + 1);
      const desc = await order();
      const expectedDesc = sortedRunIndices(state, { column: 'bestValLoss', descending: true }).map(
        (i) => state.runs[i].dir,
      );
      assert.deepEqual(desc, expectedDesc);
      const missing = state.runs.filter((r) => r.bestValLoss === undefined).map((r) => r.dir);
      assert.ok(missing.length > 0);
      assert.deepEqual(desc.slice(-missing.length), missing, 'missing values stay last');
      assert.deepEqual(expectedAsc.slice(-missing.length), missing);
      // The best val_loss is marked.
      const best = view.page.locator('#runs-table td.best');
      assert.ok((await best.count()) >= 2);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('switches metric, x axis and smoothing; legend toggles hide a run', async () => {
    const view = await openWith();
    try {
      const page = view.page;
      let n = await renders(page);
      await page.evaluate(`(() => {
        const select = document.getElementById('metric-select');
        select.value = 'val_accuracy';
        select.dispatchEvent(new Event('change'));
      })()`);
      await waitForRenders(page, n + 1);
      globalPage = page;
      const yTitle = await hook<string>('chart.options.scales.y.title.text');
      assert.equal(yTitle, 'val_accuracy');

      n = await renders(page);
      await page.locator('.segment[data-x="time"]').click();
      await waitForRenders(page, n + 1);
      let sets = await datasets(page);
      const times = wallTimes(state.runs[0].series);
      assert.deepEqual(
        sets[0].points.map((p) => p[0]),
        times,
      );
      assert.equal(sets[4].points.length, 0, 'no epoch times: no wall-time curve');

      n = await renders(page);
      await page.locator('#smoothing').fill('0.8');
      await waitForRenders(page, n + 1);
      sets = await datasets(page);
      assert.equal(sets.length, 12, 'a faint raw line and the smoothed line per run');
      assert.equal(sets.filter((s) => s.raw).length, 6);

      n = await renders(page);
      await page.locator(`#legend .legend-item`).first().click();
      await waitForRenders(page, n + 1);
      sets = await datasets(page);
      assert.ok(sets.filter((s) => s.label === 'frozen conv').every((s) => s.hidden));
      assert.equal(await page.locator('#legend .legend-item').first().getAttribute('aria-pressed'), 'false');
      const saved = (await page.evaluate('__state')) as {
        ui: { hidden: string[]; smoothing: number; x: string; metric: string };
      };
      assert.deepEqual(saved.ui.hidden, [state.runs[0].dir]);
      assert.equal(saved.ui.smoothing, 0.8);
      assert.equal(saved.ui.x, 'time');
      assert.equal(saved.ui.metric, 'val_accuracy');
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('restores its settings from the saved state', async () => {
    const view = await openWith(state, {
      state: {
        runDirs: [],
        ui: { metric: 'lr', x: 'epoch', smoothing: 0.5, onlyDifferences: false, hidden: [] },
      },
    });
    try {
      assert.equal(await view.page.locator('#runs-table thead th.param').count(), state.parameters.length);
      assert.equal(await view.page.locator('#smoothing').inputValue(), '0.5');
      globalPage = view.page;
      const yType = await hook<string>('chart.options.scales.y.type');
      assert.equal(yType, 'logarithmic', 'learning rates spanning 100× on a log axis');
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('follows a running run: new epochs extend its curve and the axis refits', async () => {
    const view = await openWith();
    try {
      globalPage = view.page;
      const xMax = () => hook<number>('chart.scales.x.max');
      const before = await xMax();
      const running = state.runs[2];
      const grownDir = path.join(tmp, 'grown');
      fs.cpSync(running.dir, grownDir, { recursive: true });
      const extra = fs
        .readFileSync(path.join(grownDir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      for (let e = 6; e <= 30; e++) extra.push({ ...extra[extra.length - 1], epoch: e });
      fs.writeFileSync(
        path.join(grownDir, 'metrics.jsonl'),
        extra.map((l) => JSON.stringify(l)).join('\n') + '\n',
      );
      const grown = { ...compareRun(readRun(grownDir)), dir: running.dir };
      const n = await renders(view.page);
      await view.send({ type: 'runs', runs: [grown] });
      await waitForRenders(view.page, n + 1);
      const sets = await datasets(view.page);
      assert.equal(sets[2].points.length, 30);
      assert.ok((await xMax()) > before, `x axis grew from ${before} to ${await xMax()}`);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('freeze pattern: loading first, then rows with differing layers highlighted', async () => {
    const loading = { ...state, freeze: { source: 'loading' as const, rows: [], notes: [] } };
    const view = await openWith(loading);
    try {
      assert.match(await view.page.locator('#freeze').innerText(), /Reading the layer order/);
      const n = await renders(view.page);
      await view.send({ type: 'freeze', freeze: state.freeze });
      await waitForRenders(view.page, n + 1);
      const rows = view.page.locator('#freeze-table tbody tr');
      assert.equal(await rows.count(), state.freeze.rows.length);
      const differing = await view.page
        .locator('#freeze-table tbody tr.differs')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-layer')));
      assert.deepEqual(
        differing,
        state.freeze.rows.filter((r) => r.differs).map((r) => r.path),
      );
      assert.ok(differing.includes('features/pool2'));
      const cell = view.page.locator('#freeze-table tr[data-layer="features/conv3"] td').nth(1);
      assert.match((await cell.getAttribute('title')) ?? '', /Re-initialised/);
      assert.match(
        await view.page.locator('#freeze-table thead').innerText(),
        /<img src=x onerror=alert\(1\)>/,
      );
      const m = await renders(view.page);
      await view.page.locator('#only-differing-layers').click();
      await waitForRenders(view.page, m + 1);
      assert.equal(await rows.count(), differing.length);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('draws the parallel coordinates: one line per run, broken where a value is unknown', async () => {
    const view = await openWith();
    try {
      globalPage = view.page;
      const drawn = await hook<{
        axes: string[];
        lines: { dir: string; points: ({ x: number; y: number } | null)[] }[];
      }>('parallel()');
      assert.deepEqual(drawn.axes, [
        'head.dropout',
        'training.learningRate',
        'frozen layers',
        'best val_accuracy',
      ]);
      assert.equal(drawn.lines.length, 6);
      // The run without run.json has no parameters: only its outcome (from metrics.jsonl) is placed.
      const unreadable = drawn.lines.find((l) => l.dir === state.runs[5].dir)!;
      assert.ok(unreadable.points.slice(0, -1).every((p) => p === null));
      assert.ok(unreadable.points[3] !== null);
      const first = drawn.lines[0].points;
      assert.ok(first.every((p) => p !== null));
      // Higher values sit higher: the 0.01 learning rate (run 3) above 0.001 (run 1).
      const lrY = (i: number) => drawn.lines[i].points[1]!.y;
      assert.ok(lrY(2) < lrY(0));
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('exports the table and series as CSV and the charts as PNG through the host; opens a run', async () => {
    const view = await openWith();
    try {
      const page = view.page;
      await page.locator('#export-table').click();
      await page.locator('#export-series').click();
      await page.locator('#curves-png').click();
      await page.locator('#parallel-png').click();
      await page.locator('#runs-table .run-link').first().click();
      await page.waitForFunction(
        () => (globalThis as unknown as { __posted: unknown[] }).__posted.length >= 6,
      );
      const posted = (await view.posted()).slice(1) as Record<string, string>[];
      const [table, series, curvesPng, parallelPng, open] = posted;
      assert.equal(table.type, 'saveCsv');
      assert.equal(table.suggestedName, 'compare-runs.csv');
      assert.equal(table.csv.trim().split('\r\n').length, 7);
      assert.ok(table.csv.split('\r\n')[0].includes('training.learningRate'));
      assert.equal(series.suggestedName, 'compare-series.csv');
      assert.ok(series.csv.startsWith('run_id,name,epoch,wall_time_s'));
      for (const png of [curvesPng, parallelPng]) {
        assert.equal(png.type, 'savePng');
        assert.match(png.suggestedName, /^compare-[\w-]+\.png$/);
        const bytes = Buffer.from(png.dataUrl.replace('data:image/png;base64,', ''), 'base64');
        assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG file');
        assert.ok(bytes.length > 5000, `a drawn chart, not an empty image (${bytes.length} bytes)`);
      }
      fs.writeFileSync(
        '/tmp/compare-export-curves.png',
        Buffer.from(curvesPng.dataUrl.split(',')[1], 'base64'),
      );
      assert.deepEqual(open, { type: 'openRun', dir: state.runs[0].dir });
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('renders in a dark theme', async () => {
    const view = await openWith();
    try {
      const n = await renders(view.page);
      const dark: Record<string, string> = {
        '--vscode-foreground': '#cccccc',
        '--vscode-descriptionForeground': '#9d9d9d',
        '--vscode-editor-background': '#1f1f1f',
        '--vscode-editorWidget-background': '#202020',
        '--vscode-widget-border': '#313131',
        '--vscode-editorWidget-border': '#454545',
        '--vscode-charts-blue': '#3794ff',
        '--vscode-charts-orange': '#d18616',
        '--vscode-charts-green': '#89d185',
        '--vscode-charts-red': '#f14c4c',
        '--vscode-charts-purple': '#b180d7',
        '--vscode-charts-yellow': '#cca700',
        '--vscode-textLink-foreground': '#4daafc',
        '--vscode-button-background': '#0078d4',
        '--vscode-button-foreground': '#ffffff',
        '--vscode-list-hoverBackground': '#2a2d2e',
        '--vscode-editorWarning-foreground': '#cca700',
      };
      await view.page.evaluate(
        `(() => { for (const [k, v] of Object.entries(${JSON.stringify(dark)})) document.body.style.setProperty(k, v); })()`,
      );
      await waitForRenders(view.page, n + 1);
      await view.page.screenshot({ path: '/tmp/compare-dark.png', fullPage: true });
      assertClean(view);
    } finally {
      await view.close();
    }
  });
});
