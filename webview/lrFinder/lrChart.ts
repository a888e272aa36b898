/**
 * The LR finder chart: loss per step (faint) and smoothed loss against the learning rate on a log axis,
 * with vertical marks at the suggestion, the valley hint and the rate the file has now.
 */
import {
  Chart,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Legend,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type ChartType,
  type Plugin,
  type TooltipItem,
} from 'chart.js';
import type { LrFinderResult } from '../../src/protocol/lrFinder';
import { formatLoss } from '../shared/format';
import { withAlpha, type ChartTheme } from '../shared/theme';
import { formatRate, lossAxisRange, lossSeries, smoothedAt, type XY } from './curve';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export type LrChart = Chart<'line', XY[]>;

export interface RateMark {
  lr: number;
  label: string;
  color: string;
  dash: number[];
}

interface RateMarksOptions {
  marks: RateMark[];
}

declare module 'chart.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the type parameter is chart.js's
  interface PluginOptionsByType<TType extends ChartType> {
    rateMarks?: Partial<RateMarksOptions>;
  }
}

/** Vertical lines at given learning rates, each labelled at the top (staggered so labels never overlap). */
const rateMarksPlugin: Plugin<'line', Partial<RateMarksOptions>> = {
  id: 'rateMarks',
  afterDatasetsDraw(chart, _args, options) {
    const scale = chart.scales.x;
    if (!scale || !options.marks) return;
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.font = `11px ${getComputedStyle(chart.canvas).fontFamily}`;
    ctx.textBaseline = 'top';
    const placed: { left: number; right: number; row: number }[] = [];
    for (const mark of options.marks) {
      const x = scale.getPixelForValue(mark.lr);
      if (!Number.isFinite(x) || x < chartArea.left - 0.5 || x > chartArea.right + 0.5) continue;
      ctx.strokeStyle = mark.color;
      ctx.lineWidth = 1.25;
      ctx.setLineDash(mark.dash);
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      // Right of the line if it fits, else left of it; a row further down when both collide.
      const width = ctx.measureText(mark.label).width;
      const sides = [x + 4, x - 4 - width].filter((l) => l >= chartArea.left && l + width <= chartArea.right);
      const free = (left: number, row: number): boolean =>
        !placed.some((p) => p.row === row && left < p.right + 6 && left + width > p.left - 6);
      let spot: { left: number; row: number } | undefined;
      for (let row = 0; !spot; row++) {
        const left = sides.find((l) => free(l, row)) ?? (sides.length === 0 ? x + 4 : undefined);
        if (left !== undefined) spot = { left, row };
      }
      placed.push({ left: spot.left, right: spot.left + width, row: spot.row });
      ctx.fillStyle = mark.color;
      ctx.textAlign = 'left';
      ctx.fillText(mark.label, spot.left, chartArea.top + 4 + spot.row * 15);
    }
    ctx.restore();
  },
};

export function createLrChart(canvas: HTMLCanvasElement, theme: ChartTheme): LrChart {
  return new Chart<'line', XY[]>(canvas, {
    type: 'line',
    data: { datasets: datasets(theme) },
    options: options(theme),
    plugins: [rateMarksPlugin],
  });
}

export function updateLrChart(
  chart: LrChart,
  result: LrFinderResult,
  marks: RateMark[],
  theme: ChartTheme,
): void {
  const series = lossSeries(result);
  const [raw, smoothed, suggestion] = chart.data.datasets;
  raw.data = series.raw;
  smoothed.data = series.smoothed;
  const y = smoothedAt(result, result.suggestion);
  suggestion.data = y === undefined ? [] : [{ x: result.suggestion, y }];
  const scales = chart.options.scales as Record<string, { min?: number; max?: number }>;
  const range = lossAxisRange(result);
  scales.y.min = range?.min;
  scales.y.max = range?.max;
  scales.x.min = result.points[0]?.lr;
  scales.x.max = result.points[result.points.length - 1]?.lr;
  if (chart.options.plugins) chart.options.plugins.rateMarks = { marks };
  applyTheme(chart, theme);
}

/** Recolours after a theme change (data stays), and redraws. */
export function applyTheme(chart: LrChart, theme: ChartTheme): void {
  const fresh = datasets(theme);
  chart.data.datasets.forEach((dataset, i) => Object.assign(dataset, fresh[i], { data: dataset.data }));
  const { scales, plugins, color } = options(theme);
  chart.options.color = color;
  for (const axis of ['x', 'y'] as const) {
    const target = chart.options.scales?.[axis];
    const source = scales?.[axis];
    if (target && source) {
      target.grid = source.grid;
      target.ticks = { ...target.ticks, color: source.ticks?.color };
      target.title = source.title;
    }
  }
  if (chart.options.plugins) chart.options.plugins.legend = plugins?.legend;
  chart.update('none');
}

function datasets(theme: ChartTheme): ChartDataset<'line', XY[]>[] {
  const base = { data: [], fill: false, tension: 0, pointHoverRadius: 3 };
  return [
    {
      ...base,
      label: 'loss per step',
      borderColor: withAlpha(theme.train, 0.4),
      backgroundColor: withAlpha(theme.train, 0.4),
      borderWidth: 1,
      pointRadius: 0,
    },
    {
      ...base,
      label: 'smoothed loss',
      borderColor: theme.train,
      backgroundColor: theme.train,
      borderWidth: 2.25,
      pointRadius: 0,
    },
    {
      ...base,
      label: 'suggestion',
      borderColor: theme.best,
      backgroundColor: withAlpha(theme.best, 0.3),
      pointBorderColor: theme.best,
      pointBorderWidth: 2,
      pointRadius: 6,
      pointHoverRadius: 7,
      showLine: false,
    },
  ];
}

function options(theme: ChartTheme): ChartOptions<'line'> {
  const gridColor = withAlpha(theme.grid, 0.6);
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    interaction: { mode: 'index', intersect: false },
    color: theme.foreground,
    scales: {
      x: {
        type: 'logarithmic',
        // Powers of ten are labelled and gridded; the 2…9 ticks between them only get faint lines.
        grid: {
          color: (context) => (context.tick?.major ? gridColor : withAlpha(theme.grid, 0.18)),
          tickColor: gridColor,
        },
        ticks: {
          color: theme.muted,
          major: { enabled: true },
          autoSkip: false,
          maxRotation: 0,
          callback: (value, index, ticks) => (ticks[index]?.major ? formatRate(Number(value)) : ''),
        },
        title: { display: true, text: 'learning rate (log scale)', color: theme.muted },
      },
      y: {
        type: 'linear',
        grid: { color: gridColor, tickColor: gridColor },
        ticks: {
          color: theme.muted,
          maxTicksLimit: 8,
          // The range is fitted to the smoothed curve: its ends are not round numbers, so no ticks there.
          includeBounds: false,
          callback: (v) => String(Number(Number(v).toPrecision(3))),
        },
        title: { display: true, text: 'training loss', color: theme.muted },
      },
    },
    plugins: {
      legend: {
        position: 'top',
        align: 'end',
        labels: { color: theme.foreground, boxWidth: 12, boxHeight: 2 },
      },
      tooltip: {
        // Index mode lines up the two curves' points of one step; the suggestion's lone point is marked
        // on the chart already, and would otherwise join the first step's tooltip.
        filter: (item) => item.datasetIndex < 2,
        callbacks: {
          title: (items: TooltipItem<'line'>[]) => `learning rate ${formatRate(items[0]?.parsed.x ?? NaN)}`,
          label: (item: TooltipItem<'line'>) => `${item.dataset.label}: ${formatLoss(item.parsed.y ?? NaN)}`,
        },
      },
    },
  };
}
