/**
 * LR finder panel: the sweep's loss against the learning rate, the suggested rate with one button to
 * write it to the experiment file (and one for the "valley" hint), and the rate the file has now. The
 * state is persisted with setState, so a reloaded window redraws it (the host's serializer reopens the
 * panel from it). File-derived text (the experiment's name) reaches the DOM through textContent only.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type {
  HostToLrFinderPanel,
  LrFinderPanelState,
  LrFinderPanelToHost,
} from '../../src/protocol/webviewMessages';
import { connect } from '../shared/vscodeApi';
import { readChartTheme, watchTheme } from '../shared/theme';
import { formatRate, roundLearningRate, stopExplanation, sweepSummary } from './curve';
import { applyTheme, createLrChart, updateLrChart, type LrChart, type RateMark } from './lrChart';
import { el } from '../shared/dom';
import './style.css';

declare global {
  interface Window {
    /** Test hook: the chart, read by test/webview/lrFinderPanel.test.ts. Nothing in the panel reads it. */
    __fineTuneLrChart?: LrChart;
  }
}

const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
root.className = 'panel lr-finder';

const header = root.appendChild(el('header', 'finder-header'));
const titleRow = header.appendChild(el('div', 'title-row'));
titleRow.appendChild(el('h1', 'panel-title title')).textContent = 'Learning rate finder';
const experimentName = titleRow.appendChild(el('span', 'experiment-name'));
titleRow.appendChild(el('span', 'spacer'));
const findAgain = titleRow.appendChild(button('find-again', 'Find Again', 'refresh', true));
findAgain.title = 'Run the sweep again on the experiment file as it is now';
const summary = header.appendChild(el('p', 'summary'));

const placeholder = root.appendChild(el('div', 'placeholder'));
placeholder.textContent = 'Waiting for the sweep’s result…';

const choices = root.appendChild(el('section', 'card choices'));
const suggested = choice('suggested', 'Suggested', 'steepest descent of the smoothed loss');
const valley = choice('valley', 'Valley', 'lowest smoothed loss ÷ 10');
const current = choice('current', 'In the file now', 'training.learningRate');
const useSuggestion = suggested.box.appendChild(button('use-suggestion', '', 'check', false));
const useValley = valley.box.appendChild(button('use-valley', '', undefined, true));
choices.append(suggested.box, valley.box, current.box);

const notes = root.appendChild(el('div', 'notes'));
const noteBanner = notes.appendChild(el('div', 'banner banner-warning'));
noteBanner.setAttribute('role', 'note');
const stopBanner = notes.appendChild(el('div', 'banner banner-info'));

const chartCard = root.appendChild(el('section', 'card chart-card'));
const chartHead = chartCard.appendChild(el('div', 'card-head'));
chartHead.appendChild(el('h2', 'card-title')).textContent = 'Loss against learning rate';
chartHead.appendChild(el('span', 'card-subtitle')).textContent =
  'one training step per rate, the rate growing exponentially';
const canvas = chartCard.appendChild(el('div', 'chart-box')).appendChild(document.createElement('canvas'));
canvas.id = 'lr-chart';
canvas.setAttribute('role', 'img');
canvas.setAttribute('aria-label', 'Training loss against learning rate');
const caption = root.appendChild(el('p', 'caption'));
caption.textContent =
  'Pick a rate where the smoothed loss still falls steeply — before its minimum, not at it: at the minimum the ' +
  'loss is about to blow up. The suggestion is the steepest point; the valley (minimum ÷ 10) is fastai’s rule ' +
  'of thumb. Pre-trained layers that train followed the sweep at their own multipliers of this rate.';

const chart = createLrChart(canvas, readChartTheme());
window.__fineTuneLrChart = chart;
watchTheme(() => {
  applyTheme(chart, readChartTheme());
  render();
});

let state: LrFinderPanelState | undefined;

const channel = connect<HostToLrFinderPanel, LrFinderPanelToHost, LrFinderPanelState>((message) => {
  if (!message || typeof message !== 'object') return;
  if (message.type === 'init') state = message.state;
  else if (message.type === 'currentLr' && state) {
    state = { ...state };
    if (typeof message.value === 'number') state.currentLr = message.value;
    else delete state.currentLr;
  } else return;
  channel.setState(state);
  render();
});
state = channel.getState() ?? undefined;

const use = (lr: number): void => channel.post({ type: 'useLearningRate', value: roundLearningRate(lr) });
useSuggestion.addEventListener('click', () => state && use(state.result.suggestion));
useValley.addEventListener('click', () => state && use(state.result.minLossLr / 10));
findAgain.addEventListener('click', () => channel.post({ type: 'findAgain' }));
render();

function render(): void {
  const result = state?.result;
  placeholder.hidden = Boolean(result);
  for (const part of [choices, notes, chartCard, caption]) part.hidden = !result;
  summary.hidden = !result;
  if (!state || !result) return;

  experimentName.textContent = result.experimentName;
  experimentName.title = state.experimentPath;
  summary.textContent = sweepSummary(result);
  const suggestion = roundLearningRate(result.suggestion);
  const valleyRate = roundLearningRate(result.minLossLr / 10);
  suggested.value.textContent = formatRate(suggestion);
  valley.value.textContent = formatRate(valleyRate);
  current.value.textContent = state.currentLr === undefined ? '—' : formatRate(state.currentLr);
  current.hint.textContent =
    state.currentLr === undefined ? 'training.learningRate (file unreadable now)' : 'training.learningRate';
  setUseButton(useSuggestion, suggestion, `Use ${formatRate(suggestion)} as learning rate`);
  setUseButton(useValley, valleyRate, `Use ${formatRate(valleyRate)}`);

  noteBanner.hidden = !result.note;
  noteBanner.textContent = result.note ?? '';
  const stopped = stopExplanation(result);
  stopBanner.hidden = !stopped;
  stopBanner.textContent = stopped ?? '';

  const theme = readChartTheme();
  const marks: RateMark[] = [
    { lr: result.suggestion, label: `suggestion ${formatRate(suggestion)}`, color: theme.best, dash: [5, 3] },
    { lr: result.minLossLr / 10, label: 'valley', color: theme.val, dash: [2, 3] },
  ];
  if (state.currentLr !== undefined)
    marks.push({ lr: state.currentLr, label: 'in the file', color: theme.muted, dash: [1, 3] });
  updateLrChart(chart, result, marks, theme);
}

/** A "use this rate" button: disabled, saying so, when the file already has that rate. */
function setUseButton(target: VscodeButton, lr: number, label: string): void {
  const inUse = state?.currentLr !== undefined && roundLearningRate(state.currentLr) === lr;
  target.disabled = inUse;
  setLabel(target, inUse ? `training.learningRate is ${formatRate(lr)}` : label);
  target.title = inUse
    ? 'The experiment file already has this learning rate'
    : `Write ${lr} to training.learningRate in the experiment file (undoable)`;
}

function choice(id: string, label: string, hint: string) {
  const box = el('div', `choice choice-${id}`);
  box.appendChild(el('span', 'choice-label')).textContent = label;
  const value = box.appendChild(el('span', 'choice-value'));
  value.id = `${id}-value`;
  const hintEl = box.appendChild(el('span', 'choice-hint'));
  hintEl.textContent = hint;
  return { box, value, hint: hintEl };
}

function button(id: string, label: string, icon: string | undefined, secondary: boolean): VscodeButton {
  const b = document.createElement('vscode-button');
  b.id = id;
  b.secondary = secondary;
  if (icon) {
    const i = b.appendChild(el('span', `codicon codicon-${icon}`));
    i.slot = 'content-before';
    i.setAttribute('aria-hidden', 'true');
  }
  b.appendChild(el('span', 'button-label')).textContent = label;
  return b;
}

function setLabel(b: VscodeButton, text: string): void {
  const label = b.querySelector('.button-label');
  if (label) label.textContent = text;
}
