/**
 * The freeze-pattern diff: one row per layer of the base model (in order), one column per run, each cell
 * the layer's state in that run — frozen, trainable, re-initialised, or after the cut (replaced by the
 * new head) — with the layer the head attaches to marked. Rows where the runs disagree are highlighted;
 * a toggle shows only those. Layer paths and run names go in through textContent.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { FreezeCellState } from '../../src/protocol/webviewMessages';
import { sortedRunIndices, type CompareUi, type PageState } from './model';
import { runStyle, swatch } from './palette';
import { el } from '../shared/dom';

const STATES: Record<FreezeCellState, { icon: string; label: string; title: string }> = {
  frozen: { icon: 'codicon-lock', label: 'frozen', title: 'Frozen: pre-trained weights kept as they are' },
  trainable: {
    icon: 'codicon-unlock',
    label: 'trainable',
    title: 'Trainable: pre-trained weights fine-tuned (at the fine-tune learning rate)',
  },
  reinit: {
    icon: 'codicon-refresh',
    label: 'reinit',
    title: 'Re-initialised: same layer, fresh weights, trained',
  },
  'after-cut': {
    icon: 'codicon-circle-slash',
    label: 'cut',
    title: 'After the cut: not used, replaced by the new head',
  },
};

/** Above this many runs, cells show only their icon (the state is in the tooltip and aria-label). */
const COMPACT_FROM = 7;

export interface FreezeTableView {
  element: HTMLElement;
  update(page: PageState, palette: readonly string[]): void;
}

export function createFreezeTable(onUi: (change: Partial<CompareUi>) => void): FreezeTableView {
  const element = el('section', 'card freeze-card');
  element.id = 'freeze';
  const head = element.appendChild(el('div', 'card-head'));
  head.appendChild(el('h2', 'card-title')).textContent = 'Freeze pattern';
  const summary = head.appendChild(el('span', 'card-subtitle'));
  const controls = head.appendChild(el('div', 'controls'));
  const onlyDiffering = controls.appendChild(document.createElement('vscode-checkbox'));
  onlyDiffering.id = 'only-differing-layers';
  onlyDiffering.label = 'Only differing layers';
  onlyDiffering.addEventListener('change', () => onUi({ onlyDifferingLayers: onlyDiffering.checked }));

  const key = element.appendChild(el('div', 'state-key'));
  for (const state of Object.keys(STATES) as FreezeCellState[]) {
    const chip = key.appendChild(stateChip(state, false));
    chip.title = STATES[state].title;
  }
  const cutKey = key.appendChild(el('span', 'state-chip cut-key'));
  cutKey.textContent = 'head attaches after';
  cutKey.title = 'The layer whose output feeds the new head (head.cutAt)';

  const message = element.appendChild(el('p', 'freeze-message muted'));
  const scroller = element.appendChild(el('div', 'table-scroll'));
  const table = scroller.appendChild(el('table', 'freeze-table'));
  table.id = 'freeze-table';
  const notes = element.appendChild(el('ul', 'freeze-notes'));

  return {
    element,
    update(page, palette) {
      onlyDiffering.checked = page.ui.onlyDifferingLayers;
      const data = page.data;
      const freeze = data?.freeze;
      notes.replaceChildren(
        ...(freeze?.notes ?? []).map((note) => {
          const li = el('li', 'muted');
          li.textContent = note;
          return li;
        }),
      );
      if (!data || !freeze || freeze.source === 'loading') {
        summary.textContent = '';
        message.hidden = false;
        message.textContent = 'Reading the layer order of the base models…';
        table.replaceChildren();
        return;
      }
      const differing = freeze.rows.filter((row) => row.differs).length;
      summary.textContent =
        freeze.rows.length === 0
          ? ''
          : data.runs.length < 2
            ? `${freeze.rows.length} layers`
            : `${differing} of ${freeze.rows.length} layers differ`;
      const rows = page.ui.onlyDifferingLayers ? freeze.rows.filter((row) => row.differs) : freeze.rows;
      message.hidden = rows.length > 0 && freeze.source === 'model';
      message.textContent =
        freeze.rows.length === 0
          ? 'No run has a layer configuration to compare (no readable config, or nothing frozen or re-initialised).'
          : rows.length === 0
            ? 'Every run treats every layer the same way.'
            : freeze.source === 'configs'
              ? 'The base model could not be read, so only the layers the configs name are listed; "—" means not named.'
              : '';

      const order = sortedRunIndices(data, page.ui.sort);
      const compact = data.runs.length >= COMPACT_FROM;
      table.classList.toggle('compact', compact);
      const headRow = document.createElement('tr');
      const corner = headRow.appendChild(el('th', 'layer-col'));
      corner.scope = 'col';
      corner.textContent = 'Layer';
      for (const i of order) {
        const run = data.runs[i];
        const th = headRow.appendChild(el('th', 'run-col'));
        th.scope = 'col';
        th.title = `${run.name} (${run.runId})`;
        th.appendChild(swatch(runStyle(palette, i)));
        const name = th.appendChild(el('span', 'run-col-name'));
        name.textContent = run.name;
      }
      const thead = document.createElement('thead');
      thead.appendChild(headRow);
      const tbody = document.createElement('tbody');
      for (const row of rows) {
        const tr = tbody.appendChild(document.createElement('tr'));
        tr.dataset.layer = row.path;
        if (row.differs) tr.classList.add('differs');
        const th = tr.appendChild(el('th', 'layer-col'));
        th.scope = 'row';
        const cut = row.path.lastIndexOf('/');
        if (cut > 0) th.appendChild(el('span', 'layer-parent')).textContent = row.path.slice(0, cut + 1);
        th.appendChild(el('span', 'layer-name')).textContent = row.path.slice(cut + 1);
        th.title = row.differs ? `${row.path} — differs between the runs` : row.path;
        for (const i of order) {
          const td = tr.appendChild(el('td', 'state-cell'));
          const state = row.states[i];
          const runName = data.runs[i].name;
          if (state) td.appendChild(stateChip(state, compact));
          else td.appendChild(el('span', 'state-missing')).textContent = '—';
          if (row.cut[i]) td.classList.add('cut');
          const described = state ? STATES[state].title : 'not in this run’s model / not named';
          td.title = `${runName}: ${row.path} — ${described}${row.cut[i] ? ' (the new head attaches after this layer)' : ''}`;
          td.setAttribute('aria-label', td.title);
        }
      }
      table.replaceChildren(thead, tbody);
    },
  };
}

function stateChip(state: FreezeCellState, compact: boolean): HTMLElement {
  const chip = el('span', `state-chip state-${state}`);
  const icon = chip.appendChild(el('span', `codicon ${STATES[state].icon}`));
  icon.setAttribute('aria-hidden', 'true');
  if (!compact) chip.appendChild(document.createTextNode(STATES[state].label));
  return chip;
}
