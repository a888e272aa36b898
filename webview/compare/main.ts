/**
 * Compare Runs panel: wiring. Host messages go through the pure reducer (model.ts); user settings change
 * `page.ui`; each change re-renders only the sections that depend on it (the smoothing slider redraws the
 * curves, not the freeze table), at most once per animation frame. The settings and the runs shown are
 * persisted with setState, so a reloaded panel (or a restored window) comes back as it was.
 */
import type { ComparePanelToHost, HostToComparePanel } from '../../src/protocol/webviewMessages';
import { readChartTheme, watchTheme, type ChartTheme } from '../shared/theme';
import { connect } from '../shared/vscodeApi';
import { seriesCsv, tableCsv } from './csv';
import { createCurves } from './curves';
import { createFreezeTable } from './freezeTable';
import { reduce, restoreRunDirs, restoreUi, savedState, type CompareUi, type PageState } from './model';
import { runPalette } from './palette';
import { createParallel } from './parallel';
import { createRunTable } from './runTable';
import { el } from '../shared/dom';
import './style.css';

type Section = 'header' | 'curves' | 'table' | 'freeze' | 'parallel';
const ALL: Section[] = ['header', 'curves', 'table', 'freeze', 'parallel'];

/** Which sections read which setting. */
const DEPENDS: Record<keyof CompareUi, Section[]> = {
  metric: ['curves'],
  x: ['curves'],
  smoothing: ['curves'],
  hidden: ['curves', 'table', 'parallel'],
  sort: ['table', 'freeze'],
  onlyDifferences: ['table'],
  onlyDifferingLayers: ['freeze'],
  outcome: ['parallel'],
};

declare global {
  interface Window {
    /** Test and benchmark hook (test/webview/comparePanel.test.ts, scripts/bench/compareBench.mjs). */
    __fineTuneCompare?: {
      page: () => PageState;
      chart: ReturnType<typeof createCurves>['chart'];
      parallel: ReturnType<typeof createParallel>['drawn'];
      renders: number;
      lastRenderMs: number;
      /** Milliseconds each section took in the last render. */
      sectionMs: Partial<Record<Section, number>>;
    };
  }
}

const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
root.className = 'panel compare-panel';

let page: PageState = { ui: restoreUi(undefined) };
let theme: ChartTheme = readChartTheme();
let palette = runPalette();

const header = el('header', 'compare-header');
const title = header.appendChild(el('h1', 'panel-title compare-title'));
title.textContent = 'Compare runs';
const facts = header.appendChild(el('span', 'compare-facts'));
const placeholder = el('div', 'placeholder');
placeholder.textContent = 'Waiting for the runs…';

const onUi = (change: Partial<CompareUi>): void => {
  page = { ...page, ui: { ...page.ui, ...change } };
  const sections = new Set<Section>();
  for (const key of Object.keys(change) as (keyof CompareUi)[]) DEPENDS[key]?.forEach((s) => sections.add(s));
  schedule(sections);
};

const curves = createCurves({
  onUi,
  onPng: () => {
    const { dataUrl, name } = curves.png();
    channel.post({ type: 'savePng', suggestedName: name, dataUrl });
  },
});
const table = createRunTable({
  onUi,
  onOpenRun: (dir) => channel.post({ type: 'openRun', dir }),
  onExport: (kind) => {
    if (!page.data) return;
    const { order, parameterKeys } = table.shown();
    channel.post(
      kind === 'table'
        ? {
            type: 'saveCsv',
            suggestedName: 'compare-runs.csv',
            csv: tableCsv(page.data, order, parameterKeys),
          }
        : { type: 'saveCsv', suggestedName: 'compare-series.csv', csv: seriesCsv(page.data) },
    );
  },
});
const freeze = createFreezeTable(onUi);
const parallel = createParallel({
  onUi,
  onPng: () => {
    const { dataUrl, name } = parallel.png();
    channel.post({ type: 'savePng', suggestedName: name, dataUrl });
  },
});
const lower = el('div', 'two-columns');
lower.append(freeze.element, parallel.element);
root.append(header, placeholder, curves.element, table.element, lower);

const channel = connect<HostToComparePanel, ComparePanelToHost>((message) => {
  const before = page;
  page = reduce(page, message);
  // Draw now (tests and users wait on it). New epochs of a run change everything but the freeze table,
  // which shows run names only (a rename arrives as a run update too) in table order (a sorted table
  // may reorder).
  const renamed =
    message.type === 'runs' &&
    message.runs.some((run) => before.data?.runs.find((r) => r.dir === run.dir)?.name !== run.name);
  render(
    new Set<Section>(
      message.type === 'freeze'
        ? ['freeze', 'parallel']
        : message.type === 'runs' && !renamed && !page.ui.sort
          ? ['header', 'curves', 'table', 'parallel']
          : ALL,
    ),
  );
});
const saved = channel.getState();
page = { ui: restoreUi(saved) };
const restoredRunDirs = restoreRunDirs(saved);

const hook = {
  page: () => page,
  chart: curves.chart,
  parallel: parallel.drawn,
  renders: 0,
  lastRenderMs: 0,
  sectionMs: {} as Partial<Record<Section, number>>,
};
window.__fineTuneCompare = hook;

let pending = new Set<Section>();
let frame: number | undefined;

function schedule(sections: Set<Section>): void {
  sections.forEach((s) => pending.add(s));
  frame ??= requestAnimationFrame(() => {
    frame = undefined;
    const due = pending;
    pending = new Set();
    render(due);
  });
}

function render(sections: Set<Section>): void {
  const started = performance.now();
  const data = page.data;
  const hasRuns = !!data && data.runs.length > 0;
  placeholder.hidden = hasRuns;
  placeholder.textContent = data ? 'No runs selected.' : 'Waiting for the runs…';
  for (const section of [curves.element, table.element, lower]) section.hidden = !hasRuns;
  hook.sectionMs = {};
  if (hasRuns) {
    const timed = (section: Section, draw: () => void): void => {
      if (!sections.has(section)) return;
      const t = performance.now();
      draw();
      hook.sectionMs[section] = performance.now() - t;
    };
    timed('header', renderHeader);
    timed('curves', () => curves.update(page, palette, theme));
    timed('table', () => table.update(page, palette));
    timed('freeze', () => freeze.update(page, palette));
    timed('parallel', () => parallel.update(page, theme));
  }
  channel.setState(savedState(page, restoredRunDirs));
  hook.renders++;
  hook.lastRenderMs = performance.now() - started;
  root.dataset.renders = String(hook.renders);
}

function renderHeader(): void {
  const runs = page.data?.runs ?? [];
  const sweep = page.data?.sweep;
  title.textContent = sweep ? `Sweep ${sweep.name}: its trials` : 'Compare runs';
  const running = runs.filter((r) => r.status === 'running').length;
  const differing = page.data?.parameters.filter((p) => p.differs).length ?? 0;
  facts.textContent = [
    `${runs.length} run${runs.length === 1 ? '' : 's'}`,
    running > 0 ? `${running} running (live)` : '',
    runs.length > 1 ? `${differing} differing parameter${differing === 1 ? '' : 's'}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

watchTheme(() => {
  theme = readChartTheme();
  palette = runPalette();
  render(new Set(ALL));
});

render(new Set(ALL));
