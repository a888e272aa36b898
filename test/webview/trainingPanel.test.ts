/**
 * Training panel: the pure parts (reducer, debiased EMA, chart series) directly, and the bundled page in
 * headless Chromium under the real CSP shell, driven by host messages (needs `node scripts/build.mjs`).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Advice } from '../../src/protocol/advice';
import type { EpochMetrics, RunSummary } from '../../src/protocol/runRecord';
import type { BatchPoint, TrainingPanelState } from '../../src/protocol/webviewMessages';
import { chartSeries, CURVE_DATASETS, LR_DATASETS } from '../../webview/training/chartSeries';
import { spansDecade } from '../../webview/shared/logAxis';
import { batchX, debiasedEma, SMOOTHING_BETA, smoothedBatchSeries } from '../../webview/shared/smoothing';
import {
  adviceKey,
  markApplied,
  reducePanel,
  restorePanelState,
  selectCell,
  type PanelState,
} from '../../webview/training/state';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

// ───────────────────────── Fixtures ─────────────────────────

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(1)</script>';

function epoch(n: number, loss: number, acc: number, valLoss: number, valAcc: number, overfitting = false) {
  const m: EpochMetrics = {
    epoch: n,
    loss,
    accuracy: acc,
    val_loss: valLoss,
    val_accuracy: valAcc,
    lr: 0.001,
    lr_base: 0.0001,
    time_s: 2.5,
    gap: valLoss - loss,
    overfitting,
  };
  return m;
}

const SIX_EPOCHS: EpochMetrics[] = [
  epoch(1, 1.2, 0.45, 1.0, 0.55),
  epoch(2, 0.9, 0.62, 0.8, 0.66),
  epoch(3, 0.7, 0.72, 0.7, 0.71),
  epoch(4, 0.55, 0.8, 0.62, 0.76),
  epoch(5, 0.45, 0.85, 0.66, 0.75),
  epoch(6, 0.36, 0.89, 0.71, 0.74),
];

function runState(overrides: Partial<TrainingPanelState> = {}): TrainingPanelState {
  return {
    runId: '2025-01-01T00-00-00-abc',
    name: 'digits frozen conv',
    status: 'running',
    backend: 'wasm',
    classNames: ['cat', 'dog', 'bird'],
    epochsPlanned: 10,
    metrics: SIX_EPOCHS,
    bestEpoch: 4,
    batches: [],
    ...overrides,
  };
}

function summaryFor(
  classNames: string[],
  confusion: number[][],
  fileName = (t: number, i: number) => `${classNames[t]}/${i}.png`,
): RunSummary {
  const predictions: RunSummary['predictions'] = [];
  confusion.forEach((row, t) =>
    row.forEach((count, p) => {
      for (let i = 0; i < count; i++) {
        predictions.push({
          file: fileName(t, predictions.length),
          trueIndex: t,
          predictedIndex: p,
          confidence: 0.9,
        });
      }
    }),
  );
  const perClass = classNames.map((className, c) => {
    const tp = confusion[c][c];
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { className, precision, recall, f1, support };
  });
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  return {
    epoch: 4,
    classNames,
    confusion,
    perClass,
    accuracy: correct / predictions.length,
    val_loss: 0.62,
    misclassified: [],
    predictions,
  };
}

const CONFUSION = [
  [5, 1, 0],
  [0, 4, 2],
  [1, 0, 6],
];

/** The EMA written out independently of the module under test. */
function expectedEma(values: number[], beta: number): number[] {
  let avg = 0;
  return values.map((v, i) => {
    avg = beta * avg + (1 - beta) * v;
    return avg / (1 - beta ** (i + 1));
  });
}

function batch(epochNo: number, b: number, batches: number, loss: number, accuracy = 0.5): BatchPoint {
  return { epoch: epochNo, batch: b, batches, loss, accuracy };
}

// ───────────────────────── Pure logic ─────────────────────────

describe('training panel state and smoothing (pure)', () => {
  it('debiasedEma follows avgₜ = β·avgₜ₋₁ + (1−β)·xₜ, divided by 1 − βᵗ', () => {
    const values = [2.0, 1.5, 1.8, 1.1, 0.9, 1.3];
    const got = debiasedEma(values, SMOOTHING_BETA);
    const want = expectedEma(values, SMOOTHING_BETA);
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `point ${i}: ${v} vs ${want[i]}`));
    // Debiasing: the first point is the first value, not (1 − β) times it.
    assert.ok(Math.abs(got[0] - 2.0) < 1e-12);
    // A constant series stays constant (the bias correction is exact).
    for (const v of debiasedEma([0.7, 0.7, 0.7, 0.7], 0.9)) assert.ok(Math.abs(v - 0.7) < 1e-12);
  });

  it('debiasedEma skips non-finite batch values instead of poisoning the curve', () => {
    const got = debiasedEma([1, Number.NaN, 1], 0.5);
    assert.deepEqual(got, [1, 1, 1]);
    assert.ok(Number.isNaN(debiasedEma([Number.POSITIVE_INFINITY], 0.5)[0]));
  });

  it('plots batches at fractional epochs (epoch − 1 + batch/batches)', () => {
    assert.equal(batchX(batch(3, 5, 10, 1)), 2.5);
    assert.equal(batchX(batch(1, 10, 10, 1)), 1);
    const series = smoothedBatchSeries([batch(2, 1, 4, 1), batch(2, 2, 4, 0.5)], 'loss', 0.5);
    assert.deepEqual(
      series.map((p) => p.x),
      [1.25, 1.5],
    );
    assert.ok(Math.abs(series[1].y - expectedEma([1, 0.5], 0.5)[1]) < 1e-12);
  });

  it('init replaces; epoch appends or replaces its epoch and drops its batches; overfitting is kept', () => {
    let panel: PanelState = reducePanel(
      {},
      { type: 'init', state: runState({ metrics: SIX_EPOCHS.slice(0, 2) }) },
    );
    panel = reducePanel(panel, { type: 'batch', ...batch(3, 1, 4, 0.8) });
    panel = reducePanel(panel, { type: 'batch', ...batch(3, 2, 4, 0.7) });
    assert.equal(panel.run?.batches.length, 2);
    panel = reducePanel(panel, { type: 'epoch', metrics: SIX_EPOCHS[2], isBest: true, bestEpoch: 3 });
    assert.deepEqual(
      panel.run?.metrics.map((m) => m.epoch),
      [1, 2, 3],
    );
    assert.equal(panel.run?.batches.length, 0, 'the finished epoch’s batches are dropped');
    assert.equal(panel.run?.bestEpoch, 3);
    // The same epoch again replaces it (no duplicate point).
    const replaced = { ...SIX_EPOCHS[2], val_loss: 0.69 };
    panel = reducePanel(panel, { type: 'epoch', metrics: replaced, isBest: false, bestEpoch: 3 });
    assert.equal(panel.run?.metrics.length, 3);
    assert.equal(panel.run?.metrics[2].val_loss, 0.69);
    // A late batch of a finished epoch is ignored.
    panel = reducePanel(panel, { type: 'batch', ...batch(3, 4, 4, 0.1) });
    assert.equal(panel.run?.batches.length, 0);
    // The first overfitting signal is kept, later ones do not overwrite it.
    panel = reducePanel(panel, {
      type: 'epoch',
      metrics: { ...SIX_EPOCHS[3], overfitting: true },
      isBest: false,
      bestEpoch: 3,
      overfittingReason: 'first',
    });
    panel = reducePanel(panel, {
      type: 'epoch',
      metrics: { ...SIX_EPOCHS[4], overfitting: true },
      isBest: false,
      bestEpoch: 3,
      overfittingReason: 'second',
    });
    assert.deepEqual(panel.run?.overfitting, { reason: 'first', epoch: 4 });
    // A new init replaces everything.
    panel = reducePanel(panel, { type: 'init', state: runState({ metrics: [], bestEpoch: undefined }) });
    assert.equal(panel.run?.metrics.length, 0);
    assert.equal(panel.run?.overfitting, undefined);
  });

  it('a new epoch’s batch restarts the live curve; status ends it; messages before init are ignored', () => {
    assert.deepEqual(reducePanel({}, { type: 'batch', ...batch(1, 1, 2, 1) }), {});
    let panel = reducePanel({}, { type: 'init', state: runState({ metrics: [] }) });
    panel = reducePanel(panel, { type: 'batch', ...batch(1, 1, 2, 1) });
    panel = reducePanel(panel, { type: 'batch', ...batch(2, 1, 2, 0.5) });
    assert.deepEqual(
      panel.run?.batches.map((b) => [b.epoch, b.batch]),
      [[2, 1]],
    );
    panel = reducePanel(panel, { type: 'status', status: 'stopped', endReason: 'stop requested' });
    assert.equal(panel.run?.status, 'stopped');
    assert.equal(panel.run?.endReason, 'stop requested');
    assert.equal(panel.run?.batches.length, 0);
  });

  it('cellImages only fills the cell still selected; a new summary clears the selection', () => {
    let panel = reducePanel({}, { type: 'init', state: runState() });
    panel = selectCell(panel, 1, 2);
    const files = [{ file: 'a.png', confidence: 0.5 }];
    assert.equal(
      reducePanel(panel, { type: 'cellImages', trueIndex: 0, predictedIndex: 2, files }).cell?.files,
      undefined,
    );
    panel = reducePanel(panel, { type: 'cellImages', trueIndex: 1, predictedIndex: 2, files });
    assert.deepEqual(panel.cell?.files, files);
    panel = reducePanel(panel, { type: 'summary', summary: summaryFor(['cat', 'dog', 'bird'], CONFUSION) });
    assert.equal(panel.cell, undefined);
  });

  it('restorePanelState accepts what the page saved and drops anything else', () => {
    const saved: PanelState = { run: runState(), cell: { trueIndex: 0, predictedIndex: 1 } };
    assert.deepEqual(restorePanelState(JSON.parse(JSON.stringify(saved))), saved);
    assert.deepEqual(restorePanelState(null), {});
    assert.deepEqual(restorePanelState({ run: { runId: 3 } }), {});
    assert.deepEqual(restorePanelState({ run: { ...runState(), metrics: 'x' } }), {});
  });

  it('chart series: points per epoch, best point, log lr axis, x range', () => {
    const s = chartSeries(runState());
    assert.deepEqual(
      s.loss.val.map((p) => p.y),
      SIX_EPOCHS.map((m) => m.val_loss),
    );
    assert.deepEqual(s.loss.best, [{ x: 4, y: 0.62 }]);
    assert.deepEqual(s.accuracy.best, [{ x: 4, y: 0.76 }]);
    assert.equal(s.lr.logScale, true);
    assert.deepEqual(s.x, { min: 1, max: 10 }, 'running: the planned epochs');
    assert.deepEqual(
      chartSeries(runState({ status: 'completed' })).x,
      { min: 1, max: 6 },
      'finished: the run',
    );
    const live = chartSeries(runState({ metrics: [], bestEpoch: undefined, batches: [batch(1, 1, 4, 1)] }));
    assert.equal(live.x.min, 0);
    assert.deepEqual(live.loss.best, []);
    assert.equal(spansDecade([0.001, 0.001]), false);
    assert.equal(spansDecade([0.001, 0.0001]), true);
    assert.equal(spansDecade([0, 0.1]), false, 'zero cannot go on a log axis');
  });
});

// ───────────────────────── The page in headless Chromium ─────────────────────────

type Points = { x: number; y: number }[];

/** Points of every dataset of one chart, read through the page's test hook. */
function chartData(page: Page, chart: 'loss' | 'accuracy' | 'lr'): Promise<Points[]> {
  return page.evaluate((name) => {
    const charts = (
      globalThis as unknown as {
        __fineTuneCharts: Record<string, { data: { datasets: { data: { x: number; y: number }[] }[] } }>;
      }
    ).__fineTuneCharts;
    return charts[name].data.datasets.map((d) => d.data.map((p) => ({ x: p.x, y: p.y })));
  }, chart);
}

/** Resolves once every message sent before it has been handled (messages are delivered in order). */
function settle(page: Page): Promise<unknown> {
  return page.evaluate(`new Promise((resolve) => {
    const onMessage = (e) => {
      if (e.data !== '__settle') return;
      removeEventListener('message', onMessage);
      setTimeout(resolve, 0);
    };
    addEventListener('message', onMessage);
    postMessage('__settle', '*');
  })`);
}

async function send(view: WebviewPage, ...messages: unknown[]): Promise<void> {
  for (const m of messages) await view.send(m);
  await settle(view.page);
}

const RESOURCE_404 =
  'console: Failed to load resource: the server responded with a status of 404 (Not Found)';

/**
 * No page error, CSP violation or dialog. Headless Chromium also asks the test server for /favicon.ico
 * (a 404 that the harness reports as a console error, and a request VS Code's webviews never make): that
 * message is tolerated only when the favicon is the one resource that failed.
 */
async function assertClean(view: WebviewPage): Promise<void> {
  const failed = await view.page.evaluate(() =>
    (
      globalThis as unknown as {
        performance: { getEntriesByType(t: string): { name: string; responseStatus?: number }[] };
      }
    ).performance
      .getEntriesByType('resource')
      .filter((e) => (e.responseStatus ?? 200) >= 400)
      .map((e) => new URL(e.name).pathname),
  );
  assert.deepEqual(
    failed.filter((p) => p !== '/favicon.ico'),
    [],
  );
  const problems = failed.length > 0 ? view.problems.filter((p) => p !== RESOURCE_404) : view.problems;
  assert.deepEqual(problems, []);
  assert.deepEqual(view.dialogs, []);
}

/** Waits until a chart's dataset holds `length` points (batches redraw on a later frame). */
async function waitForPoints(page: Page, chart: string, dataset: number, length: number): Promise<void> {
  await page.waitForFunction(
    ([name, index, n]) =>
      (
        globalThis as unknown as {
          __fineTuneCharts: Record<string, { data: { datasets: { data: unknown[] }[] } }>;
        }
      ).__fineTuneCharts[name].data.datasets[index].data.length === n,
    [chart, dataset, length] as const,
  );
}

describe('training panel in headless Chromium', { timeout: 60_000 }, () => {
  after(closeBrowser);

  it('says ready first, then draws an init of 6 epochs: curves, best epoch, accuracy and lr', async () => {
    const view = await openWebview('training');
    try {
      assert.deepEqual(await view.posted(), [{ type: 'ready' }]);
      assert.equal(await view.page.locator('#placeholder').textContent(), 'Waiting for the training run…');
      await send(view, { type: 'init', state: runState() });
      const loss = await chartData(view.page, 'loss');
      assert.deepEqual(
        loss[CURVE_DATASETS.train],
        SIX_EPOCHS.map((m) => ({ x: m.epoch, y: m.loss })),
      );
      assert.deepEqual(
        loss[CURVE_DATASETS.val],
        SIX_EPOCHS.map((m) => ({ x: m.epoch, y: m.val_loss })),
      );
      assert.deepEqual(loss[CURVE_DATASETS.best], [{ x: 4, y: 0.62 }]);
      assert.deepEqual(loss[CURVE_DATASETS.batch], []);
      const marker = await view.page.evaluate(`__fineTuneCharts.loss.options.plugins.epochMarkers.bestEpoch`);
      assert.equal(marker, 4, 'the vertical best-epoch line');
      const accuracy = await chartData(view.page, 'accuracy');
      assert.deepEqual(
        accuracy[CURVE_DATASETS.val],
        SIX_EPOCHS.map((m) => ({ x: m.epoch, y: m.val_accuracy })),
      );
      assert.deepEqual(accuracy[CURVE_DATASETS.best], [{ x: 4, y: 0.76 }]);
      const lr = await chartData(view.page, 'lr');
      assert.equal(lr[LR_DATASETS.lr].length, 6);
      assert.equal(lr[LR_DATASETS.lrBase][0].y, 0.0001);
      assert.equal(await view.page.evaluate(`__fineTuneCharts.lr.scales.y.type`), 'logarithmic');
      // The gap between the curves is filled from val towards train, with a tint per direction.
      const fill = (await view.page.evaluate(`__fineTuneCharts.loss.data.datasets[1].fill`)) as {
        target: string;
      };
      assert.equal(fill.target, '-1');
      assert.equal(await view.page.locator('.run-name').textContent(), 'digits frozen conv');
      const facts = await view.page.locator('.facts').textContent();
      assert.match(facts ?? '', /6 of 10/);
      assert.match(facts ?? '', /epoch 4 · val_loss 0\.6200 · val_acc 76\.0%/);
      assert.match(facts ?? '', /Training time15s/, 'six epochs of 2.5 s');
      assert.equal(await view.page.locator('#placeholder').isVisible(), false);
      await view.page.screenshot({ path: '/tmp/training-panel-init.png', fullPage: true });
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('a webgpu run shows its GPU adapter (as text); a run without one hides the fact', async () => {
    const view = await openWebview('training');
    try {
      await send(view, { type: 'init', state: runState() });
      const adapterFact = view.page.locator('.fact', { hasText: 'GPU adapter' });
      assert.equal(await adapterFact.isVisible(), false, 'no adapter on wasm');
      const label = 'NVIDIA GeForce RTX 4090 <img src=x onerror=alert(1)> via vulkan';
      await send(view, { type: 'init', state: runState({ backend: 'webgpu', adapter: label }) });
      assert.equal(await adapterFact.isVisible(), true);
      assert.equal(await adapterFact.locator('.fact-value').textContent(), label);
      assert.equal(await view.page.locator('.facts img').count(), 0, 'the label is text, not markup');
      assert.match((await view.page.locator('.facts').textContent()) ?? '', /Backendwebgpu/);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('an epoch adds a point; batches add smoothed points at fractional epochs', async () => {
    const view = await openWebview('training');
    try {
      await send(view, { type: 'init', state: runState() });
      await send(view, {
        type: 'epoch',
        metrics: epoch(7, 0.3, 0.9, 0.75, 0.73),
        isBest: false,
        bestEpoch: 4,
      });
      let loss = await chartData(view.page, 'loss');
      assert.equal(loss[CURVE_DATASETS.train].length, 7);
      assert.deepEqual(loss[CURVE_DATASETS.val][6], { x: 7, y: 0.75 });

      const losses = [0.42, 0.31, 0.35, 0.28, 0.25];
      await send(view, ...losses.map((l, i) => ({ type: 'batch', ...batch(8, i + 1, 10, l) })));
      // Batches redraw on the next frame (throttled), not synchronously.
      await waitForPoints(view.page, 'loss', CURVE_DATASETS.batch, losses.length);
      loss = await chartData(view.page, 'loss');
      const want = expectedEma(losses, SMOOTHING_BETA);
      loss[CURVE_DATASETS.batch].forEach((p, i) => {
        assert.ok(Math.abs(p.x - (7 + (i + 1) / 10)) < 1e-9, `x of batch ${i + 1}`);
        assert.ok(Math.abs(p.y - want[i]) < 1e-9, `y of batch ${i + 1}: ${p.y} vs ${want[i]}`);
      });
      // A burst of batches is coalesced into a few redraws (one per frame, at most every 100 ms).
      await view.page.evaluate(() => {
        const g = globalThis as unknown as {
          __fineTuneCharts: { loss: { update(mode?: string): void } };
          __redraws: number;
          postMessage(m: unknown, o: string): void;
        };
        g.__redraws = 0;
        const chart = g.__fineTuneCharts.loss;
        const update = chart.update.bind(chart);
        chart.update = (mode) => {
          g.__redraws++;
          update(mode);
        };
        for (let b = 6; b <= 105; b++) {
          g.postMessage({ type: 'batch', epoch: 8, batch: b, batches: 200, loss: 0.3, accuracy: 0.9 }, '*');
        }
      });
      await waitForPoints(view.page, 'loss', CURVE_DATASETS.batch, 105);
      const redraws = (await view.page.evaluate(`__redraws`)) as number;
      assert.ok(redraws >= 1 && redraws <= 5, `${redraws} redraws for 100 batches`);
      // The epoch's own metrics replace its batch curve.
      await send(view, {
        type: 'epoch',
        metrics: epoch(8, 0.27, 0.91, 0.78, 0.72),
        isBest: false,
        bestEpoch: 4,
      });
      loss = await chartData(view.page, 'loss');
      assert.equal(loss[CURVE_DATASETS.batch].length, 0);
      assert.equal(loss[CURVE_DATASETS.train].length, 8);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('overfitting banner shows the reason as text; Stop posts stopRun; completed hides Stop', async () => {
    const view = await openWebview('training');
    try {
      await send(view, { type: 'init', state: runState() });
      assert.equal(await view.page.locator('#overfit-banner').isVisible(), false);
      const reason = `val_loss rose 2 epochs <b>in a row</b> while loss fell ${XSS_IMG}`;
      await send(view, {
        type: 'epoch',
        metrics: epoch(7, 0.3, 0.9, 0.75, 0.73, true),
        isBest: false,
        bestEpoch: 4,
        overfittingReason: reason,
      });
      const banner = view.page.locator('#overfit-banner');
      assert.equal(await banner.isVisible(), true);
      assert.equal(await banner.locator('.banner-text').textContent(), reason);
      assert.match((await banner.textContent()) ?? '', /epoch 7/);
      assert.match((await banner.textContent()) ?? '', /more dropout, stronger augmentation/);
      assert.equal(await view.page.locator('#overfit-banner b, img').count(), 0);
      assert.equal(
        await view.page.evaluate(`__fineTuneCharts.loss.options.plugins.epochMarkers.overfitFrom`),
        7,
      );

      const stop = view.page.locator('#stop-button');
      assert.equal(await stop.isVisible(), true);
      await stop.click();
      await settle(view.page);
      assert.deepEqual((await view.posted()).slice(-1), [{ type: 'stopRun' }]);
      // Waiting for the host: the button is disabled, and even a click event that reaches it posts nothing.
      assert.equal(await stop.evaluate((e) => (e as unknown as { disabled: boolean }).disabled), true);
      await stop.dispatchEvent('click');
      assert.equal((await view.posted()).filter((m) => (m as { type: string }).type === 'stopRun').length, 1);

      await send(view, {
        type: 'status',
        status: 'completed',
        endReason: 'early stopping: val_loss did not improve',
      });
      assert.equal(await stop.isVisible(), false);
      assert.equal(await view.page.locator('.status-badge').textContent(), 'completed');
      assert.match((await view.page.locator('#end-banner').textContent()) ?? '', /early stopping/);
      await view.page.screenshot({ path: '/tmp/training-panel-overfit.png', fullPage: true });
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('summary renders the confusion matrix; a cell click asks for its images; a file click opens it', async () => {
    const view = await openWebview('training');
    try {
      await send(view, { type: 'init', state: runState({ status: 'completed' }) });
      assert.equal(await view.page.locator('.evaluation').isVisible(), false);
      await send(view, { type: 'summary', summary: summaryFor(['cat', 'dog', 'bird'], CONFUSION) });
      const cells = view.page.locator('#confusion-matrix tbody button.cell');
      assert.equal(await cells.count(), 9);
      assert.deepEqual(await cells.allTextContents(), CONFUSION.flat().map(String));
      assert.deepEqual(await view.page.locator('#confusion-matrix thead th[scope=col]').allTextContents(), [
        'cat',
        'dog',
        'bird',
      ]);
      assert.equal(
        await cells.nth(5).getAttribute('aria-label'),
        'true dog, predicted bird: 2 images, 33.3% of the row',
      );
      assert.deepEqual(
        await view.page.locator('#per-class tbody tr').first().locator('td').allTextContents(),
        ['83.3%', '83.3%', '83.3%', '6'],
      );

      await view.page.click('#confusion-matrix button[data-true="1"][data-predicted="2"]');
      assert.deepEqual((await view.posted()).slice(-1), [
        { type: 'showCell', trueIndex: 1, predictedIndex: 2 },
      ]);
      assert.match((await view.page.locator('#cell-images').textContent()) ?? '', /Loading/);
      const files = [
        { file: 'dog/12.png', confidence: 0.61 },
        { file: 'dog/3.png', confidence: 0.93 },
      ];
      await send(view, { type: 'cellImages', trueIndex: 1, predictedIndex: 2, files });
      const links = view.page.locator('#cell-images button.file-link');
      assert.deepEqual(await links.locator('.file-name').allTextContents(), ['dog/3.png', 'dog/12.png']);
      assert.deepEqual(await links.locator('.confidence').allTextContents(), ['93.0%', '61.0%']);
      await links.nth(1).click();
      assert.deepEqual((await view.posted()).slice(-1), [{ type: 'openImage', file: 'dog/12.png' }]);
      await view.page.screenshot({ path: '/tmp/training-panel-summary.png', fullPage: true });
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('renders hostile class, run and file names as text (no element injected, no dialog)', async () => {
    const view = await openWebview('training');
    try {
      const classNames = [XSS_IMG, XSS_SCRIPT];
      await send(view, {
        type: 'init',
        state: runState({
          name: XSS_IMG,
          classNames,
          status: 'failed',
          error: XSS_SCRIPT,
          overfitting: { reason: XSS_IMG, epoch: 6 },
        }),
      });
      await send(view, {
        type: 'summary',
        summary: summaryFor(
          classNames,
          [
            [3, 1],
            [2, 4],
          ],
          (t, i) => `${i}${classNames[t]}.png`,
        ),
      });
      await view.page.click('#confusion-matrix button[data-true="0"][data-predicted="1"]');
      await send(view, {
        type: 'cellImages',
        trueIndex: 0,
        predictedIndex: 1,
        files: [{ file: `${XSS_IMG}.png`, confidence: 0.8 }],
      });
      assert.equal(await view.page.locator('.run-name').textContent(), XSS_IMG);
      assert.deepEqual(
        await view.page.locator('#confusion-matrix thead th[scope=col]').allTextContents(),
        classNames,
      );
      assert.equal(await view.page.locator('#cell-images .file-name').textContent(), `${XSS_IMG}.png`);
      assert.equal(await view.page.locator('#end-banner .banner-text').textContent(), XSS_SCRIPT);
      assert.equal(await view.page.locator('img').count(), 0);
      assert.equal(await view.page.locator('script').count(), 1, 'only the bundle’s own script');
      await view.page.locator('#cell-images button.file-link').click();
      assert.deepEqual((await view.posted()).slice(-1), [{ type: 'openImage', file: `${XSS_IMG}.png` }]);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('restores the saved state before any init; an empty run waits for its first epoch', async () => {
    const saved: PanelState = { run: runState({ status: 'stopped', endReason: 'stop requested' }) };
    const view = await openWebview('training', { state: saved });
    try {
      await waitForPoints(view.page, 'loss', CURVE_DATASETS.train, 6);
      assert.deepEqual(await view.posted(), [{ type: 'ready' }]);
      const loss = await chartData(view.page, 'loss');
      assert.deepEqual(loss[CURVE_DATASETS.best], [{ x: 4, y: 0.62 }]);
      assert.equal(await view.page.locator('.run-name').textContent(), 'digits frozen conv');
      assert.equal(await view.page.locator('#stop-button').isVisible(), false);

      await send(view, { type: 'init', state: runState({ metrics: [], bestEpoch: undefined }) });
      const placeholder = view.page.locator('#placeholder');
      assert.equal(await placeholder.textContent(), 'Waiting for the first epoch…');
      assert.equal(await placeholder.isVisible(), true);
      assert.equal(await view.page.locator('#charts').isVisible(), false);
      // The page persisted what it shows (for the next reload).
      const state = (await view.page.evaluate(`__state`)) as PanelState;
      assert.equal(state.run?.metrics.length, 0);
      // The first batch brings the loss chart up before epoch 1 ends.
      await send(view, { type: 'batch', ...batch(1, 1, 4, 2.3) });
      await waitForPoints(view.page, 'loss', CURVE_DATASETS.batch, 1);
      assert.equal(await view.page.locator('#charts').isVisible(), true);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });
});

// ───────────────────────── Advice, gradual unfreezing, LR per batch (issue 7) ─────────────────────────

const ADVICE: Advice[] = [
  {
    id: 'overfitting',
    severity: 'warning',
    title: `Overfitting from epoch 4 ${XSS_SCRIPT}`,
    evidence: `val_loss has risen for 2 epochs in a row ${XSS_IMG} while loss fell.`,
    suggestions: [
      { label: 'More dropout: 0 → 0.2', action: { kind: 'setValue', path: ['head', 'dropout'], value: 0.2 } },
      {
        label: `Freeze more layers: the whole base up to ${XSS_IMG}`,
        action: { kind: 'layerEdit', edit: { kind: 'freezeUpTo', path: XSS_IMG } },
      },
    ],
  },
  {
    id: 'learning-rate-low',
    severity: 'info',
    title: 'Loss barely moves: the learning rate may be too low',
    evidence: 'loss went from 1.000 to 0.990 over 4 epochs (1.0 %).',
    suggestions: [{ label: 'Find a learning rate (Fine-Tune: Find Learning Rate)' }],
  },
];

/** A cosine schedule over 2 epochs of 4 batches: the rate changes every batch. */
const cosineLr = (epochNo: number, b: number): number =>
  0.0005 * (1 + Math.cos((Math.PI * (epochNo - 1 + (b - 1) / 4)) / 2));

describe('training panel: advice, unfreezing and LR per batch (pure)', () => {
  it('advice and unfreezing messages replace theirs; an applied suggestion is remembered per run', () => {
    let panel = reducePanel({}, { type: 'init', state: runState() });
    panel = reducePanel(panel, { type: 'advice', advice: ADVICE });
    assert.deepEqual(panel.run?.advice, ADVICE);
    panel = reducePanel(panel, { type: 'advice', advice: [] });
    assert.deepEqual(panel.run?.advice, []);
    const unfreezing = { phase: 1, phases: 3, since: 3, trainable: ['conv3'], next: { epoch: 5 } };
    panel = reducePanel(panel, { type: 'unfreezing', unfreezing });
    assert.deepEqual(panel.run?.unfreezing, unfreezing);
    const key = adviceKey('overfitting', 0, 'More dropout: 0 → 0.2');
    panel = markApplied(panel, key);
    panel = reducePanel(panel, { type: 'init', state: runState() });
    assert.deepEqual(panel.applied, [key], 'the same run keeps what was applied');
    panel = reducePanel(panel, { type: 'init', state: runState({ runId: 'another' }) });
    assert.equal(panel.applied, undefined);
    assert.deepEqual(restorePanelState({ run: runState(), applied: [key, 3] }).applied, [key]);
  });

  it('batches carry their learning rate: a few kept per epoch, in x order; a varying rate gets its own curve', () => {
    let panel = reducePanel({}, { type: 'init', state: runState({ metrics: [], bestEpoch: undefined }) });
    for (let b = 1; b <= 4; b++) {
      panel = reducePanel(panel, { type: 'batch', ...batch(1, b, 4, 1), lr: cosineLr(1, b) });
    }
    assert.deepEqual(
      panel.run?.lrSteps?.map((p) => p.x),
      [0.25, 0.5, 0.75, 1],
    );
    // 100 batches per epoch keep every 5th (24 points at most) and the last.
    for (let b = 1; b <= 100; b++)
      panel = reducePanel(panel, { type: 'batch', ...batch(2, b, 100, 1), lr: 0.001 });
    const second = panel.run?.lrSteps?.filter((p) => p.x > 1) ?? [];
    assert.equal(second.length, 21);
    assert.equal(second[second.length - 1].x, 2);
    const varying = chartSeries({ ...runState(), lrSteps: panel.run?.lrSteps?.filter((p) => p.x <= 1) });
    assert.equal(varying.lr.lrSteps.length, 4);
    const flat = chartSeries({ ...runState(), lrSteps: second });
    assert.deepEqual(
      flat.lr.lrSteps,
      [],
      'a rate constant within each epoch adds nothing to the epoch points',
    );
    // A step schedule: constant within each epoch, another rate the next epoch (each epoch's last batch
    // sits at x = epoch, and still belongs to that epoch).
    const stepped = [0.5, 1, 1.5, 2].map((x) => ({ x, y: x <= 1 ? 0.001 : 0.0005 }));
    assert.deepEqual(chartSeries({ ...runState(), lrSteps: stepped }).lr.lrSteps, []);
  });
});

describe('training panel: advice, unfreezing and LR per batch in Chromium', { timeout: 60_000 }, () => {
  after(closeBrowser);

  it('advice renders its texts as text; a suggestion posts applyAdvice once and shows as applied', async () => {
    const view = await openWebview('training');
    try {
      const { page } = view;
      await send(view, { type: 'init', state: runState() });
      assert.equal(await page.locator('#advice').isVisible(), false, 'no advice, no card');
      await send(view, { type: 'advice', advice: ADVICE });
      const items = page.locator('#advice .advice');
      assert.equal(await items.count(), 2);
      assert.equal(await items.nth(0).locator('.advice-title').textContent(), ADVICE[0].title);
      assert.equal(await items.nth(0).locator('.advice-evidence').textContent(), ADVICE[0].evidence);
      const buttons = items.nth(0).locator('vscode-button.advice-apply');
      assert.deepEqual(
        await buttons.allTextContents(),
        ADVICE[0].suggestions.map((s) => s.label),
      );
      assert.equal(
        await items.nth(1).locator('vscode-button').count(),
        0,
        'an informational suggestion is no button',
      );
      assert.equal(await items.nth(1).locator('.advice-tip').textContent(), ADVICE[1].suggestions[0].label);
      assert.equal(await page.locator('#advice img, #advice script').count(), 0);

      const before = (await view.posted()).length;
      await buttons.nth(1).click();
      await settle(page);
      assert.deepEqual((await view.posted()).slice(before), [
        { type: 'applyAdvice', adviceId: 'overfitting', index: 1 },
      ]);
      assert.equal(await buttons.nth(1).getAttribute('disabled'), '');
      await buttons.nth(1).click({ force: true });
      await settle(page);
      assert.equal((await view.posted()).length, before + 1, 'an applied suggestion is not applied twice');
      // The next epoch's advice (same suggestion) still shows it as applied; other suggestions stay live.
      await send(view, { type: 'advice', advice: JSON.parse(JSON.stringify(ADVICE)) as Advice[] });
      assert.equal(await buttons.nth(1).getAttribute('disabled'), '');
      assert.equal(await buttons.nth(0).getAttribute('disabled'), null);
      // With overfitting flagged, the banner points at the advice instead of repeating it.
      await send(view, {
        type: 'epoch',
        metrics: epoch(7, 0.3, 0.9, 0.75, 0.73, true),
        isBest: false,
        bestEpoch: 4,
        overfittingReason: 'val_loss rose 3 epochs in a row while loss fell',
      });
      assert.match((await page.locator('#overfit-banner .banner-hint').textContent()) ?? '', /under Advice/);
      await page.screenshot({ path: '/tmp/training-panel-advice.png', fullPage: true });
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('the unfreezing banner says the phase, the layers training now (as text) and the next step', async () => {
    const view = await openWebview('training');
    try {
      const { page } = view;
      await send(view, { type: 'init', state: runState() });
      const banner = page.locator('#unfreezing-banner');
      assert.equal(await banner.isVisible(), false);
      await send(view, {
        type: 'unfreezing',
        unfreezing: { phase: 0, phases: 3, since: 1, trainable: [], next: { epoch: 3, layers: ['conv3'] } },
      });
      assert.match((await banner.textContent()) ?? '', /head only \(3 blocks wait\)/);
      assert.match((await banner.textContent()) ?? '', /Next: epoch 3 unfreezes conv3\./);
      await send(view, {
        type: 'unfreezing',
        unfreezing: {
          phase: 2,
          phases: 3,
          since: 5,
          trainable: ['conv3', `block/${XSS_IMG}`],
          next: { epoch: 7, layers: ['conv1', 'bn1'] },
        },
      });
      assert.match((await banner.locator('strong').textContent()) ?? '', /phase 2 of 3/);
      assert.deepEqual(await banner.locator('.layer-chip').allTextContents(), ['conv3', `block/${XSS_IMG}`]);
      assert.match(
        (await banner.textContent()) ?? '',
        /Since epoch 5 the new head and 2 pre-trained layers train:/,
      );
      assert.match((await banner.textContent()) ?? '', /Next: epoch 7 unfreezes conv1, bn1\./);
      assert.equal(await page.locator('img').count(), 0);
      await page.locator('.banners').screenshot({ path: '/tmp/training-panel-unfreezing.png' });
      await send(view, { type: 'status', status: 'completed', endReason: 'all 10 epochs done' });
      assert.doesNotMatch((await banner.textContent()) ?? '', /Next:/, 'a finished run has no next step');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('the LR chart draws the per-batch rate of a cosine schedule, from init and from live batches', async () => {
    const view = await openWebview('training');
    try {
      const { page } = view;
      const first = [1, 2, 3, 4].map((b) => ({ x: b / 4, y: cosineLr(1, b) }));
      await send(view, {
        type: 'init',
        state: runState({
          metrics: [{ ...epoch(1, 1, 0.5, 1, 0.5), lr: cosineLr(1, 4) }],
          bestEpoch: 1,
          epochsPlanned: 2,
          lrSteps: first,
        }),
      });
      let lr = await chartData(page, 'lr');
      assert.deepEqual(lr[LR_DATASETS.lrSteps], first);
      assert.equal(await page.evaluate(`__fineTuneCharts.lr.options.scales.x.min`), 0);
      await send(
        view,
        ...[1, 2, 3, 4].map((b) => ({ type: 'batch', ...batch(2, b, 4, 0.5), lr: cosineLr(2, b) })),
      );
      await waitForPoints(page, 'lr', LR_DATASETS.lrSteps, 8);
      lr = await chartData(page, 'lr');
      assert.deepEqual(
        lr[LR_DATASETS.lrSteps].slice(4).map((p) => p.x),
        [1.25, 1.5, 1.75, 2],
      );
      assert.ok(Math.abs(lr[LR_DATASETS.lrSteps][7].y - cosineLr(2, 4)) < 1e-15);
      await page.locator('.chart-lr').screenshot({ path: '/tmp/training-panel-lr-per-batch.png' });
      await assertClean(view);
    } finally {
      await view.close();
    }
  });
});
