/**
 * The embedding map: the features at the cut projected to 2-D (PCA), one point per image, coloured by
 * label (one chart.js dataset per class, so the legend names the classes). Images the out-of-sample
 * models classify as another class are drawn as crosses, flagged ones (label issues, duplicates) larger
 * with a ring. A click on a point selects its image.
 */
import {
  Chart,
  Legend,
  LinearScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import type { EmbeddingMap, EmbeddingPoint } from '../../../src/protocol/dataInsight';
import { withAlpha } from '../../shared/theme';

Chart.register(ScatterController, PointElement, LinearScale, Legend, Tooltip);

interface MapPoint {
  x: number;
  y: number;
  point: EmbeddingPoint;
}

export type EmbeddingChart = Chart<'scatter', MapPoint[]>;

const FALLBACK_COLORS: [string, string][] = [
  ['--vscode-charts-blue', '#1a85ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#388a34'],
  ['--vscode-charts-red', '#e51400'],
  ['--vscode-charts-purple', '#652d90'],
  ['--vscode-charts-yellow', '#bf8803'],
];
const EXTRA_COLORS = ['#00a3a3', '#d44fa0', '#8c6d3f', '#7f7f7f', '#5a5aff', '#2e8b57'];

function classColors(count: number): string[] {
  const style = getComputedStyle(document.body);
  const theme = FALLBACK_COLORS.map(([v, f]) => style.getPropertyValue(v).trim() || f);
  const all = [...theme, ...EXTRA_COLORS];
  return Array.from({ length: count }, (_, i) => all[i % all.length]);
}

export function createEmbeddingChart(
  canvas: HTMLCanvasElement,
  onPoint: (point: EmbeddingPoint) => void,
): EmbeddingChart {
  const chart: EmbeddingChart = new Chart(canvas, {
    type: 'scatter',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'PC 1' } },
        y: { type: 'linear', title: { display: true, text: 'PC 2' } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (item) => {
              const p = (item.raw as MapPoint).point;
              return `${p.file}${p.flagged ? ' (flagged)' : ''}`;
            },
          },
        },
      },
      // `elements`: the points under the click (interaction mode: nearest, intersecting).
      onClick: (_event, elements) => {
        const hit = elements[0];
        if (!hit) return;
        const raw = chart.data.datasets[hit.datasetIndex].data[hit.index];
        if (raw) onPoint(raw.point);
      },
    },
  });
  return chart;
}

/** Replaces the chart's points (one dataset per class). */
export function updateEmbeddingChart(
  chart: EmbeddingChart,
  map: EmbeddingMap,
  classNames: string[],
  hidden: ReadonlySet<string>,
  selected: string | undefined,
): void {
  const colors = classColors(classNames.length);
  const datasets: ChartDataset<'scatter', MapPoint[]>[] = classNames.map((name, k) => {
    const points = map.points.filter((p) => p.label === k && !hidden.has(p.file));
    const color = colors[k];
    return {
      label: name,
      data: points.map((point) => ({ x: point.x, y: point.y, point })),
      backgroundColor: withAlpha(color, 0.55),
      borderColor: color,
      pointStyle: points.map((p) => (p.predicted !== p.label ? 'crossRot' : 'circle')),
      pointRadius: points.map((p) =>
        p.file === selected ? 8 : p.flagged ? 5 : p.predicted !== p.label ? 4 : 2.5,
      ),
      pointBorderWidth: points.map((p) =>
        p.file === selected ? 3 : p.flagged || p.predicted !== p.label ? 2 : 0.5,
      ),
      pointHoverRadius: 7,
    };
  });
  chart.data.datasets = datasets;
  chart.update('none');
}
