/**
 * The overlay chart: one metric of every shown run, against the epoch or the wall-clock time, optionally
 * smoothed (debiased EMA; the raw values stay as faint lines, as in TensorBoard). The legend is HTML
 * (run names are file-derived: textContent only) and toggles runs; hovering an entry highlights its run.
 * The axes are not pinned, so they refit whenever a running run's new epochs arrive.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import {
  Chart,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type TooltipItem,
} from 'chart.js';
import type { CompareMetric, CompareRun } from '../../src/protocol/webviewMessages';
import { spansDecade } from '../shared/logAxis';
import { formatDuration, formatLearningRate, formatLoss, formatPercent } from '../shared/format';
import type { XY } from '../shared/smoothing';
import type { ChartTheme } from '../shared/theme';
import { curvePoints, METRICS, type CompareUi, type PageState } from './model';
import { alpha, runStyle, swatch } from './palette';
import { chartPng, fileSafe } from './png';
import { el } from '../shared/dom';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip);

type RunDataset = ChartDataset<'line', XY[]> & { runIndex: number; raw: boolean };

export interface CurvesView {
  element: HTMLElement;
  chart: Chart<'line', XY[]>;
  update(page: PageState, palette: readonly string[], theme: ChartTheme): void;
  /** The chart as a PNG data URL with a title and legend, and a suggested file name. */
  png(): { dataUrl: string; name: string };
}

export interface CurvesHandlers {
  onUi(change: Partial<CompareUi>): void;
  onPng(): void;
}

/** Above this many points in a run, points are not drawn (lines only): 50 × 500 dots are noise. */
const POINTS_UP_TO = 60;

export function formatMetricValue(metric: CompareMetric, value: number): string {
  if (metric === 'accuracy' || metric === 'val_accuracy') return formatPercent(value);
  if (metric === 'lr') return formatLearningRate(value);
  return formatLoss(value);
}

/** Axis ticks are round numbers: no trailing zeros ("0.8", not "0.8000"), whole percents. */
function formatTick(metric: CompareMetric, value: number): string {
  if (metric === 'accuracy' || metric === 'val_accuracy') return formatPercent(value, 0);
  if (metric === 'lr') return formatLearningRate(value);
  return String(Number(value.toPrecision(4)));
}

export function createCurves(handlers: CurvesHandlers): CurvesView {
  const element = el('section', 'card curves-card');
  element.id = 'curves';
  const head = element.appendChild(el('div', 'card-head'));
  head.appendChild(el('h2', 'card-title')).textContent = 'Curves';
  const controls = head.appendChild(el('div', 'controls'));

  const metricLabel = controls.appendChild(el('label', 'control'));
  metricLabel.appendChild(el('span', 'control-label')).textContent = 'Metric';
  const metric = metricLabel.appendChild(document.createElement('vscode-single-select'));
  metric.id = 'metric-select';
  for (const m of METRICS) {
    const option = metric.appendChild(document.createElement('vscode-option'));
    option.value = m.key;
    option.textContent = m.label;
  }
  metric.addEventListener('change', () => handlers.onUi({ metric: metric.value as CompareMetric }));

  const xGroup = controls.appendChild(el('div', 'control segmented'));
  xGroup.setAttribute('role', 'group');
  xGroup.setAttribute('aria-label', 'x axis');
  const xButtons = (['epoch', 'time'] as const).map((x) => {
    const button = xGroup.appendChild(el('button', 'segment'));
    button.type = 'button';
    button.dataset.x = x;
    button.textContent = x === 'epoch' ? 'Epoch' : 'Wall time';
    button.addEventListener('click', () => handlers.onUi({ x }));
    return button;
  });

  const smoothLabel = controls.appendChild(el('label', 'control smoothing'));
  smoothLabel.appendChild(el('span', 'control-label')).textContent = 'Smoothing';
  const smoothing = smoothLabel.appendChild(document.createElement('input'));
  smoothing.type = 'range';
  smoothing.id = 'smoothing';
  smoothing.min = '0';
  smoothing.max = '0.99';
  smoothing.step = '0.01';
  const smoothingValue = smoothLabel.appendChild(el('span', 'smoothing-value'));
  smoothing.addEventListener('input', () => handlers.onUi({ smoothing: Number(smoothing.value) }));

  const png = controls.appendChild(document.createElement('vscode-button'));
  png.id = 'curves-png';
  png.secondary = true;
  png.title = 'Save this chart (with its legend) as a PNG image';
  png.appendChild(el('span', 'codicon codicon-device-camera')).slot = 'content-before';
  png.appendChild(document.createTextNode('PNG'));
  png.addEventListener('click', () => handlers.onPng());

  const box = element.appendChild(el('div', 'chart-box curves-box'));
  const canvas = box.appendChild(document.createElement('canvas'));
  canvas.id = 'curves-canvas';
  canvas.setAttribute('role', 'img');
  const empty = box.appendChild(el('div', 'chart-empty'));
  const legend = element.appendChild(el('div', 'legend'));
  legend.id = 'legend';
  legend.setAttribute('role', 'group');
  legend.setAttribute('aria-label', 'Runs shown in the chart');

  let current: { page: PageState; palette: readonly string[]; theme: ChartTheme } | undefined;
  let highlighted: number | undefined;

  const chart = new Chart<'line', XY[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      scales: { x: { type: 'linear' }, y: { type: 'linear', grace: '5%' } },
      plugins: { tooltip: {} },
    },
  });

  const styleDatasets = (): void => {
    if (!current) return;
    for (const dataset of chart.data.datasets as RunDataset[]) {
      const style = runStyle(current.palette, dataset.runIndex);
      const dim = highlighted !== undefined && highlighted !== dataset.runIndex;
      const opacity = (dataset.raw ? 0.25 : 1) * (dim ? 0.15 : 1);
      dataset.borderColor = alpha(style.color, opacity);
      dataset.backgroundColor = dataset.borderColor;
      dataset.borderWidth = dataset.raw ? 1 : highlighted === dataset.runIndex ? 3 : 2;
    }
  };

  const view: CurvesView = {
    element,
    chart,
    update(page, palette, theme) {
      current = { page, palette, theme };
      const { ui } = page;
      const runs = page.data?.runs ?? [];
      metric.value = ui.metric;
      xButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.x === ui.x)));
      smoothing.value = String(ui.smoothing);
      smoothingValue.textContent = ui.smoothing === 0 ? 'off' : ui.smoothing.toFixed(2);

      const hidden = new Set(ui.hidden);
      const datasets: RunDataset[] = [];
      const shownValues: number[] = [];
      let runsWithData = 0;
      runs.forEach((run, i) => {
        const points = curvePoints(run, ui.metric, ui.x, ui.smoothing);
        if (points.raw.length > 0) runsWithData++;
        const isHidden = hidden.has(run.dir);
        if (!isHidden) for (const p of points.raw) shownValues.push(p.y);
        const style = runStyle(palette, i);
        const pointRadius = points.raw.length <= POINTS_UP_TO ? 2 : 0;
        const common = {
          runIndex: i,
          label: run.name,
          hidden: isHidden,
          borderDash: style.dash,
          pointRadius,
          pointHoverRadius: 4,
          tension: 0,
          fill: false,
        };
        if (ui.smoothing > 0)
          datasets.push({ ...common, raw: true, data: points.raw, pointRadius: 0, pointHoverRadius: 0 });
        datasets.push({ ...common, raw: false, data: points.smoothed });
      });
      chart.data.datasets = datasets;

      const metricLabelText = METRICS.find((m) => m.key === ui.metric)?.label ?? ui.metric;
      const logScale = ui.metric === 'lr' && spansDecade(shownValues);
      const grid = { color: alpha(theme.grid, 0.5), tickColor: alpha(theme.grid, 0.5) };
      chart.options.color = theme.foreground;
      chart.options.scales = {
        x: {
          type: 'linear',
          grid,
          ticks: {
            color: theme.muted,
            ...(ui.x === 'epoch' ? { precision: 0 } : {}),
            callback: (v) => (ui.x === 'time' ? formatDuration(Number(v)) : String(v)),
          },
          title: { display: true, text: ui.x === 'epoch' ? 'epoch' : 'wall time', color: theme.muted },
        },
        y: {
          type: logScale ? 'logarithmic' : 'linear',
          grid,
          grace: logScale ? 0 : '5%',
          ticks: {
            color: theme.muted,
            maxTicksLimit: 8,
            callback: (v) => formatTick(ui.metric, Number(v)),
          },
          title: { display: true, text: metricLabelText, color: theme.muted },
        },
      };
      chart.options.plugins = {
        tooltip: {
          filter: (item) => !(item.dataset as RunDataset).raw,
          callbacks: {
            title: (items: TooltipItem<'line'>[]) => {
              const x = items[0]?.parsed.x;
              if (x === undefined || x === null) return '';
              return ui.x === 'epoch' ? `Epoch ${x}` : `after ${formatDuration(x)}`;
            },
            label: (item: TooltipItem<'line'>) =>
              `${item.dataset.label}: ${formatMetricValue(ui.metric, item.parsed.y ?? Number.NaN)}${ui.smoothing > 0 ? ' (smoothed)' : ''}`,
          },
        },
      };
      styleDatasets();
      chart.update('none');
      canvas.setAttribute(
        'aria-label',
        `${metricLabelText} of ${runs.length} runs per ${ui.x === 'epoch' ? 'epoch' : 'second'}`,
      );

      empty.hidden = runsWithData > 0 || runs.length === 0;
      empty.textContent =
        ui.x === 'time' && runs.some((r) => r.series.epoch.length > 0)
          ? `No run has ${metricLabelText} values with epoch times yet.`
          : `No run has ${metricLabelText} values yet.`;
      renderLegend(runs, palette, hidden);
    },
    png() {
      if (!current) return { dataUrl: chart.toBase64Image(), name: 'curves.png' };
      const { page, palette, theme } = current;
      const runs = page.data?.runs ?? [];
      const hidden = new Set(page.ui.hidden);
      const entries = runs
        .map((run, i) => ({ name: run.name, ...runStyle(palette, i), shown: !hidden.has(run.dir) }))
        .filter((e) => e.shown);
      const label = METRICS.find((m) => m.key === page.ui.metric)?.label ?? page.ui.metric;
      const title = `${label} per ${page.ui.x === 'epoch' ? 'epoch' : 'wall time'}${page.ui.smoothing > 0 ? ` (smoothing ${page.ui.smoothing.toFixed(2)})` : ''}`;
      return {
        dataUrl: chartPng(canvas, theme, title, entries),
        name: `compare-${fileSafe(page.ui.metric)}-${page.ui.x}.png`,
      };
    },
  };

  function renderLegend(runs: readonly CompareRun[], palette: readonly string[], hidden: Set<string>): void {
    const items: HTMLElement[] = runs.map((run, i) => {
      const item = el('button', 'legend-item');
      item.type = 'button';
      item.dataset.dir = run.dir;
      const shown = !hidden.has(run.dir);
      item.setAttribute('aria-pressed', String(shown));
      item.title = `${run.name} (${run.runId}) — click to ${shown ? 'hide' : 'show'}`;
      item.append(swatch(runStyle(palette, i)), textSpan('legend-name', run.name));
      if (run.series.epoch.length === 0) item.append(textSpan('legend-extra', 'no epochs'));
      item.addEventListener('click', () => {
        const next = new Set(current?.page.ui.hidden ?? []);
        if (next.has(run.dir)) next.delete(run.dir);
        else next.add(run.dir);
        handlers.onUi({ hidden: [...next] });
      });
      item.addEventListener('mouseenter', () => highlight(i));
      item.addEventListener('mouseleave', () => highlight(undefined));
      item.addEventListener('focus', () => highlight(i));
      item.addEventListener('blur', () => highlight(undefined));
      return item;
    });
    if (runs.length > 3) {
      const all = el('button', 'legend-action');
      all.type = 'button';
      all.textContent = hidden.size > 0 ? 'Show all' : 'Hide all';
      all.addEventListener('click', () =>
        handlers.onUi({ hidden: hidden.size > 0 ? [] : runs.map((r) => r.dir) }),
      );
      items.push(all);
    }
    legend.replaceChildren(...items);
  }

  function highlight(index: number | undefined): void {
    if (highlighted === index) return;
    highlighted = index;
    styleDatasets();
    chart.update('none');
  }

  return view;
}

function textSpan(className: string, text: string): HTMLElement {
  const span = el('span', className);
  span.textContent = text;
  return span;
}
