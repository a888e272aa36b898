/**
 * A chart as a PNG file: the canvas on the theme's background (a canvas is transparent, which exports as
 * black or white depending on the viewer), with a title above and the run legend below — the legend is
 * HTML in the panel, so it would be missing otherwise.
 */
import type { RunStyle } from './palette';

export interface PngLegendEntry extends RunStyle {
  name: string;
}

export interface PngTheme {
  background: string;
  foreground: string;
  muted: string;
}

export function chartPng(
  canvas: HTMLCanvasElement,
  theme: PngTheme,
  title: string,
  legend: readonly PngLegendEntry[],
): string {
  const scale = canvas.width / Math.max(1, canvas.clientWidth || canvas.width);
  const font = getComputedStyle(canvas).fontFamily || 'sans-serif';
  const pad = 12 * scale;
  const titleHeight = 28 * scale;
  const rowHeight = 18 * scale;
  const measure = document.createElement('canvas').getContext('2d')!;
  measure.font = `${12 * scale}px ${font}`;
  const entryWidth = (entry: PngLegendEntry): number =>
    28 * scale + Math.min(measure.measureText(entry.name).width, 260 * scale) + 16 * scale;

  // Lay the legend out in rows that fit the chart's width.
  const rows: PngLegendEntry[][] = [];
  let width = 0;
  for (const entry of legend) {
    const w = entryWidth(entry);
    if (rows.length === 0 || width + w > canvas.width - 2 * pad) {
      rows.push([]);
      width = 0;
    }
    rows[rows.length - 1].push(entry);
    width += w;
  }
  const legendHeight = rows.length > 0 ? rows.length * rowHeight + pad : 0;

  const out = document.createElement('canvas');
  out.width = canvas.width;
  out.height = Math.round(titleHeight + canvas.height + legendHeight + pad);
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = theme.foreground;
  ctx.font = `600 ${13 * scale}px ${font}`;
  ctx.textBaseline = 'middle';
  ctx.fillText(title, pad, titleHeight / 2 + 4 * scale);
  ctx.drawImage(canvas, 0, titleHeight);

  ctx.font = `${12 * scale}px ${font}`;
  rows.forEach((row, r) => {
    let x = pad;
    const y = titleHeight + canvas.height + pad / 2 + r * rowHeight + rowHeight / 2;
    for (const entry of row) {
      ctx.strokeStyle = entry.color;
      ctx.lineWidth = 2.5 * scale;
      ctx.setLineDash(entry.dash.map((d) => d * scale));
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x + 20 * scale, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = theme.foreground;
      const maxText = 260 * scale;
      let name = entry.name;
      while (name.length > 1 && ctx.measureText(name).width > maxText) name = name.slice(0, -2) + '…';
      ctx.fillText(name, x + 26 * scale, y);
      x += entryWidth(entry);
    }
  });
  return out.toDataURL('image/png');
}

/** A file-name-safe version of a label, for suggested export names. */
export function fileSafe(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'chart'
  );
}
