/**
 * The experiment panel (viewType `fineTune.experiment`): the base model's layer tree with freeze checkboxes
 * beside every setting of the experiment file. The file is the single source of truth: the panel posts
 * edits (`setValue`, `layerEdit`) and renders whatever state the host sends back.
 *
 * Wiring only: layout, messages, persisted state, and keeping focus and scroll across re-renders.
 */
import './style.css';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type {
  ExperimentPanelState,
  ExperimentPanelToHost,
  HostToExperimentPanel,
  LayerEdit,
} from '../../src/protocol/webviewMessages';
import { connect } from '../shared/vscodeApi';
import { textEl } from '../shared/escape';
import type { JsonPath } from './fieldRules';
import { createAugmentationPreview } from './augmentationPreview';
import { renderLayerTree } from './layerTree';
import { createSettingsForm } from './settingsForm';

/** What survives a reload of the webview (VS Code keeps it while the panel is hidden or reloaded). */
interface PersistedState {
  state: ExperimentPanelState;
  collapsed: string[];
  closedSections: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The host is trusted, but a persisted state may come from an older version of the panel. */
function isPanelState(v: unknown): v is ExperimentPanelState {
  return (
    isObject(v) &&
    typeof v.experimentPath === 'string' &&
    isObject(v.document) &&
    Array.isArray(v.errors) &&
    Array.isArray(v.warnings) &&
    isObject(v.layerStates)
  );
}

let current: ExperimentPanelState | undefined;
let collapsed = new Set<string>();
let closedSections = new Set<string>();

const channel = connect<HostToExperimentPanel, ExperimentPanelToHost, PersistedState>((message) => {
  if (
    isObject(message) &&
    (message.type === 'init' || message.type === 'update') &&
    isPanelState(message.state)
  ) {
    show(message.state);
  } else if (isObject(message) && message.type === 'augmentationPreview' && Array.isArray(message.images)) {
    preview.receive(message);
  }
});

const saved = channel.getState();
if (isObject(saved) && Array.isArray(saved.collapsed)) collapsed = new Set(saved.collapsed.map(String));
if (isObject(saved) && Array.isArray(saved.closedSections))
  closedSections = new Set(saved.closedSections.map(String));

const postEdit = (edit: LayerEdit): void => channel.post({ type: 'layerEdit', edit });
const postValue = (path: JsonPath, value: unknown): void =>
  channel.post({ type: 'setValue', path: [...path], value });

// ── Layout ──
const root = document.getElementById('root') as HTMLElement;
root.className = 'app';

const header = document.createElement('header');
header.className = 'topbar';
const titleBlock = document.createElement('div');
titleBlock.className = 'title-block';
const title = textEl('h1', 'Experiment');
const subtitle = textEl('div', 'Waiting for the experiment…', 'subtitle');
titleBlock.append(title, subtitle);
const startButton = document.createElement('vscode-button');
startButton.className = 'start-training';
startButton.dataset.focusKey = 'startTraining';
const playIcon = document.createElement('span');
playIcon.className = 'codicon codicon-play button-icon';
playIcon.setAttribute('aria-hidden', 'true');
startButton.append(playIcon, document.createTextNode('Start Training'));
startButton.addEventListener('click', () => {
  if (!startButton.hasAttribute('disabled')) channel.post({ type: 'startTraining' });
});
header.append(titleBlock, startButton);

const problems = document.createElement('section');
problems.className = 'problems';
problems.setAttribute('aria-label', 'Problems');
problems.hidden = true;

const panes = document.createElement('div');
panes.className = 'panes';
const layersPane = document.createElement('section');
layersPane.className = 'pane layers-pane';
layersPane.setAttribute('aria-label', 'Layers');
const settingsPane = document.createElement('section');
settingsPane.className = 'pane settings-pane';
settingsPane.setAttribute('aria-label', 'Settings');
const settingsTitle = document.createElement('div');
settingsTitle.className = 'pane-header';
settingsTitle.append(textEl('h2', 'Settings'));
const preview = createAugmentationPreview(
  (seed) => channel.post({ type: 'previewAugmentation', seed }),
  !closedSections.has('augmentation'),
);
const form = createSettingsForm(
  postValue,
  closedSections,
  (id, open) => {
    if (open) closedSections.delete(id);
    else closedSections.add(id);
    if (id === 'augmentation') preview.setOpen(open);
    persist();
  },
  { augmentation: preview.element },
);
settingsPane.append(settingsTitle, form.element);
panes.append(layersPane, settingsPane);
root.append(header, problems, panes);

// ── Rendering ──

function persist(): void {
  if (current)
    channel.setState({ state: current, collapsed: [...collapsed], closedSections: [...closedSections] });
}

function show(state: ExperimentPanelState): void {
  const force = current !== undefined && current.experimentPath !== state.experimentPath;
  current = state;
  persist();
  render(force);
}

function render(force: boolean): void {
  if (!current) return;
  const state = current;
  const name =
    typeof state.document.name === 'string' && state.document.name ? state.document.name : undefined;
  title.textContent = name ?? fileName(state.experimentPath);
  subtitle.textContent = state.experimentPath;
  subtitle.title = state.experimentPath;
  startButton.toggleAttribute('disabled', state.errors.length > 0);
  startButton.title =
    state.errors.length > 0
      ? 'Fix the problems listed above first'
      : 'Train this experiment (Fine-Tune: Start Training)';
  renderProblems(state);
  renderTree();
  form.update(state, force);
  preview.update(state);
}

/** Rebuilds the tree, then puts focus and scroll back where they were. */
function renderTree(): void {
  if (!current) return;
  const state = current;
  const focusKey = (document.activeElement as HTMLElement | null)?.dataset?.focusKey;
  const scrolls = [layersPane, settingsPane, document.scrollingElement].map(
    (el) => [el, el?.scrollTop ?? 0] as const,
  );
  renderLayerTree(layersPane, state, collapsed, {
    edit: postEdit,
    toggleCollapsed: (path) => {
      if (collapsed.has(path)) collapsed.delete(path);
      else collapsed.add(path);
      persist();
      renderTree();
    },
  });
  for (const [el, top] of scrolls) if (el) el.scrollTop = top;
  if (focusKey !== undefined && layersPane.contains(document.activeElement) === false) {
    // Keys hold layer paths (any text), so compare dataset values instead of building a selector.
    const target = [...layersPane.querySelectorAll<HTMLElement>('[data-focus-key]')].find(
      (el) => el.dataset.focusKey === focusKey,
    );
    // A fresh custom element renders its (focus-delegating) shadow content a microtask later.
    const pending = (target as { updateComplete?: Promise<unknown> } | undefined)?.updateComplete;
    if (pending) void pending.then(() => target?.focus());
    else target?.focus();
  }
}

function renderProblems(state: ExperimentPanelState): void {
  const items = [
    ...state.errors.map((text) => ({ text, kind: 'error' })),
    ...state.warnings.map((text) => ({ text, kind: 'warning' })),
  ];
  problems.hidden = items.length === 0;
  const list = document.createElement('ul');
  for (const item of items) {
    const li = document.createElement('li');
    li.className = `problem ${item.kind}`;
    const icon = document.createElement('span');
    icon.className = `codicon codicon-${item.kind}`;
    icon.setAttribute('aria-label', item.kind);
    li.append(icon, textEl('span', item.text, 'problem-text'));
    list.append(li);
  }
  problems.replaceChildren(list);
}

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

// ── Startup: show the last state at once (a reload), then whatever `init` brings ──
if (isObject(saved) && isPanelState(saved.state)) {
  current = saved.state;
  render(false);
} else {
  layersPane.replaceChildren(textEl('p', 'Loading the experiment…', 'loading'));
}
