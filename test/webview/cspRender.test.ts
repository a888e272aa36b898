/**
 * The webview CSP has no 'unsafe-inline' (src/host/panels/webviewHtml.ts): every panel, rendered in
 * headless Chromium under the real shell with a full state (charts, confusion matrix, layer tree, tables,
 * vscode-elements widgets), reports no CSP violation, and its stylesheets apply. The control cases prove
 * the detector: an inline style attribute, a <style> element and an inline script are each reported, and
 * the harness's close() fails the test (needs `node scripts/build.mjs`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { EpochMetrics, RunSummary } from '../../src/protocol/runRecord';
import type {
  ExperimentPanelState,
  LrFinderPanelState,
  TrainingPanelState,
} from '../../src/protocol/webviewMessages';
import { listRuns } from '../../src/core/runs/readRuns';
import { comparePanelState, freezePatternDiff } from '../../src/host/panels/compareState';
import { writeFixtureRun } from './compareFixtures';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

// ───────────────────────── States that make each panel draw everything it has ─────────────────────────

function epoch(n: number): EpochMetrics {
  const loss = 1.2 / n;
  const valLoss = 1.0 / n + 0.02 * n;
  return {
    epoch: n,
    loss,
    accuracy: 0.4 + 0.08 * n,
    val_loss: valLoss,
    val_accuracy: 0.45 + 0.07 * n,
    lr: 0.001,
    lr_base: 0.0001,
    time_s: 2,
    gap: valLoss - loss,
    overfitting: n === 6,
  };
}

const CLASSES = ['cat', 'dog', 'bird'];
const CONFUSION = [
  [5, 1, 0],
  [0, 4, 2],
  [1, 0, 6],
];

function summary(): RunSummary {
  const predictions: RunSummary['predictions'] = [];
  CONFUSION.forEach((row, t) =>
    row.forEach((count, p) => {
      for (let i = 0; i < count; i++)
        predictions.push({
          file: `${CLASSES[t]}/${predictions.length}.png`,
          trueIndex: t,
          predictedIndex: p,
          confidence: 0.8,
        });
    }),
  );
  return {
    epoch: 4,
    classNames: CLASSES,
    confusion: CONFUSION,
    perClass: CLASSES.map((className) => ({ className, precision: 0.7, recall: 0.7, f1: 0.7, support: 6 })),
    accuracy: 15 / 25,
    val_loss: 0.5,
    misclassified: [],
    predictions,
  };
}

function trainingState(): TrainingPanelState {
  return {
    runId: '2025-01-01T00-00-00-abc',
    name: 'digits frozen conv',
    status: 'completed',
    backend: 'wasm',
    classNames: CLASSES,
    epochsPlanned: 6,
    metrics: [1, 2, 3, 4, 5, 6].map(epoch),
    bestEpoch: 4,
    batches: [],
    overfitting: { reason: 'val_loss rose for 2 epochs while loss fell', epoch: 6 },
    endReason: 'completed 6 epochs',
    summary: summary(),
    advice: [
      {
        id: 'overfitting',
        severity: 'warning',
        title: 'The model overfits',
        evidence: 'val_loss rose from epoch 4',
        suggestions: [
          {
            label: 'Raise dropout to 0.5',
            action: { kind: 'setValue', path: ['head', 'dropout'], value: 0.5 },
          },
        ],
      },
    ],
  };
}

function layer(p: string, className: string, children?: LayerNode[]): LayerNode {
  return {
    path: p,
    name: p.split('/').pop() as string,
    className,
    outputShape: [null, 8],
    trainableParams: 10,
    nonTrainableParams: 0,
    ...(children ? { children } : {}),
  };
}

function experimentState(): ExperimentPanelState {
  const copy = JSON.parse(JSON.stringify(DEFAULTS)) as typeof DEFAULTS;
  const config: ExperimentConfig = {
    name: 'digits',
    baseModel: '/ws/models/base/model.json',
    dataset: { ...copy.dataset, path: '/ws/data/digits', imageSize: [28, 28] },
    freezeUpTo: 'pool1',
    layers: { dense_1: 'reinit' },
    head: { ...copy.head, cutAt: 'dense_1' },
    regularization: copy.regularization,
    augmentation: copy.augmentation,
    training: { ...copy.training, epochs: 5 },
  };
  return {
    experimentPath: '/ws/digits.finetune.json',
    document: {
      name: 'digits',
      baseModel: 'models/base/model.json',
      dataset: { path: 'data/digits' },
      freezeUpTo: 'pool1',
    },
    config,
    errors: [],
    warnings: ['dataset: 3 images in class "bird"'],
    layers: [
      layer('conv1', 'Conv2D'),
      layer('pool1', 'MaxPooling2D'),
      layer('block', 'Sequential', [layer('block/conv2', 'Conv2D'), layer('block/bn', 'BatchNormalization')]),
      layer('dense_1', 'Dense'),
      layer('dense_2', 'Dense'),
    ],
    layerStates: {
      conv1: 'frozen',
      pool1: 'frozen',
      'block/conv2': 'trainable',
      'block/bn': 'trainable',
      dense_1: 'reinit',
      dense_2: 'trainable',
    },
    cutAt: 'dense_1',
  };
}

function lrFinderState(): LrFinderPanelState {
  const points = Array.from({ length: 40 }, (_, i) => {
    const lr = 1e-6 * 10 ** (i / 8);
    const loss = 2.3 - 1.5 / (1 + Math.exp(-(i - 20) / 3)) + (i > 34 ? (i - 34) * 0.8 : 0);
    return { lr, loss, smoothed: loss };
  });
  return {
    experimentPath: '/ws/digits.finetune.json',
    currentLr: 0.001,
    result: {
      points,
      suggestion: points[20].lr,
      minLossLr: points[33].lr,
      stoppedEarly: true,
      backend: 'wasm',
      startLr: 1e-6,
      endLr: 10,
      steps: 100,
      experimentName: 'digits',
      currentLr: 0.001,
      seconds: 3,
    },
  };
}

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-csp-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function compareState() {
  const runsDir = path.join(tmp, '.finetune', 'runs');
  writeFixtureRun(runsDir, { id: '20250101-100000-a', name: 'frozen conv', epochs: 8, overfitAt: 5 }, 0);
  writeFixtureRun(
    runsDir,
    { id: '20250101-100100-b', name: 'unfrozen', epochs: 6, config: { freezeUpTo: 'features/pool1' } },
    1,
  );
  const runs = listRuns(runsDir).reverse();
  const freeze = freezePatternDiff(
    runs.map((run) => ({ name: run.id, config: run.record?.config, tree: undefined })),
  );
  return comparePanelState(runs, freeze, Date.parse('2025-01-01T12:00:00Z'));
}

// ───────────────────────── Page helpers ─────────────────────────

function cspViolations(view: WebviewPage): string[] {
  return view.problems.filter((p) => p.startsWith('csp: '));
}

/** The page's own stylesheets applied: base.css sets the body's colour from the theme variables. */
async function bodyColor(page: Page): Promise<string> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { body: unknown };
      getComputedStyle(e: unknown): { color: string };
    };
    return g.getComputedStyle(g.document.body).color;
  });
}

/** Lets queued frames (chart.js draws, Lit updates) run, so their styling is part of what is checked. */
async function frames(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const g = globalThis as unknown as { requestAnimationFrame(f: () => void): void };
        g.requestAnimationFrame(() => g.requestAnimationFrame(() => resolve()));
      }),
  );
}

const PANELS: { panel: string; init: () => unknown; rendered: string[] }[] = [
  {
    panel: 'training',
    init: () => ({ type: 'init', state: trainingState() }),
    rendered: ['canvas', '#confusion-matrix', '.advice-apply'],
  },
  {
    panel: 'experiment',
    init: () => ({ type: 'init', state: experimentState() }),
    rendered: ['.layer-row[data-path="conv1"]'],
  },
  { panel: 'compare', init: () => ({ type: 'init', state: compareState() }), rendered: ['canvas', 'table'] },
  { panel: 'lrFinder', init: () => ({ type: 'init', state: lrFinderState() }), rendered: ['#lr-chart'] },
];

// ───────────────────────── Tests ─────────────────────────

describe('webview CSP without unsafe-inline, in headless Chromium', { timeout: 120_000 }, () => {
  after(closeBrowser);

  for (const { panel, init, rendered } of PANELS) {
    it(`the ${panel} panel renders a full state with no CSP violation, its stylesheets applied`, async () => {
      const view = await openWebview(panel, { width: 1200, height: 900 });
      try {
        await view.send(init());
        for (const selector of rendered)
          await view.page.locator(selector).first().waitFor({ state: 'visible' });
        await frames(view.page);
        assert.equal(await bodyColor(view.page), 'rgb(59, 59, 59)', 'base.css applies (its theme fallback)');
        assert.deepEqual(cspViolations(view), []);
        assert.deepEqual(view.dialogs, []);
      } finally {
        await view.close();
      }
    });
  }

  /** [what, code that injects it, an expression that is true when the injected thing took effect] */
  const INJECTIONS: [string, string, string][] = [
    [
      'an inline style attribute',
      `document.body.insertAdjacentHTML('beforeend', '<div id="injected" style="color: red">x</div>')`,
      `getComputedStyle(document.getElementById('injected')).color === 'rgb(255, 0, 0)'`,
    ],
    [
      'a <style> element',
      `document.head.appendChild(document.createElement('style')).textContent = 'body { color: red }'`,
      `getComputedStyle(document.body).color === 'rgb(255, 0, 0)'`,
    ],
    [
      'an inline script',
      `document.body.appendChild(document.createElement('script')).textContent = 'window.__ran = true'`,
      `window.__ran === true`,
    ],
  ];
  for (const [what, inject, tookEffect] of INJECTIONS) {
    it(`the detector is live: ${what} is blocked, reported, and fails the test at close()`, async () => {
      const view = await openWebview('training');
      let closed = false;
      try {
        // Playwright's evaluate runs outside the page's CSP (as a devtools console would); what it adds to
        // the DOM is subject to the CSP like anything the page's own code would add.
        await view.page.evaluate(inject);
        await waitFor(() => cspViolations(view).length > 0);
        assert.match(cspViolations(view)[0], /^csp: (style|script)-src/);
        assert.equal(await view.page.evaluate(tookEffect), false, `${what} was blocked`);
        closed = true;
        await assert.rejects(view.close(), /the training panel violated its CSP/);
      } finally {
        if (!closed) await view.close().catch(() => undefined);
      }
    });
  }
});

/** Polls a condition the page reports asynchronously (the violation event is delivered after the DOM change). */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for a CSP violation report');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
