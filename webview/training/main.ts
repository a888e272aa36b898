/**
 * Training panel (one run): wiring. Host messages go through the pure reducer (state.ts); the result is
 * rendered by the header, banners, charts and evaluation views and persisted with setState, so a
 * reloaded webview redraws the run from its saved state before the host's `init` arrives.
 *
 * Redraw budget: `batch` messages can arrive faster than the screen refreshes; they only mark the page
 * dirty, and one redraw per animation frame, at most every 100 ms, picks up all of them. Other messages
 * (rare, and tests wait on their effect) redraw at once.
 */
import type { HostToTrainingPanel, TrainingPanelToHost } from '../../src/protocol/webviewMessages';
import { createAdviceView } from './advice';
import { createBanners } from './banners';
import { chartSeries } from './chartSeries';
import { applyTheme, createCharts, updateCharts, type TrainingCharts } from './charts';
import { createEvaluation } from './confusionMatrix';
import { createHeader } from './header';
import { createDataTab } from './data/dataTab';
import { explain, initialDataTab, selectPoint, startAnalysis, type DataTabState } from './data/dataState';
import {
  markApplied,
  persistedPanel,
  reducePanel,
  restorePanelState,
  selectCell,
  type PanelState,
} from './state';
import { createTabs } from './tabs';
import { readChartTheme, watchTheme } from '../shared/theme';
import { createUnfreezingView } from './unfreezing';
import { connect } from '../shared/vscodeApi';
import { el } from '../shared/dom';
import './style.css';
import './data/data.css';

const MIN_BATCH_REDRAW_MS = 100;

declare global {
  interface Window {
    /**
     * Test hook: the three Chart instances, read by test/webview/trainingPanel.test.ts
     * (`chart.data.datasets[i].data`, indices in chartSeries.ts). Nothing in the panel reads it.
     */
    __fineTuneCharts?: TrainingCharts;
  }
}

const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
root.className = 'panel training-panel';

const header = createHeader(() => channel.post({ type: 'stopRun' }));
const banners = createBanners();
const unfreezing = createUnfreezingView();
banners.element.append(unfreezing.element);
const placeholder = el('div', 'placeholder');
placeholder.id = 'placeholder';
const chartsSection = el('section', 'charts');
chartsSection.id = 'charts';
const lossCard = chartCard('loss', 'Loss', 'Shaded area: generalization gap');
const accuracyCard = chartCard('accuracy', 'Accuracy', 'Train vs validation');
const lrCard = chartCard('lr', 'Learning rate', '');
const smallRow = el('div', 'chart-row');
smallRow.append(accuracyCard.card, lrCard.card);
chartsSection.append(lossCard.card, smallRow);
const evaluation = createEvaluation({
  onCell: (trueIndex, predictedIndex) => {
    panel = selectCell(panel, trueIndex, predictedIndex);
    channel.post({ type: 'showCell', trueIndex, predictedIndex });
    render();
  },
  onImage: (file) => channel.post({ type: 'openImage', file }),
  onGradCam: (file, classIndex) => explainImage(file, classIndex),
});
const advice = createAdviceView((adviceId, index, key) => {
  channel.post({ type: 'applyAdvice', adviceId, index });
  panel = markApplied(panel, key);
  render();
});
const tabs = createTabs((tab) => {
  panel = { ...panel, tab };
  render();
});
const dataMatch = el('div', 'banner banner-warning');
dataMatch.id = 'run-data-match';
const trainingTab = el('div', 'tab-content');
trainingTab.id = 'training-tab';
trainingTab.setAttribute('role', 'tabpanel');
trainingTab.append(placeholder, chartsSection, advice.element, evaluation.element);
const dataTab = createDataTab({
  onAnalyze: () => {
    updateData(startAnalysis(dataState()));
    channel.post({ type: 'analyzeData' });
  },
  onCancel: () => channel.post({ type: 'cancelAnalysis' }),
  onUndo: () => channel.post({ type: 'undoDataAction' }),
  onAction: (action, file, toClass) =>
    channel.post({ type: 'dataAction', action, file, ...(toClass !== undefined ? { toClass } : {}) }),
  onExplain: (file, classIndex) => explainImage(file, classIndex),
  onPoint: (point) => {
    updateData(selectPoint(dataState(), point.file));
    channel.post({ type: 'previewImage', file: point.file });
  },
});
dataTab.element.setAttribute('role', 'tabpanel');
root.append(header.element, banners.element, dataMatch, tabs.element, trainingTab, dataTab.element);

const charts = createCharts(
  { loss: lossCard.canvas, accuracy: accuracyCard.canvas, lr: lrCard.canvas },
  readChartTheme(),
);
window.__fineTuneCharts = charts;
watchTheme(() => applyTheme(charts, readChartTheme()));

let panel: PanelState = {};
let lastRedraw = 0;
let redrawQueued = false;

const channel = connect<HostToTrainingPanel, TrainingPanelToHost, PanelState>((message) => {
  if (!message || typeof message !== 'object' || typeof message.type !== 'string') return;
  panel = reducePanel(panel, message);
  if (message.type === 'batch') queueRedraw();
  else render();
});
panel = restorePanelState(channel.getState());
render();

function dataState(): DataTabState {
  return panel.data ?? initialDataTab();
}

function updateData(data: DataTabState): void {
  panel = { ...panel, data };
  render();
}

/** Shows the Grad-CAM of an image (asking the host once per image and class); undefined hides it. */
function explainImage(file: string, classIndex: number | undefined): void {
  const { state, request } = explain(dataState(), file, classIndex);
  updateData(state);
  if (request && classIndex !== undefined) channel.post({ type: 'gradCam', file, classIndex });
}

function queueRedraw(): void {
  if (redrawQueued) return;
  redrawQueued = true;
  const wait = Math.max(0, lastRedraw + MIN_BATCH_REDRAW_MS - performance.now());
  setTimeout(() => requestAnimationFrame(render), wait);
}

function render(): void {
  redrawQueued = false;
  lastRedraw = performance.now();
  const run = panel.run;
  header.update(run);
  banners.update(run);
  unfreezing.update(run);
  advice.update(run?.advice, panel.applied ?? []);
  const data = dataState();
  evaluation.update(run?.summary, panel.cell, data.gradCams);
  const tab = panel.tab ?? 'training';
  tabs.update(tab);
  trainingTab.hidden = tab !== 'training';
  dataTab.element.hidden = tab !== 'data';
  if (tab === 'data') dataTab.update(data, run?.classNames ?? []);
  dataMatch.hidden = !data.match || data.match.matches;
  dataMatch.textContent = data.match?.message ?? '';

  const hasCurves = Boolean(run && (run.metrics.length > 0 || run.batches.length > 0));
  chartsSection.hidden = !hasCurves;
  placeholder.hidden = hasCurves;
  if (!run) placeholder.textContent = 'Waiting for the training run…';
  else if (!hasCurves) {
    placeholder.textContent =
      run.status === 'running' ? 'Waiting for the first epoch…' : 'No epoch completed in this run.';
  }
  if (run) {
    const series = chartSeries(run);
    lrCard.card.hidden = series.lr.lr.length === 0;
    updateCharts(charts, series);
  }
  channel.setState(persistedPanel(panel));
}

function chartCard(id: string, title: string, subtitle: string) {
  const card = el('div', `card chart-card chart-${id}`);
  const head = card.appendChild(el('div', 'card-head'));
  head.appendChild(el('h2', 'card-title')).textContent = title;
  if (subtitle) head.appendChild(el('span', 'card-subtitle')).textContent = subtitle;
  const box = card.appendChild(el('div', 'chart-box'));
  const canvas = box.appendChild(document.createElement('canvas'));
  canvas.id = `chart-${id}`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${title} per epoch`);
  return { card, canvas };
}
