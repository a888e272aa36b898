/**
 * The layer tree of the experiment panel: one row per layer (nested models expandable), a freeze checkbox
 * per row, markers for re-initialised layers and the head cut, row actions, and parameter totals.
 *
 * It is rebuilt from the state on every update (the file is the single source of truth, so nothing here is
 * kept between renders except which blocks are collapsed); main.ts keeps focus and scroll across rebuilds
 * through the `data-focus-key` attributes. Layer names and classes come from the model file, so they
 * reach the DOM through textContent only.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { ExperimentPanelState, LayerEdit } from '../../src/protocol/webviewMessages';
import { textEl } from '../shared/escape';
import {
  formatCount,
  formatShape,
  freezeMark,
  isContainer,
  layerRows,
  paramTotals,
  stateOf,
  type LayerRow,
  type ParamTotals,
} from './layerModel';

export interface LayerTreeHandlers {
  edit(edit: LayerEdit): void;
  toggleCollapsed(path: string): void;
}

const INDENT_PX = 16;

function icon(name: string, extra = ''): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = `codicon codicon-${name}${extra ? ` ${extra}` : ''}`;
  span.setAttribute('aria-hidden', 'true');
  return span;
}

function iconButton(
  iconName: string,
  label: string,
  focusKey: string,
  onClick: () => void,
  className = '',
): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `icon-button ${className}`.trim();
  button.title = label;
  button.setAttribute('aria-label', label);
  button.dataset.focusKey = focusKey;
  button.append(icon(iconName));
  button.addEventListener('click', (event) => {
    event.stopPropagation();
    onClick();
  });
  return button;
}

/** Replaces `container`'s content with the tree for `state`. */
export function renderLayerTree(
  container: HTMLElement,
  state: ExperimentPanelState,
  collapsed: ReadonlySet<string>,
  handlers: LayerTreeHandlers,
): void {
  const rows = state.layers ? layerRows(state.layers, state.cutAt) : [];
  const header = renderHeader(state, rows, handlers);
  if (state.layersError || !state.layers) {
    const box = document.createElement('div');
    box.className = 'layers-error';
    box.append(icon('error'));
    box.append(textEl('span', state.layersError ?? 'The base model’s layers have not been read yet.'));
    container.replaceChildren(header, box);
    return;
  }
  if (rows.length === 0) {
    container.replaceChildren(header, textEl('p', 'The base model has no layers.', 'loading'));
    return;
  }
  const tree = document.createElement('div');
  tree.className = 'layer-tree';
  tree.setAttribute('role', 'tree');
  tree.setAttribute('aria-label', 'Base model layers');
  tree.append(renderColumnHeader());
  const afterCut = new Set(rows.filter((r) => r.afterCut && !isContainer(r.node)).map((r) => r.node.path));
  const hiddenUnder: string[] = [];
  for (const row of rows) {
    // A row is hidden when any of its ancestors is collapsed (paths nest with '/').
    while (hiddenUnder.length > 0 && !row.node.path.startsWith(`${hiddenUnder[hiddenUnder.length - 1]}/`)) {
      hiddenUnder.pop();
    }
    const hidden = hiddenUnder.length > 0;
    if (!hidden) tree.append(renderRow(row, state, afterCut, collapsed, handlers));
    if (isContainer(row.node) && collapsed.has(row.node.path) && !hidden) hiddenUnder.push(row.node.path);
    if (row.endsCutBlock) tree.append(renderCutLine());
  }
  container.replaceChildren(header, tree);
}

function renderHeader(
  state: ExperimentPanelState,
  rows: LayerRow[],
  handlers: LayerTreeHandlers,
): HTMLElement {
  const header = document.createElement('div');
  header.className = 'pane-header';
  const titleRow = document.createElement('div');
  titleRow.className = 'pane-title-row';
  const title = textEl('h2', 'Layers');
  const unfreezeAll = document.createElement('vscode-button');
  unfreezeAll.setAttribute('secondary', '');
  unfreezeAll.className = 'unfreeze-all';
  unfreezeAll.dataset.focusKey = 'unfreezeAll';
  unfreezeAll.title = 'Make every layer of the base model trainable';
  unfreezeAll.append(icon('unlock', 'button-icon'), document.createTextNode('Unfreeze all'));
  unfreezeAll.addEventListener('click', () => handlers.edit({ kind: 'unfreezeAll' }));
  if (!state.layers) unfreezeAll.setAttribute('disabled', '');
  titleRow.append(title, unfreezeAll);
  header.append(titleRow);
  if (state.layers) header.append(renderTotals(paramTotals(rows, state.layerStates)));
  return header;
}

function renderTotals(totals: ParamTotals): HTMLElement {
  const box = document.createElement('div');
  box.className = 'totals';
  const kept = totals.trainable + totals.frozen;
  const bar = document.createElement('div');
  bar.className = 'totals-bar';
  bar.setAttribute('aria-hidden', 'true');
  const trainablePart = document.createElement('span');
  trainablePart.className = 'part-trainable';
  trainablePart.style.width = `${kept > 0 ? (100 * totals.trainable) / kept : 0}%`;
  const frozenPart = document.createElement('span');
  frozenPart.className = 'part-frozen';
  frozenPart.style.width = `${kept > 0 ? (100 * totals.frozen) / kept : 0}%`;
  bar.append(trainablePart, frozenPart);
  const figures = document.createElement('div');
  figures.className = 'totals-figures';
  const figure = (cls: string, label: string, value: number, tip: string): HTMLElement => {
    const el = document.createElement('span');
    el.className = `figure ${cls}`;
    el.title = tip;
    el.append(textEl('span', '', 'swatch'), textEl('span', label, 'figure-label'));
    el.append(textEl('span', formatCount(value), 'figure-value'));
    return el;
  };
  figures.append(
    figure('trainable', 'Trainable', totals.trainable, 'Weights of the base model that training updates'),
    figure('frozen', 'Frozen', totals.frozen, 'Weights held fixed during training'),
  );
  if (totals.nonTrainable > 0) {
    figures.append(
      figure(
        'fixed',
        'Non-trainable',
        totals.nonTrainable,
        'Never trained (e.g. BatchNormalization statistics)',
      ),
    );
  }
  if (totals.replaced > 0) {
    figures.append(
      figure('replaced', 'Replaced by head', totals.replaced, 'Weights of the layers after the cut'),
    );
  }
  box.append(bar, figures);
  return box;
}

function renderColumnHeader(): HTMLElement {
  const row = document.createElement('div');
  row.className = 'layer-row column-header';
  row.setAttribute('aria-hidden', 'true');
  const lead = textEl('span', 'Frozen · Layer', 'cell-name');
  row.append(
    lead,
    textEl('span', 'Class', 'cell-class'),
    textEl('span', 'Output', 'cell-shape'),
    textEl('span', 'Params', 'cell-params'),
    textEl('span', '', 'cell-actions'),
  );
  return row;
}

function renderCutLine(): HTMLElement {
  const line = document.createElement('div');
  line.className = 'cut-line';
  line.append(icon('arrow-down'), textEl('span', 'New head attaches here · the layers below are replaced'));
  return line;
}

function renderRow(
  row: LayerRow,
  state: ExperimentPanelState,
  afterCut: ReadonlySet<string>,
  collapsed: ReadonlySet<string>,
  handlers: LayerTreeHandlers,
): HTMLElement {
  const { node } = row;
  const container = isContainer(node);
  const leafState = container ? undefined : stateOf(state.layerStates, node);
  const mark = freezeMark(row, afterCut, state.layerStates);
  const el = document.createElement('div');
  el.className = 'layer-row';
  el.classList.toggle('container', container);
  el.classList.toggle('after-cut', row.afterCut);
  el.classList.toggle('is-cut', row.isCut);
  el.classList.toggle('frozen', mark === 'frozen');
  el.dataset.path = node.path;
  el.setAttribute('role', 'treeitem');
  el.setAttribute('aria-level', String(row.depth + 1));
  if (row.afterCut) el.title = 'After the head cut: replaced by the new head';

  const nameCell = document.createElement('span');
  nameCell.className = 'cell-name';
  nameCell.style.paddingLeft = `${row.depth * INDENT_PX}px`;
  if (container) {
    const open = !collapsed.has(node.path);
    el.setAttribute('aria-expanded', String(open));
    const twistie = iconButton(
      open ? 'chevron-down' : 'chevron-right',
      open ? 'Collapse' : 'Expand',
      `${node.path}\u0000twistie`,
      () => handlers.toggleCollapsed(node.path),
      'twistie',
    );
    twistie.setAttribute('aria-expanded', String(open));
    nameCell.append(twistie);
  } else {
    nameCell.append(textEl('span', '', 'twistie-spacer'));
  }

  const checkbox = document.createElement('vscode-checkbox') as VscodeCheckbox;
  checkbox.className = 'freeze-box';
  checkbox.dataset.focusKey = `${node.path}\u0000check`;
  checkbox.checked = mark === 'frozen';
  checkbox.indeterminate = mark === 'mixed';
  checkbox.disabled = row.afterCut;
  checkbox.setAttribute('aria-label', `Freeze ${node.name}`);
  checkbox.title = container
    ? 'Freeze or unfreeze every layer of this block'
    : leafState === 'frozen'
      ? 'Frozen: weights stay as pre-trained'
      : leafState === 'reinit'
        ? 'Re-initialised: fresh weights, trained'
        : 'Trainable: fine-tuned';
  checkbox.addEventListener('change', () => {
    // Decided from the state, not the widget: a mixed block becomes fully frozen, like a tri-state box.
    handlers.edit({ kind: 'setFrozen', path: node.path, frozen: mark !== 'frozen' });
  });
  nameCell.append(checkbox);

  const name = textEl('span', node.name, 'layer-name');
  name.title = node.path;
  if (container) name.addEventListener('click', () => handlers.toggleCollapsed(node.path));
  nameCell.append(name);
  if (leafState === 'reinit') {
    const badge = document.createElement('span');
    badge.className = 'badge reinit';
    badge.title = 'Re-initialised: same architecture, fresh weights';
    badge.append(icon('debug-restart'), textEl('span', 'reinit', 'badge-text'));
    nameCell.append(badge);
  }
  if (row.isCut) {
    const badge = document.createElement('span');
    badge.className = 'badge cut';
    badge.title = 'Head cut: this layer’s output feeds the new head';
    badge.append(icon('split-horizontal'), textEl('span', 'head cut', 'badge-text'));
    nameCell.append(badge);
  }

  const shape = textEl('span', formatShape(node.outputShape), 'cell-shape');
  shape.title = JSON.stringify(node.outputShape);
  const params = textEl('span', formatCount(node.trainableParams + node.nonTrainableParams), 'cell-params');
  params.title = `${formatCount(node.trainableParams)} trainable, ${formatCount(node.nonTrainableParams)} non-trainable`;

  el.append(nameCell, textEl('span', node.className, 'cell-class'), shape, params);
  el.append(renderActions(row, leafState, handlers));
  return el;
}

function renderActions(
  row: LayerRow,
  leafState: string | undefined,
  handlers: LayerTreeHandlers,
): HTMLElement {
  const { path } = row.node;
  const actions = document.createElement('span');
  actions.className = 'cell-actions';
  if (!row.afterCut) {
    actions.append(
      iconButton('lock', 'Freeze up to here', `${path}\u0000freezeUpTo`, () =>
        handlers.edit({ kind: 'freezeUpTo', path }),
      ),
      iconButton('unlock', 'Unfreeze from here', `${path}\u0000unfreezeFrom`, () =>
        handlers.edit({ kind: 'unfreezeFrom', path }),
      ),
    );
    if (leafState !== undefined) {
      const reinit = leafState === 'reinit';
      const toggle = iconButton(
        'debug-restart',
        reinit ? 'Keep pre-trained weights (undo re-initialise)' : 'Re-initialise (fresh weights)',
        `${path}\u0000reinit`,
        () => handlers.edit({ kind: 'setReinit', path, reinit: !reinit }),
        reinit ? 'pressed' : '',
      );
      toggle.setAttribute('aria-pressed', String(reinit));
      actions.append(toggle);
    }
  }
  if (!row.isCut && row.cuttable) {
    actions.append(
      iconButton('split-horizontal', 'Set as head cut', `${path}\u0000setCut`, () =>
        handlers.edit({ kind: 'setCut', path }),
      ),
    );
  }
  return actions;
}
