/**
 * The runs table: one row per run with its outcome (best val_accuracy / val_loss, best epoch, final gap,
 * epochs since best, duration, backend) and its parameters — by default only the ones that differ
 * between the runs. Headers sort (click again to reverse); the best value of a metric column is marked;
 * a run's name opens its training panel. File-derived text goes in through textContent.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { CompareParameter, ComparePanelState, CompareRun } from '../../src/protocol/webviewMessages';
import { formatDuration, formatLoss, formatPercent } from '../shared/format';
import { nextSort, sortedRunIndices, TABLE_COLUMNS, type CompareUi, type PageState } from './model';
import { runStyle, swatch } from './palette';
import { el } from '../shared/dom';

export interface RunTableHandlers {
  onUi(change: Partial<CompareUi>): void;
  onOpenRun(dir: string): void;
  onExport(kind: 'table' | 'series'): void;
}

export interface RunTableView {
  element: HTMLElement;
  update(page: PageState, palette: readonly string[]): void;
  /** The run order and parameter columns as shown (for the CSV export). */
  shown(): { order: number[]; parameterKeys: string[] };
}

const STATUS_ICON: Record<string, string> = {
  running: 'codicon-loading codicon-modifier-spin',
  completed: 'codicon-pass',
  stopped: 'codicon-debug-stop',
  failed: 'codicon-error',
  crashed: 'codicon-warning',
  unreadable: 'codicon-question',
};

/** Columns whose best value is marked: higher or lower is better. */
const BEST_DIRECTION: Record<string, 'max' | 'min' | 'minAbs'> = {
  bestValAccuracy: 'max',
  bestValLoss: 'min',
  finalGap: 'minAbs',
};

export function shownParameters(data: ComparePanelState, onlyDifferences: boolean): CompareParameter[] {
  return onlyDifferences ? data.parameters.filter((p) => p.differs) : data.parameters;
}

export function createRunTable(handlers: RunTableHandlers): RunTableView {
  const element = el('section', 'card table-card');
  element.id = 'runs-table-card';
  const head = element.appendChild(el('div', 'card-head'));
  head.appendChild(el('h2', 'card-title')).textContent = 'Runs';
  const summary = head.appendChild(el('span', 'card-subtitle'));
  const controls = head.appendChild(el('div', 'controls'));
  const onlyDiffs = controls.appendChild(document.createElement('vscode-checkbox'));
  onlyDiffs.id = 'only-differences';
  onlyDiffs.label = 'Only differing parameters';
  onlyDiffs.addEventListener('change', () => handlers.onUi({ onlyDifferences: onlyDiffs.checked }));
  for (const kind of ['table', 'series'] as const) {
    const button = controls.appendChild(document.createElement('vscode-button'));
    button.id = `export-${kind}`;
    button.secondary = true;
    button.title =
      kind === 'table'
        ? 'Save this table (rows and columns as shown) as CSV'
        : 'Save every epoch of every run (raw values) as CSV';
    button.appendChild(el('span', 'codicon codicon-export')).slot = 'content-before';
    button.appendChild(document.createTextNode(kind === 'table' ? 'Table CSV' : 'Series CSV'));
    button.addEventListener('click', () => handlers.onExport(kind));
  }

  const scroller = element.appendChild(el('div', 'table-scroll'));
  const table = scroller.appendChild(el('table', 'runs-table'));
  table.id = 'runs-table';
  const thead = table.appendChild(document.createElement('thead'));
  const tbody = table.appendChild(document.createElement('tbody'));
  let shown: { order: number[]; parameterKeys: string[] } = { order: [], parameterKeys: [] };

  return {
    element,
    shown: () => shown,
    update(page, palette) {
      const data = page.data;
      const ui = page.ui;
      onlyDiffs.checked = ui.onlyDifferences;
      if (!data) {
        thead.replaceChildren();
        tbody.replaceChildren();
        return;
      }
      const parameters = shownParameters(data, ui.onlyDifferences);
      const differing = data.parameters.filter((p) => p.differs).length;
      summary.textContent =
        data.runs.length < 2
          ? `${data.parameters.length} parameters`
          : `${differing} of ${data.parameters.length} parameters differ`;
      const order = sortedRunIndices(data, ui.sort);
      shown = { order, parameterKeys: parameters.map((p) => p.key) };

      // Header
      const headRow = document.createElement('tr');
      const headerCell = (
        column: string,
        label: string,
        title: string,
        className: string,
        group?: string,
      ) => {
        const th = el('th', className);
        th.scope = 'col';
        const sorted = ui.sort?.column === column;
        th.setAttribute('aria-sort', sorted ? (ui.sort!.descending ? 'descending' : 'ascending') : 'none');
        const button = th.appendChild(el('button', 'sort-button'));
        button.type = 'button';
        button.dataset.column = column;
        button.title = `${title} — click to sort`;
        if (group) button.appendChild(el('span', 'param-group')).textContent = group;
        button.appendChild(el('span', 'header-label')).textContent = label;
        const arrow = button.appendChild(el('span', 'codicon sort-arrow'));
        arrow.classList.add(
          sorted ? (ui.sort!.descending ? 'codicon-arrow-down' : 'codicon-arrow-up') : 'codicon-blank',
        );
        button.addEventListener('click', () => handlers.onUi({ sort: nextSort(ui.sort, column) }));
        headRow.appendChild(th);
      };
      for (const column of TABLE_COLUMNS) {
        headerCell(
          column.id,
          column.label,
          column.title,
          `${column.numeric ? 'num' : ''} col-${column.id}`.trim(),
        );
      }
      for (const parameter of parameters) {
        const cut = parameter.key.lastIndexOf('.');
        headerCell(
          `param:${parameter.key}`,
          parameter.key.slice(cut + 1),
          parameter.key,
          `param${parameter.differs ? ' param-differs' : ''}`,
          cut > 0 ? parameter.key.slice(0, cut) : '',
        );
      }
      thead.replaceChildren(headRow);

      // Body
      const best = bestIndices(data.runs);
      const hidden = new Set(ui.hidden);
      tbody.replaceChildren(
        ...order.map((i) => {
          const run = data.runs[i];
          const tr = document.createElement('tr');
          tr.dataset.dir = run.dir;
          if (hidden.has(run.dir)) tr.classList.add('run-hidden');
          tr.appendChild(nameCell(run, runStyle(palette, i), handlers));
          tr.appendChild(statusCell(run));
          const num = (text: string, column: string, title?: string) => {
            const td = el('td', 'num');
            td.textContent = text;
            if (title) td.title = title;
            if (best[column] === i) {
              td.classList.add('best');
              td.title = `${title ?? text} — best of these runs`;
            }
            tr.appendChild(td);
          };
          num(formatPercent(run.bestValAccuracy, 1), 'bestValAccuracy', full(run.bestValAccuracy));
          num(formatLoss(run.bestValLoss), 'bestValLoss', full(run.bestValLoss));
          num(run.bestEpoch === undefined ? '—' : String(run.bestEpoch), 'bestEpoch');
          num(signed(run.finalGap), 'finalGap', full(run.finalGap));
          num(run.epochsSinceBest === undefined ? '—' : String(run.epochsSinceBest), 'epochsSinceBest');
          num(
            `${run.epochsCompleted}${run.epochsPlanned !== undefined ? `/${run.epochsPlanned}` : ''}`,
            'epochs',
          );
          num(run.durationS === undefined ? '—' : formatDuration(run.durationS), 'durationS');
          const backend = tr.appendChild(el('td', 'text'));
          backend.textContent = run.backend ?? '—';
          for (const parameter of parameters) {
            const value = parameter.values[i];
            const td = tr.appendChild(el('td', typeof value === 'number' ? 'num param' : 'text param'));
            const text = value === null ? '—' : String(value);
            td.textContent = text;
            td.title = `${parameter.key} = ${text}`;
          }
          return tr;
        }),
      );
    },
  };
}

function nameCell(run: CompareRun, style: ReturnType<typeof runStyle>, handlers: RunTableHandlers) {
  const th = el('th', 'name-cell');
  th.scope = 'row';
  const line = th.appendChild(el('div', 'name-line'));
  line.appendChild(swatch(style));
  const open = line.appendChild(el('button', 'run-link'));
  open.type = 'button';
  open.textContent = run.name;
  open.title = `${run.name}\n${run.runId}\nOpen its training panel`;
  open.addEventListener('click', () => handlers.onOpenRun(run.dir));
  if (run.problem) {
    const warning = line.appendChild(el('span', 'codicon codicon-warning problem-icon'));
    warning.title = run.problem;
    warning.setAttribute('aria-label', `Problem: ${run.problem}`);
  }
  if (run.note) {
    const note = th.appendChild(el('div', 'run-note'));
    note.textContent = run.note;
    note.title = run.note;
  }
  return th;
}

function statusCell(run: CompareRun) {
  const td = el('td', `status status-${run.status}`);
  const icon = td.appendChild(el('span', `codicon ${STATUS_ICON[run.status] ?? 'codicon-circle-outline'}`));
  icon.setAttribute('aria-hidden', 'true');
  td.appendChild(document.createTextNode(` ${run.status}`));
  if (run.problem) td.title = run.problem;
  return td;
}

/** Per column, the index of the run with the best value (only when at least two runs have one). */
function bestIndices(runs: readonly CompareRun[]): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const [column, direction] of Object.entries(BEST_DIRECTION)) {
    let bestIndex: number | undefined;
    let bestScore = Infinity;
    let count = 0;
    runs.forEach((run, i) => {
      const value = run[column as keyof CompareRun];
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      count++;
      const score = direction === 'max' ? -value : direction === 'min' ? value : Math.abs(value);
      if (score < bestScore) {
        bestScore = score;
        bestIndex = i;
      }
    });
    out[column] = count >= 2 ? bestIndex : undefined;
  }
  return out;
}

const full = (value: number | undefined): string | undefined =>
  value === undefined ? undefined : String(value);

function signed(value: number | undefined): string {
  if (value === undefined) return '—';
  return `${value >= 0 ? '+' : '−'}${formatLoss(Math.abs(value))}`;
}
