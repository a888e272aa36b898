/**
 * LR finder panel: the pure helpers directly, and the bundled page in headless Chromium under the real
 * CSP shell, driven by host messages (needs `node scripts/build.mjs`). The sweep fed to it is scripted but
 * smoothed and read by the engine's own code (training/lrSuggestion.ts), so it has a real result's shape.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { LrFinderResult } from '../../src/protocol/lrFinder';
import { type LrFinderPanelState } from '../../src/protocol/webviewMessages';
import { isLrFinderPanelToHost } from '../../src/protocol/messageGuards';
import { SmoothedLoss, suggestLearningRate, sweepLearningRate } from '../../src/engine/training/lrSuggestion';
import { createRng } from '../../src/core/rng';
import { lossAxisRange, roundLearningRate, smoothedAt } from '../../webview/lrFinder/curve';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(1)</script>';

/** A sweep whose loss falls from 2.3 to 0.4 around 3e-4, then blows up past 0.5, with batch noise. */
function scriptedResult(overrides: Partial<LrFinderResult> = {}): LrFinderResult {
  const rng = createRng('lr-panel');
  const smoother = new SmoothedLoss();
  const points: LrFinderResult['points'] = [];
  let min = Infinity;
  for (let i = 0; i < 100; i++) {
    const lr = sweepLearningRate(i, 100, 1e-7, 10);
    const x = Math.log10(lr);
    const clean = 2.3 - 1.9 / (1 + Math.exp(-2.5 * (x + 3.5))) + Math.max(0, x + 0.3) ** 2 * 40;
    const loss = clean * (1 + rng.uniform(-0.15, 0.15));
    const smoothed = smoother.add(loss);
    min = Math.min(min, smoothed);
    points.push({ lr, loss, smoothed });
    if (smoothed > 4 * min) break;
  }
  const { suggestion, minLossLr } = suggestLearningRate(points);
  return {
    points,
    suggestion,
    minLossLr,
    stoppedEarly: points.length < 100,
    backend: 'wasm',
    startLr: 1e-7,
    endLr: 10,
    steps: 100,
    experimentName: 'digits-frozen-conv',
    currentLr: 0.001,
    seconds: 12.4,
    ...overrides,
  };
}

function panelState(result = scriptedResult(), currentLr: number | undefined = 0.001): LrFinderPanelState {
  return {
    experimentPath: '/ws/digits-frozen-conv.finetune.json',
    result,
    ...(currentLr !== undefined ? { currentLr } : {}),
  };
}

async function openWith(state: LrFinderPanelState, options = {}): Promise<WebviewPage> {
  const view = await openWebview('lrFinder', options);
  await view.send({ type: 'init', state });
  await waitForProperty(view.page, 'suggested-value', 'textContent', '', true);
  return view;
}

function assertClean(view: WebviewPage): void {
  assert.deepEqual(view.problems, []);
  assert.deepEqual(view.dialogs, []);
}

interface ChartReading {
  xType: string;
  datasets: { label: string; data: { x: number; y: number }[] }[];
  marks: { lr: number; label: string }[];
  yMax: number;
}

/** The page's chart (the test hook `window.__fineTuneLrChart`), as much of it as the tests read. */
interface PageChart {
  options: {
    scales: Record<string, { type?: string; max?: number }>;
    plugins: { rateMarks?: { marks?: { lr: number; label: string }[] } };
  };
  data: { datasets: { label?: string; borderColor?: unknown; data: { x: number; y: number }[] }[] };
}

function readChart(page: Page): Promise<ChartReading> {
  return page.evaluate(() => {
    const chart = (globalThis as unknown as { __fineTuneLrChart: PageChart }).__fineTuneLrChart;
    const scales = chart.options.scales;
    return {
      xType: scales.x.type ?? '',
      datasets: chart.data.datasets.map((d) => ({ label: d.label ?? '', data: d.data })),
      marks: (chart.options.plugins.rateMarks?.marks ?? []).map((m) => ({ lr: m.lr, label: m.label })),
      yMax: scales.y.max ?? NaN,
    };
  });
}

const text = async (page: Page, selector: string): Promise<string> =>
  (await page.locator(selector).innerText()).trim();

type PageElement = Record<string, unknown> | null;

/**
 * Waits until element `id`'s `property` is (or, with `not`, is no longer) `value`. A function, not a
 * string: the page's CSP forbids eval, and the test code is compiled without the DOM's types.
 */
function waitForProperty(page: Page, id: string, property: string, value: unknown, not = false) {
  return page.waitForFunction(
    ([i, p, v, n]) => {
      const element = (
        globalThis as unknown as { document: { getElementById(id: string): PageElement } }
      ).document.getElementById(i);
      return element !== null && (element[p] === v) !== n;
    },
    [id, property, value, not] as const,
  );
}

after(() => closeBrowser());

describe('LR finder panel: pure parts', () => {
  it('rounds to two significant digits, what the button writes', () => {
    assert.equal(roundLearningRate(0.000316228), 0.00032);
    assert.equal(roundLearningRate(0.0123), 0.012);
    assert.equal(roundLearningRate(1.049), 1);
  });

  it('fits the loss axis to the descent, letting the blow-up run off the top', () => {
    const result = scriptedResult();
    const range = lossAxisRange(result)!;
    const smoothed = result.points.map((p) => p.smoothed);
    const minIndex = smoothed.indexOf(Math.min(...smoothed));
    assert.ok(range.max > Math.max(...smoothed.slice(0, minIndex + 1)), 'the descent is all visible');
    assert.ok(range.max < smoothed[smoothed.length - 1], 'the blow-up is cut off');
    assert.ok(range.min <= Math.min(...result.points.map((p) => p.loss)));
    assert.ok(range.min >= 0);
  });

  it('finds the smoothed loss at the suggestion', () => {
    const result = scriptedResult();
    const at = result.points.find((p) => p.lr === result.suggestion)!;
    assert.equal(smoothedAt(result, result.suggestion), at.smoothed);
  });

  it('the host accepts only sane learning rates from the panel', () => {
    assert.ok(isLrFinderPanelToHost({ type: 'useLearningRate', value: 0.00032 }));
    assert.ok(isLrFinderPanelToHost({ type: 'findAgain' }));
    for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e6, '0.001', null])
      assert.ok(!isLrFinderPanelToHost({ type: 'useLearningRate', value }), String(value));
    assert.ok(!isLrFinderPanelToHost({ type: 'setValue', path: ['training'], value: 1 }));
  });
});

describe('LR finder panel in Chromium', () => {
  it('plots every point of the sweep against a log learning-rate axis', async () => {
    const state = panelState();
    const view = await openWith(state);
    try {
      const chart = await readChart(view.page);
      assert.equal(chart.xType, 'logarithmic');
      const [raw, smoothed, suggestion] = chart.datasets;
      assert.equal(raw.label, 'loss per step');
      assert.equal(smoothed.label, 'smoothed loss');
      assert.deepEqual(
        raw.data,
        state.result.points.map((p) => ({ x: p.lr, y: p.loss })),
      );
      assert.deepEqual(
        smoothed.data,
        state.result.points.map((p) => ({ x: p.lr, y: p.smoothed })),
      );
      // The suggestion sits on the smoothed curve.
      const at = state.result.points.find((p) => p.lr === state.result.suggestion)!;
      assert.deepEqual(suggestion.data, [{ x: state.result.suggestion, y: at.smoothed }]);
      assert.match(await text(view.page, '.summary'), /^\d+ of 100 steps · 1\.0e-7 → 10 · wasm · 12s$/);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('marks the suggestion, the valley and the current rate', async () => {
    const state = panelState();
    const view = await openWith(state);
    try {
      const { suggestion, minLossLr } = state.result;
      const rounded = roundLearningRate(suggestion);
      assert.ok(suggestion > 1e-4 && suggestion < 1e-2, `scripted suggestion ${suggestion}`);
      assert.equal(await text(view.page, '#suggested-value'), rounded.toExponential(1));
      assert.equal(await text(view.page, '#current-value'), '1.0e-3');
      const { marks } = await readChart(view.page);
      assert.deepEqual(marks, [
        { lr: suggestion, label: `suggestion ${rounded.toExponential(1)}` },
        { lr: minLossLr / 10, label: 'valley' },
        { lr: 0.001, label: 'in the file' },
      ]);
      // The stop is explained; there is no note for a clean curve.
      assert.equal(state.result.stoppedEarly, true);
      assert.match(await text(view.page, '.banner-info'), /stopped early at .*: the loss blew up/);
      assert.equal(await view.page.locator('.banner-warning').isHidden(), true);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('"Use … as learning rate" posts the rounded suggestion; the valley and Find Again post theirs', async () => {
    const state = panelState();
    const view = await openWith(state);
    try {
      const rounded = roundLearningRate(state.result.suggestion);
      assert.equal(
        await text(view.page, '#use-suggestion'),
        `Use ${rounded.toExponential(1)} as learning rate`,
      );
      await view.page.click('#use-suggestion');
      await view.page.click('#use-valley');
      await view.page.click('#find-again');
      const posted = await view.posted();
      assert.deepEqual(posted, [
        { type: 'ready' },
        { type: 'useLearningRate', value: rounded },
        { type: 'useLearningRate', value: roundLearningRate(state.result.minLossLr / 10) },
        { type: 'findAgain' },
      ]);
      assert.ok(posted.every((m) => isLrFinderPanelToHost(m)));
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('once the file has the suggested rate, says so instead of offering it again', async () => {
    const state = panelState();
    const view = await openWith(state);
    try {
      const rounded = roundLearningRate(state.result.suggestion);
      await view.send({ type: 'currentLr', value: rounded });
      await waitForProperty(view.page, 'use-suggestion', 'disabled', true);
      assert.equal(
        await text(view.page, '#use-suggestion'),
        `training.learningRate is ${rounded.toExponential(1)}`,
      );
      assert.equal(await text(view.page, '#current-value'), rounded.toExponential(1));
      await view.page.click('#use-suggestion', { force: true });
      assert.deepEqual(await view.posted(), [{ type: 'ready' }]);
      // An unreadable file: no current rate, the offer is back.
      await view.send({ type: 'currentLr', value: undefined });
      await waitForProperty(view.page, 'use-suggestion', 'disabled', false);
      assert.equal(await text(view.page, '#current-value'), '—');
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('shows the experiment name and the note as text, never as HTML', async () => {
    const result = scriptedResult({
      experimentName: `${XSS_IMG}${XSS_SCRIPT}`,
      note: `The loss fell only 1.2% ${XSS_IMG}`,
    });
    const view = await openWith(panelState(result));
    try {
      assert.equal(await view.page.locator('.experiment-name').textContent(), `${XSS_IMG}${XSS_SCRIPT}`);
      assert.match(await text(view.page, '.banner-warning'), /fell only 1\.2% <img src=x/);
      assert.equal(await view.page.locator('img, script:not([nonce])').count(), 0);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('redraws from its saved state after a reload, before the host says anything', async () => {
    const state = panelState();
    const view = await openWebview('lrFinder', { state });
    try {
      await waitForProperty(view.page, 'suggested-value', 'textContent', '', true);
      const chart = await readChart(view.page);
      assert.equal(chart.datasets[1].data.length, state.result.points.length);
      assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('looks like a VS Code panel in the default and a dark theme (screenshots)', async () => {
    const view = await openWith(panelState(), { width: 1000, height: 900 });
    try {
      await view.page.screenshot({ path: '/tmp/lr-finder-light.png', fullPage: true });
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
        '--vscode-button-background': '#0078d4',
        '--vscode-button-foreground': '#ffffff',
        '--vscode-button-secondaryBackground': '#313131',
        '--vscode-button-secondaryForeground': '#cccccc',
        '--vscode-editorWarning-foreground': '#cca700',
      };
      await view.page.evaluate(
        `(() => { for (const [k, v] of Object.entries(${JSON.stringify(dark)})) document.body.style.setProperty(k, v); })()`,
      );
      // The theme watcher recolours the chart: its curve takes the dark palette's blue.
      await view.page.waitForFunction(
        () =>
          (globalThis as unknown as { __fineTuneLrChart: PageChart }).__fineTuneLrChart.data.datasets[1]
            .borderColor === '#3794ff',
      );
      await view.page.screenshot({ path: '/tmp/lr-finder-dark.png', fullPage: true });
      assertClean(view);
    } finally {
      await view.close();
    }
  });
});
