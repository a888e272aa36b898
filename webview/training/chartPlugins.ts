/**
 * A chart.js plugin that marks epochs on the x axis: a dashed vertical line with a label at the best
 * epoch, and a tinted band from the first epoch the engine flagged as overfitting to the right edge.
 * Options live in `chart.options.plugins.epochMarkers`, so an update of the options moves the marks.
 */
import type { Chart, ChartType, Plugin } from 'chart.js';

export interface EpochMarkersOptions {
  bestEpoch?: number;
  bestColor: string;
  overfitFrom?: number;
  /** Fill of the band (already translucent). */
  overfitColor: string;
  /** Colour of the band's label. */
  overfitLabelColor: string;
  /** Show the text labels (off for the small learning-rate chart). */
  labels: boolean;
}

declare module 'chart.js' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the type parameter is chart.js's
  interface PluginOptionsByType<TType extends ChartType> {
    epochMarkers?: Partial<EpochMarkersOptions>;
  }
}

/** Canvas fonts cannot use CSS variables: take the family the page resolved for the canvas. */
const labelFont = (chart: Chart<ChartType>): string => `11px ${getComputedStyle(chart.canvas).fontFamily}`;

export const epochMarkersPlugin: Plugin<'line', Partial<EpochMarkersOptions>> = {
  id: 'epochMarkers',
  beforeDatasetsDraw(chart, _args, options) {
    if (options.overfitFrom === undefined || !options.overfitColor) return;
    // The flag at epoch N concerns the epochs that led up to it: the band starts half an epoch earlier,
    // which also keeps it visible when N is the last epoch drawn.
    const x = xPixel(chart, Math.max(options.overfitFrom - 0.5, chart.scales.x?.min ?? 0));
    if (x === undefined) return;
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.fillStyle = options.overfitColor;
    ctx.fillRect(x, chartArea.top, chartArea.right - x, chartArea.bottom - chartArea.top);
    if (options.labels) {
      const label = 'overfitting';
      ctx.fillStyle = options.overfitLabelColor ?? options.overfitColor;
      ctx.font = labelFont(chart);
      ctx.textBaseline = 'bottom';
      const fitsInside = x + 8 + ctx.measureText(label).width <= chartArea.right;
      ctx.textAlign = fitsInside ? 'left' : 'right';
      ctx.fillText(label, fitsInside ? x + 4 : chartArea.right - 4, chartArea.bottom - 4);
    }
    ctx.restore();
  },
  afterDatasetsDraw(chart, _args, options) {
    if (options.bestEpoch === undefined || !options.bestColor) return;
    const x = xPixel(chart, options.bestEpoch);
    if (x === undefined) return;
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.strokeStyle = options.bestColor;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(x, chartArea.top);
    ctx.lineTo(x, chartArea.bottom);
    ctx.stroke();
    if (options.labels) {
      const label = `best · epoch ${options.bestEpoch}`;
      ctx.font = labelFont(chart);
      ctx.fillStyle = options.bestColor;
      ctx.textBaseline = 'top';
      // Keep the label inside the plot: right of the line, or left of it near the right edge.
      const fitsRight = x + 4 + ctx.measureText(label).width <= chartArea.right;
      ctx.textAlign = fitsRight ? 'left' : 'right';
      ctx.fillText(label, fitsRight ? x + 4 : x - 4, chartArea.top + 3);
    }
    ctx.restore();
  },
};

/** The pixel of an epoch on the x axis, or undefined when it lies outside the plot. */
function xPixel(chart: Chart<ChartType>, epoch: number): number | undefined {
  const scale = chart.scales.x;
  if (!scale) return undefined;
  const x = scale.getPixelForValue(epoch);
  if (!Number.isFinite(x) || x < chart.chartArea.left - 0.5 || x > chart.chartArea.right + 0.5)
    return undefined;
  return x;
}
