/**
 * The training panel's Data tab: its reducer (pure), and the bundled page in headless Chromium under the
 * real CSP shell — the gallery of label issues, top losses and duplicates with their thumbnails (data:
 * URLs), every action posting the right message, hostile file and class names rendered as text, the
 * embedding map with a clickable point, Grad-CAM in a card and in the confusion-matrix drill-down, the
 * dataset-changed banner and Undo. Needs `node scripts/build.mjs`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { DataInsightReport, GradCamResult } from '../../src/protocol/dataInsight';
import type { TrainingPanelState } from '../../src/protocol/webviewMessages';
import { explain, initialDataTab, reduceData, selectPoint } from '../../webview/training/data/dataState';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(1)</script>';
/** A 2×2 red PNG. */
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVQI12P8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==';

function runState(classNames: string[]): TrainingPanelState {
  return {
    runId: 'run-1',
    name: 'digits',
    status: 'completed',
    backend: 'wasm',
    classNames,
    epochsPlanned: 2,
    metrics: [],
    batches: [],
  };
}

function reportFor(classNames: string[], issues = 3): DataInsightReport {
  const [a, b] = classNames;
  const files = Array.from({ length: issues }, (_, i) => `${a}/${i}${i === 0 ? XSS_IMG : ''}.png`);
  return {
    experimentName: 'digits',
    datasetPath: '/w/data',
    layout: 'flat',
    datasetFingerprint: 'f',
    classNames,
    images: { train: 8, val: 2, skipped: 0 },
    folds: 5,
    rankBy: 'self_confidence',
    mode: 'cached activations',
    outOfSampleAccuracy: 0.9,
    thresholds: [0.9, 0.8],
    estimatedIssues: 1,
    issues: files.map((file, i) => ({
      file,
      label: a,
      suggested: b,
      score: 0.99 - i * 0.1,
      selfConfidence: 0.01 + i * 0.1,
      suggestedProbability: 0.9,
      split: 'train',
      confident: i === 0,
    })),
    duplicates: [
      { train: `${a}/t.png`, trainLabel: a, val: `${b}/v.png`, valLabel: b, similarity: 1, identical: true },
    ],
    duplicateThreshold: 0.985,
    topLosses: [
      { file: `${b}/v2.png`, label: b, predicted: a, probability: 0.8, labelProbability: 0.1, loss: 2.3 },
    ],
    runId: 'run-1',
    embedding: {
      points: [
        ...files.map((file, i) => ({
          file,
          x: i,
          y: i,
          label: 0,
          predicted: 1,
          flagged: true,
          split: 'train' as const,
        })),
        { file: `${b}/v2.png`, x: 5, y: -2, label: 1, predicted: 0, flagged: false, split: 'val' as const },
        { file: `${b}/ok.png`, x: -3, y: 4, label: 1, predicted: 1, flagged: false, split: 'train' as const },
      ],
      total: 10,
      sampled: true,
      explained: [0.4, 0.2],
      layer: 'flatten',
      method: 'pca',
    },
    thumbnails: Object.fromEntries(
      [...files, `${a}/t.png`, `${b}/v.png`, `${b}/v2.png`].map((f) => [f, PNG]),
    ),
    backend: 'wasm',
    seconds: 3.2,
    notes: [`note ${XSS_SCRIPT}`],
  };
}

function camFor(file: string, classIndex: number, className: string): GradCamResult {
  return {
    file,
    classIndex,
    className,
    probability: 0.7,
    predicted: className,
    predictedProbability: 0.7,
    layer: 'pool3',
    mapSize: [4, 4],
    overlay: PNG,
    quadrants: [1, 0, 0, 0],
  };
}

async function openData(classNames: string[], report: DataInsightReport): Promise<WebviewPage> {
  const view = await openWebview('training', { width: 1100, height: 900 });
  await view.send({ type: 'init', state: runState(classNames) });
  await view.send({ type: 'showTab', tab: 'data' });
  await view.send({ type: 'dataReport', report, reviewed: 2 });
  return view;
}

/** What the page's globals look like to the functions evaluated in it. */
interface PageGlobals {
  document: { querySelectorAll(selector: string): Iterable<{ complete: boolean; naturalWidth: number }> };
  requestAnimationFrame(callback: (time: number) => void): void;
  __posted: { type?: string }[];
  __fineTuneEmbedding: {
    data: { datasets: { data: unknown[] }[] };
    canvas: { getBoundingClientRect(): { left: number; top: number } };
    getDatasetMeta(i: number): { data: { x: number; y: number }[] };
  };
}

const lastPosted = async (view: WebviewPage): Promise<unknown> => (await view.posted()).slice(-1)[0];

async function assertNoProblems(view: WebviewPage): Promise<void> {
  assert.deepEqual(
    view.problems.filter((p) => !p.includes('404')),
    [],
  );
  assert.deepEqual(view.dialogs, []);
}

describe('Data tab state (pure)', () => {
  it('a report replaces what was hidden and explained; changes hide and show images', () => {
    let state = reduceData(initialDataTab(), { type: 'dataProgress', message: 'fold 1', fraction: 0.2 });
    assert.equal(state.status, 'running');
    state = explain(state, 'a.png', 1).state;
    state = reduceData(state, { type: 'dataReport', report: reportFor(['cat', 'dog']), reviewed: 0 });
    assert.equal(state.status, 'done');
    assert.deepEqual(state.explaining, {});
    state = reduceData(state, {
      type: 'dataChange',
      hide: ['x', 'y'],
      show: [],
      message: 'moved',
      undo: 'move of x',
    });
    state = reduceData(state, { type: 'dataChange', hide: [], show: ['x'], message: 'back' });
    assert.deepEqual(state.hidden, ['y']);
    assert.equal(state.undo, undefined);
  });

  it('asks for a Grad-CAM once per image and class, again only after a failure', () => {
    let { state, request } = explain(initialDataTab(), 'a.png', 1);
    assert.equal(request, true);
    ({ state, request } = explain(state, 'a.png', undefined));
    assert.equal(request, false);
    ({ state, request } = explain(state, 'a.png', 1));
    assert.equal(request, false, 'still loading: not asked twice');
    state = reduceData(state, { type: 'gradCamFailed', file: 'a.png', classIndex: 1, error: 'x' });
    assert.equal(explain(state, 'a.png', 1).request, true);
  });

  it('only the preview of the point still selected is kept; a cancel without a report goes back to idle', () => {
    let state = selectPoint(initialDataTab(), 'b.png');
    state = reduceData(state, { type: 'imagePreview', file: 'a.png', dataUrl: PNG });
    assert.equal(state.selected?.dataUrl, undefined);
    state = reduceData(state, { type: 'imagePreview', file: 'b.png', dataUrl: PNG });
    assert.equal(state.selected?.dataUrl, PNG);
    const cancelled = reduceData(
      { ...initialDataTab(), status: 'running' },
      {
        type: 'dataFailed',
        error: 'cancelled',
        cancelled: true,
      },
    );
    assert.equal(cancelled.status, 'idle');
    assert.equal(cancelled.error, undefined);
  });
});

describe('Data tab in headless Chromium', { timeout: 60_000 }, () => {
  after(closeBrowser);

  it('starts on Training; the Data tab runs the analysis and shows progress and Cancel', async () => {
    const view = await openWebview('training');
    try {
      await view.send({ type: 'init', state: runState(['cat', 'dog']) });
      assert.equal(await view.page.locator('#data-tab').isHidden(), true);
      await view.page.click('#tab-data');
      assert.equal(await view.page.locator('#training-tab').isHidden(), true);
      assert.equal(await view.page.getAttribute('#tab-data', 'aria-selected'), 'true');
      await view.page.click('#analyze-button');
      assert.deepEqual(await lastPosted(view), { type: 'analyzeData' });
      await view.send({ type: 'dataProgress', message: 'Training fold 2/5', fraction: 0.2 });
      assert.equal(await view.page.locator('#data-status').textContent(), 'Training fold 2/5');
      await view.page.click('#cancel-analysis');
      assert.deepEqual(await lastPosted(view), { type: 'cancelAnalysis' });
      await view.send({ type: 'dataFailed', error: 'The trainer ran out of memory.' });
      assert.equal(await view.page.locator('#data-error').textContent(), 'The trainer ran out of memory.');
      await assertNoProblems(view);
    } finally {
      await view.close();
    }
  });

  it('shows the gallery with thumbnails, and each action posts its message', async () => {
    const view = await openData(['cat', 'dog'], reportFor(['cat', 'dog']));
    try {
      const cards = view.page.locator('#issues-gallery .data-card');
      assert.equal(await cards.count(), 3);
      await view.page.waitForFunction(() =>
        [
          ...(globalThis as unknown as PageGlobals).document.querySelectorAll('#issues-gallery img.thumb'),
        ].every((i) => i.complete && i.naturalWidth === 2),
      );
      assert.match(
        (await view.page.locator('#data-summary').textContent()) ?? '',
        /90\.0%.*2 reviewed images not shown/,
      );
      assert.equal(await view.page.locator('#losses-gallery .data-card').count(), 1);
      assert.equal(await view.page.locator('#duplicates-gallery .data-card').count(), 1);
      assert.equal(await cards.nth(0).locator('.confident-mark').count(), 1);
      assert.equal(await cards.nth(1).locator('.confident-mark').count(), 0);

      const second = cards.nth(1);
      await second.locator('.move-suggested').click();
      assert.deepEqual(await lastPosted(view), {
        type: 'dataAction',
        action: 'move',
        file: 'cat/1.png',
        toClass: 'dog',
      });
      await second.locator('select.move-select').selectOption('dog');
      assert.deepEqual(await lastPosted(view), {
        type: 'dataAction',
        action: 'move',
        file: 'cat/1.png',
        toClass: 'dog',
      });
      await second.locator('[data-action=delete]').click();
      assert.deepEqual(await lastPosted(view), { type: 'dataAction', action: 'delete', file: 'cat/1.png' });
      await second.locator('[data-action=review]').click();
      assert.deepEqual(await lastPosted(view), { type: 'dataAction', action: 'review', file: 'cat/1.png' });
      await second.locator('.card-file').click();
      assert.deepEqual(await lastPosted(view), { type: 'dataAction', action: 'open', file: 'cat/1.png' });
      await view.page.locator('#duplicates-gallery [data-action=delete]').click();
      assert.deepEqual(await lastPosted(view), { type: 'dataAction', action: 'delete', file: 'dog/v.png' });

      // The host moved it: the card goes, the message and Undo appear, the banner says the run is stale.
      await view.send({
        type: 'dataChange',
        hide: ['cat/1.png'],
        show: [],
        message: 'Moved cat/1.png to dog/1.png.',
        undo: 'move of cat/1.png',
      });
      await view.send({
        type: 'dataMatch',
        matches: false,
        message: 'The dataset changed since run run-1 trained on it.',
      });
      assert.equal(await cards.count(), 2);
      assert.equal(
        await view.page.locator('#data-message .data-message-text').textContent(),
        'Moved cat/1.png to dog/1.png.',
      );
      assert.equal(await view.page.locator('#run-data-match').isVisible(), true);
      await view.page.click('#undo-button');
      assert.deepEqual(await lastPosted(view), { type: 'undoDataAction' });
      await view.send({ type: 'dataChange', hide: [], show: ['cat/1.png'], message: 'Moved back.' });
      assert.equal(await cards.count(), 3);
      assert.equal(await view.page.locator('#undo-button').isHidden(), true);
      await assertNoProblems(view);
    } finally {
      await view.close();
    }
  });

  it('renders hostile file, class and note text as text', async () => {
    const classNames = [XSS_IMG, XSS_SCRIPT];
    const view = await openData(classNames, reportFor(classNames));
    try {
      const first = view.page.locator('#issues-gallery .data-card').first();
      assert.equal(await first.locator('.card-file').textContent(), `${XSS_IMG}/0${XSS_IMG}.png`);
      assert.deepEqual(await first.locator('.card-labels .class-name').allTextContents(), classNames);
      assert.equal(await view.page.locator('#data-notes li').textContent(), `note ${XSS_SCRIPT}`);
      // Only the thumbnails are images (each with a data: URL); the only script is the bundle's.
      const sources = await view.page
        .locator('img')
        .evaluateAll((imgs) => imgs.map((i) => (i as unknown as { src: string }).src));
      assert.ok(sources.length > 0 && sources.every((s) => s.startsWith('data:image/png;base64,')));
      assert.equal(await view.page.locator('script').count(), 1);
      await first.locator('.move-suggested').click();
      assert.deepEqual(await lastPosted(view), {
        type: 'dataAction',
        action: 'move',
        file: `${XSS_IMG}/0${XSS_IMG}.png`,
        toClass: XSS_SCRIPT,
      });
      await assertNoProblems(view);
    } finally {
      await view.close();
    }
  });

  it('Grad-CAM in a card: asks once, then shows the overlay and a class to choose', async () => {
    const view = await openData(['cat', 'dog'], reportFor(['cat', 'dog']));
    try {
      const card = view.page.locator('#issues-gallery .data-card').nth(2);
      await card.locator('[data-action=gradcam]').click();
      assert.deepEqual(await lastPosted(view), { type: 'gradCam', file: 'cat/2.png', classIndex: 1 });
      assert.equal(await card.locator('.thumb-busy').count(), 1);
      await view.send({ type: 'gradCam', result: camFor('cat/2.png', 1, 'dog') });
      assert.equal(await card.locator('img.gradcam-overlay').count(), 1);
      assert.match((await card.locator('.thumb-caption').textContent()) ?? '', /Grad-CAM: dog 70/);
      await card.locator('select.gradcam-class').selectOption('0');
      assert.deepEqual(await lastPosted(view), { type: 'gradCam', file: 'cat/2.png', classIndex: 0 });
      await view.send({
        type: 'gradCamFailed',
        file: 'cat/2.png',
        classIndex: 0,
        error: `no model ${XSS_IMG}`,
      });
      assert.equal(await card.locator('.thumb-error').textContent(), `no model ${XSS_IMG}`);
      await assertNoProblems(view);
    } finally {
      await view.close();
    }
  });

  it('the embedding map draws one dataset per class; a click on a point shows its image', async () => {
    const view = await openData(['cat', 'dog'], reportFor(['cat', 'dog']));
    try {
      await view.page.locator('#embedding-chart').scrollIntoViewIfNeeded();
      await view.page.waitForFunction(() =>
        Boolean((globalThis as unknown as PageGlobals).__fineTuneEmbedding),
      );
      const counts = await view.page.evaluate(() =>
        (globalThis as unknown as PageGlobals).__fineTuneEmbedding.data.datasets.map((d) => d.data.length),
      );
      assert.deepEqual(counts, [3, 2]);
      assert.match(
        (await view.page.locator('#embedding-section .section-caption').textContent()) ?? '',
        /Showing 5 of 10 images/,
      );
      // Where the point is once the page has settled: the thumbnails above it decoded (they shift the
      // layout) and the point at the same place in two frames running (the chart resizes to its box).
      await view.page.waitForFunction(() =>
        [...(globalThis as unknown as PageGlobals).document.querySelectorAll('img.thumb')].every(
          (i) => i.complete,
        ),
      );
      const at = await view.page.evaluate(async () => {
        const g = globalThis as unknown as PageGlobals;
        const where = (): { x: number; y: number } => {
          const point = g.__fineTuneEmbedding.getDatasetMeta(1).data[0];
          const box = g.__fineTuneEmbedding.canvas.getBoundingClientRect();
          return { x: box.left + point.x, y: box.top + point.y };
        };
        for (let last = where(); ;) {
          await new Promise((resolve) => g.requestAnimationFrame(resolve));
          const now = where();
          if (now.x === last.x && now.y === last.y) return now;
          last = now;
        }
      });
      await view.page.mouse.click(at.x, at.y);
      // Chart.js handles canvas events in its next animation frame, after the click has returned.
      await view.page.waitForFunction(
        () =>
          (globalThis as unknown as PageGlobals).__posted.length > 0 &&
          (globalThis as unknown as PageGlobals).__posted.slice(-1)[0]?.type !== 'ready',
      );
      assert.deepEqual(await lastPosted(view), { type: 'previewImage', file: 'dog/v2.png' });
      await view.send({ type: 'imagePreview', file: 'dog/v2.png', dataUrl: PNG });
      assert.equal(
        await view.page.locator('#embedding-selected img.selected-image').getAttribute('src'),
        PNG,
      );
      assert.equal(await view.page.locator('#embedding-selected .selected-file').textContent(), 'dog/v2.png');
      await view.page.locator('#embedding-selected [data-action=open]').click();
      assert.deepEqual(await lastPosted(view), { type: 'dataAction', action: 'open', file: 'dog/v2.png' });
      await assertNoProblems(view);
    } finally {
      await view.close();
    }
  });

  it('Grad-CAM in the confusion-matrix drill-down', async () => {
    const view = await openWebview('training');
    try {
      await view.send({ type: 'init', state: runState(['cat', 'dog']) });
      await view.send({
        type: 'summary',
        summary: {
          epoch: 1,
          classNames: ['cat', 'dog'],
          confusion: [
            [1, 1],
            [0, 1],
          ],
          perClass: [],
          accuracy: 2 / 3,
          val_loss: 0.5,
          misclassified: [],
          predictions: [],
        },
      });
      await view.page.click('#confusion-matrix button[data-true="0"][data-predicted="1"]');
      await view.send({
        type: 'cellImages',
        trueIndex: 0,
        predictedIndex: 1,
        files: [{ file: 'cat/x.png', confidence: 0.8 }],
      });
      await view.page.locator('#cell-images .gradcam-button').click();
      assert.deepEqual(await lastPosted(view), { type: 'gradCam', file: 'cat/x.png', classIndex: 1 });
      await view.send({ type: 'gradCam', result: camFor('cat/x.png', 1, 'dog') });
      assert.equal(await view.page.locator('#cell-images img.gradcam-overlay').getAttribute('src'), PNG);
      assert.match(
        (await view.page.locator('#cell-images figcaption').textContent()) ?? '',
        /dog: 70\.0% · layer pool3 \(4×4\)/,
      );
      await assertNoProblems(view);
    } finally {
      await view.close();
    }
  });
});
