/**
 * The three chart.js charts of the training panel (loss, accuracy, learning rate): created once, then
 * fed the points from chartSeries.ts with `update('none')` (no animation: updates arrive per batch).
 *
 * Generalization gap: the val curve is filled towards the train curve (`fill: '-1'`) with two tints.
 * Where val_loss is above loss (the usual gap, the one that grows when overfitting) the tint is the val
 * colour; where val_loss is below loss (dropout and augmentation act only in training, so early epochs
 * often look like this) a faint train-colour tint shows it without suggesting a problem.
 */
import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type ChartOptions,
  type TooltipItem,
} from 'chart.js';
import { epochMarkersPlugin } from './chartPlugins';
import type { ChartSeries, CurveSeries } from './chartSeries';
import { formatLearningRate, formatLoss, formatPercent } from '../shared/format';
import type { XY } from '../shared/smoothing';
import { withAlpha, type ChartTheme } from '../shared/theme';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  Filler,
  Legend,
  Tooltip,
);

export type LineChart = Chart<'line', XY[]>;

export interface TrainingCharts {
  loss: LineChart;
  accuracy: LineChart;
  lr: LineChart;
}

type Kind = 'loss' | 'accuracy' | 'lr';

export function createCharts(canvases: Record<Kind, HTMLCanvasElement>, theme: ChartTheme): TrainingCharts {
  const make = (kind: Kind): LineChart =>
    new Chart(canvases[kind], {
      type: 'line',
      data: { datasets: datasets(kind, theme) },
      options: options(kind, theme),
      plugins: [epochMarkersPlugin],
    });
  return { loss: make('loss'), accuracy: make('accuracy'), lr: make('lr') };
}

export function updateCharts(charts: TrainingCharts, series: ChartSeries): void {
  setCurves(charts.loss, series.loss);
  setCurves(charts.accuracy, series.accuracy);
  const [lr, lrBase, lrSteps] = charts.lr.data.datasets;
  lr.data = series.lr.lr;
  lrBase.data = series.lr.lrBase;
  lrSteps.data = series.lr.lrSteps;
  const lrScales = charts.lr.options.scales as Record<string, { type?: string }>;
  lrScales.y.type = series.lr.logScale ? 'logarithmic' : 'linear';
  for (const chart of [charts.loss, charts.accuracy, charts.lr]) {
    const x = chart.options.scales?.x;
    if (x) {
      // The per-batch rates start within epoch 1: their axis starts at 0.
      x.min = chart === charts.lr && series.lr.lrSteps.length > 0 ? 0 : series.x.min;
      x.max = series.x.max;
    }
    const markers = chart.options.plugins?.epochMarkers;
    if (markers) {
      markers.bestEpoch = series.bestEpoch;
      markers.overfitFrom = chart === charts.loss ? series.overfitFrom : undefined;
    }
    chart.update('none');
  }
}

/** Recolours the charts after a theme change (their data stays). */
export function applyTheme(charts: TrainingCharts, theme: ChartTheme): void {
  for (const kind of ['loss', 'accuracy', 'lr'] as const) {
    const chart = charts[kind];
    const fresh = datasets(kind, theme);
    chart.data.datasets.forEach((dataset, i) => Object.assign(dataset, fresh[i], { data: dataset.data }));
    const { scales, plugins } = options(kind, theme);
    const current = chart.options;
    for (const axis of ['x', 'y'] as const) {
      const target = current.scales?.[axis];
      const source = scales?.[axis];
      if (target && source) {
        target.grid = source.grid;
        target.ticks = { ...target.ticks, color: source.ticks?.color };
        target.title = source.title;
      }
    }
    if (current.plugins) {
      current.plugins.legend = plugins?.legend;
      const { bestColor, overfitColor, overfitLabelColor } = plugins?.epochMarkers ?? {};
      Object.assign(current.plugins.epochMarkers ?? {}, { bestColor, overfitColor, overfitLabelColor });
    }
    chart.update('none');
  }
}

function setCurves(chart: LineChart, curves: CurveSeries): void {
  const [train, val, batch, best] = chart.data.datasets;
  train.data = curves.train;
  val.data = curves.val;
  batch.data = curves.batch;
  best.data = curves.best;
}

function datasets(kind: Kind, theme: ChartTheme): ChartDataset<'line', XY[]>[] {
  if (kind === 'lr') {
    return [
      line('lr', theme.lr, { pointRadius: 1.5 }),
      line('lr (pre-trained layers)', theme.lrBase, { pointRadius: 1.5, borderDash: [5, 3] }),
      line('lr per batch', withAlpha(theme.lr, 0.7), { pointRadius: 0, borderWidth: 1.5 }),
    ];
  }
  const name = kind === 'loss' ? 'loss' : 'accuracy';
  return [
    line(`train ${name}`, theme.train),
    line(`val ${name}`, theme.val, {
      // Indices are fixed (CURVE_DATASETS): '-1' is the train curve.
      fill:
        kind === 'loss'
          ? { target: '-1', above: withAlpha(theme.val, 0.22), below: withAlpha(theme.train, 0.1) }
          : false,
    }),
    line(`batch ${name} (smoothed)`, withAlpha(theme.train, 0.75), {
      pointRadius: 0,
      borderWidth: 1.5,
      borderDash: [4, 3],
    }),
    line('best epoch', theme.best, {
      showLine: false,
      pointRadius: 6,
      pointHoverRadius: 7,
      pointBorderWidth: 2,
      pointBackgroundColor: withAlpha(theme.best, 0.25),
    }),
  ];
}

function line(label: string, color: string, extra: Partial<ChartDataset<'line', XY[]>> = {}) {
  return {
    label,
    data: [],
    borderColor: color,
    backgroundColor: color,
    pointBorderColor: color,
    borderWidth: 2,
    pointRadius: 2.5,
    pointHoverRadius: 4,
    fill: false,
    tension: 0,
    ...extra,
  } as ChartDataset<'line', XY[]>;
}

function options(kind: Kind, theme: ChartTheme): ChartOptions<'line'> {
  const grid = { color: withAlpha(theme.grid, 0.6), tickColor: withAlpha(theme.grid, 0.6) };
  const formatY =
    kind === 'loss'
      ? (v: number) => formatLoss(v)
      : kind === 'accuracy'
        ? (v: number) => formatPercent(v, 0)
        : (v: number) => formatLearningRate(v);
  // Loss ticks are round numbers: no trailing zeros ("0.8", not "0.8000").
  const formatTick = kind === 'loss' ? (v: number) => String(Number(v.toPrecision(4))) : formatY;
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    parsing: { xAxisKey: 'x', yAxisKey: 'y' },
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    color: theme.foreground,
    scales: {
      x: {
        type: 'linear',
        grid,
        ticks: { color: theme.muted, precision: 0 },
        title: { display: kind !== 'lr', text: 'epoch', color: theme.muted },
      },
      y: {
        type: 'linear',
        grid,
        grace: kind === 'lr' ? 0 : '5%',
        ticks: {
          color: theme.muted,
          maxTicksLimit: kind === 'lr' ? 5 : 8,
          callback: (v) => formatTick(Number(v)),
        },
        title: { display: true, text: kind === 'lr' ? 'learning rate' : kind, color: theme.muted },
      },
    },
    plugins: {
      legend: {
        position: 'top',
        align: 'end',
        labels: {
          color: theme.foreground,
          boxWidth: 12,
          boxHeight: 2,
          // Curves without points (no batch in progress, no lr_base) stay out of the legend.
          filter: (item, data) => (data.datasets[item.datasetIndex ?? 0]?.data.length ?? 0) > 0,
        },
      },
      tooltip: {
        callbacks: {
          title: (items: TooltipItem<'line'>[]) =>
            epochTitle(items[0]?.parsed.x ?? Number.NaN, kind === 'lr'),
          label: (item: TooltipItem<'line'>) =>
            `${item.dataset.label}: ${formatY(item.parsed.y ?? Number.NaN)}`,
        },
      },
      epochMarkers: {
        bestColor: theme.best,
        overfitColor: withAlpha(theme.overfit, 0.08),
        overfitLabelColor: theme.overfit,
        labels: kind !== 'lr',
      },
    },
  };
}

/**
 * Tooltip title: whole epochs are epoch ends; fractional ones are batches of the epoch in progress, or on
 * the learning-rate chart the point of an epoch where a per-batch schedule set the rate.
 */
function epochTitle(x: number, learningRate = false): string {
  if (!Number.isFinite(x)) return '';
  if (learningRate && x === 0) return 'Start of epoch 1';
  if (Number.isInteger(x)) return `Epoch ${x}`;
  const epoch = Math.floor(x) + 1;
  return learningRate
    ? `Epoch ${epoch}, ${Math.round((x - Math.floor(x)) * 100)} % through`
    : `Epoch ${epoch} (in progress)`;
}
