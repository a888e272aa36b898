/**
 * Parallel coordinates, drawn on a canvas: one vertical axis per differing numeric parameter (and the
 * number of frozen layers), the chosen outcome last; one line per shown run, coloured from worst
 * (orange) to best (blue) by that outcome, so "which settings lead to the good runs" reads at a glance.
 * Hovering a line highlights it and names the run (tooltip via textContent).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { ChartTheme } from '../shared/theme';
import { OUTCOMES, type CompareUi, type OutcomeKey, type PageState } from './model';
import { axisPosition, goodness, parallelAxes, type ParallelAxis } from './parallelModel';
import { alpha } from './palette';
import { chartPng, fileSafe } from './png';
import { el } from '../shared/dom';

export interface ParallelView {
  element: HTMLElement;
  canvas: HTMLCanvasElement;
  update(page: PageState, theme: ChartTheme): void;
  png(): { dataUrl: string; name: string };
  /** Test hook: the axes and the pixel polylines last drawn, one per drawn run (by run folder). */
  drawn(): { axes: string[]; lines: { dir: string; points: ({ x: number; y: number } | null)[] }[] };
}

const HEIGHT = 300;
const MARGIN = { top: 52, bottom: 30, left: 60, right: 72 };

export function createParallel(handlers: {
  onUi(change: Partial<CompareUi>): void;
  onPng(): void;
}): ParallelView {
  const element = el('section', 'card parallel-card');
  element.id = 'parallel';
  const head = element.appendChild(el('div', 'card-head'));
  head.appendChild(el('h2', 'card-title')).textContent = 'Parameters vs. outcome';
  const subtitle = head.appendChild(el('span', 'card-subtitle'));
  const controls = head.appendChild(el('div', 'controls'));
  const label = controls.appendChild(el('label', 'control'));
  label.appendChild(el('span', 'control-label')).textContent = 'Outcome';
  const select = label.appendChild(document.createElement('vscode-single-select'));
  select.id = 'outcome-select';
  for (const o of OUTCOMES) {
    const option = select.appendChild(document.createElement('vscode-option'));
    option.value = o.key;
    option.textContent = o.label;
  }
  select.addEventListener('change', () => handlers.onUi({ outcome: select.value as OutcomeKey }));
  const png = controls.appendChild(document.createElement('vscode-button'));
  png.id = 'parallel-png';
  png.secondary = true;
  png.title = 'Save this chart as a PNG image';
  png.appendChild(el('span', 'codicon codicon-device-camera')).slot = 'content-before';
  png.appendChild(document.createTextNode('PNG'));
  png.addEventListener('click', () => handlers.onPng());

  const box = element.appendChild(el('div', 'parallel-box'));
  const canvas = box.appendChild(document.createElement('canvas'));
  canvas.id = 'parallel-canvas';
  canvas.setAttribute('role', 'img');
  const tooltip = box.appendChild(el('div', 'parallel-tooltip'));
  tooltip.hidden = true;
  const empty = box.appendChild(el('div', 'chart-empty'));
  const ramp = element.appendChild(el('div', 'ramp'));
  ramp.append(el('span', 'ramp-label'), el('span', 'ramp-bar'), el('span', 'ramp-label'));

  let state: { page: PageState; theme: ChartTheme } | undefined;
  let axes: ParallelAxis[] = [];
  let lines: { dir: string; index: number; points: ({ x: number; y: number } | null)[]; color: string }[] =
    [];
  let hovered: number | undefined;
  let boxWidth: number | undefined;

  const draw = (): void => {
    if (!state) return;
    const { page, theme } = state;
    const data = page.data;
    // The width comes from the ResizeObserver: reading clientWidth here would force a layout of the
    // whole page in the middle of a render.
    boxWidth ??= box.clientWidth;
    const width = Math.max(320, boxWidth);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(HEIGHT * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${HEIGHT}px`;
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    lines = [];
    const paramAxes = axes.filter((a) => a.kind !== 'outcome').length;
    empty.hidden = !!data && axes.length >= 2;
    empty.textContent =
      !data || data.runs.length === 0
        ? ''
        : paramAxes === 0
          ? 'No numeric parameter differs between these runs: nothing to set against the outcome.'
          : 'No run has a value for this outcome yet.';
    if (!data || axes.length < 2) return;

    const font = getComputedStyle(canvas).fontFamily || 'sans-serif';
    const plotTop = MARGIN.top;
    const plotBottom = HEIGHT - MARGIN.bottom;
    const step = (width - MARGIN.left - MARGIN.right) / (axes.length - 1);
    const xOf = (i: number): number => MARGIN.left + i * step;
    const yOf = (t: number): number => plotBottom - t * (plotBottom - plotTop);
    const outcomeAxis = axes[axes.length - 1].kind === 'outcome' ? axes[axes.length - 1] : undefined;
    const hidden = new Set(page.ui.hidden);

    // Lines first, axes on top.
    data.runs.forEach((run, r) => {
      if (hidden.has(run.dir)) return;
      const points = axes.map((a, i) => {
        const v = a.values[r];
        return v === null ? null : { x: xOf(i), y: yOf(axisPosition(a, v)) };
      });
      const outcomeValue = outcomeAxis?.values[r];
      const color =
        outcomeAxis && outcomeValue !== null && outcomeValue !== undefined
          ? mix(theme.val, theme.train, goodness(outcomeAxis, page.ui.outcome, outcomeValue))
          : theme.muted;
      lines.push({ dir: run.dir, index: r, points, color });
    });
    const order =
      hovered === undefined
        ? lines
        : [...lines.filter((l) => l.index !== hovered), ...lines.filter((l) => l.index === hovered)];
    for (const line of order) {
      const dim = hovered !== undefined && hovered !== line.index;
      ctx.strokeStyle = alpha(line.color, dim ? 0.15 : 0.85);
      ctx.lineWidth = hovered === line.index ? 3 : 1.75;
      ctx.setLineDash(line.color === theme.muted ? [4, 3] : []);
      ctx.beginPath();
      let open = false;
      for (const p of line.points) {
        if (!p) {
          open = false;
          continue;
        }
        if (open) ctx.lineTo(p.x, p.y);
        else ctx.moveTo(p.x, p.y);
        open = true;
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);

    axes.forEach((a, i) => {
      const x = xOf(i);
      ctx.strokeStyle = a.kind === 'outcome' ? theme.foreground : alpha(theme.muted, 0.8);
      ctx.lineWidth = a.kind === 'outcome' ? 2 : 1;
      ctx.beginPath();
      ctx.moveTo(x, plotTop);
      ctx.lineTo(x, plotBottom);
      ctx.stroke();
      // The outer labels hang into the margins; the inner ones are centred. Each gets the room up to
      // half-way to its neighbour's axis, so neighbouring labels never overlap.
      const first = i === 0;
      const last = i === axes.length - 1;
      ctx.textAlign = first ? 'left' : last ? 'right' : 'center';
      const anchor = first ? x - MARGIN.left + 8 : last ? x + MARGIN.right - 8 : x;
      const room = first ? MARGIN.left - 8 + step / 2 - 4 : last ? MARGIN.right - 8 + step / 2 - 4 : step - 8;
      ctx.fillStyle = theme.muted;
      ctx.font = `10px ${font}`;
      ctx.fillText(clip(ctx, a.group, room), anchor, 14);
      ctx.fillStyle = theme.foreground;
      ctx.font = `600 12px ${font}`;
      ctx.fillText(clip(ctx, a.label, room), anchor, 30);
      ctx.font = `11px ${font}`;
      ctx.fillStyle = theme.muted;
      ctx.textAlign = 'center';
      ctx.fillText(a.format(a.max), x, plotTop - 6);
      if (a.max !== a.min) ctx.fillText(a.format(a.min), x, plotBottom + 16);
      for (const tick of [0, 1]) {
        const y = yOf(tick);
        ctx.beginPath();
        ctx.moveTo(x - 3, y);
        ctx.lineTo(x + 3, y);
        ctx.stroke();
      }
    });
  };

  const hitTest = (mx: number, my: number): number | undefined => {
    let best: number | undefined;
    let bestDistance = 6;
    for (const line of lines) {
      for (let i = 1; i < line.points.length; i++) {
        const a = line.points[i - 1];
        const b = line.points[i];
        if (!a || !b) continue;
        const d = segmentDistance(mx, my, a, b);
        if (d < bestDistance) {
          bestDistance = d;
          best = line.index;
        }
      }
    }
    return best;
  };

  canvas.addEventListener('mousemove', (event) => {
    const rect = canvas.getBoundingClientRect();
    const index = hitTest(event.clientX - rect.left, event.clientY - rect.top);
    if (index !== hovered) {
      hovered = index;
      draw();
    }
    const run = index === undefined ? undefined : state?.page.data?.runs[index];
    tooltip.hidden = !run;
    if (run) {
      const outcome = axes[axes.length - 1];
      const value = outcome?.kind === 'outcome' ? outcome.values[index!] : null;
      tooltip.textContent = `${run.name}${value !== null && value !== undefined ? ` — ${outcome.label} ${outcome.format(value)}` : ''}`;
      tooltip.style.left = `${Math.min(event.clientX - rect.left + 12, rect.width - 220)}px`;
      tooltip.style.top = `${event.clientY - rect.top + 12}px`;
    }
  });
  canvas.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
    if (hovered !== undefined) {
      hovered = undefined;
      draw();
    }
  });
  new ResizeObserver((entries) => {
    const width = Math.round(entries[entries.length - 1].contentRect.width);
    if (width === boxWidth) return;
    boxWidth = width;
    draw();
  }).observe(box);

  return {
    element,
    canvas,
    update(page, theme) {
      state = { page, theme };
      select.value = page.ui.outcome;
      axes = page.data ? parallelAxes(page.data, page.ui.outcome) : [];
      const outcome = OUTCOMES.find((o) => o.key === page.ui.outcome)!;
      subtitle.textContent =
        axes.length >= 2
          ? `${axes.length - 1} differing parameter${axes.length === 2 ? '' : 's'} · colour: ${outcome.label}`
          : '';
      const [worse, bar, better] = [...ramp.children] as HTMLElement[];
      worse.textContent = `worse ${outcome.label}`;
      better.textContent = 'better';
      bar.style.background = `linear-gradient(to right, ${theme.val}, ${theme.train})`;
      ramp.hidden = axes.length < 2;
      canvas.setAttribute(
        'aria-label',
        `Parallel coordinates of ${axes.map((a) => a.key).join(', ')} for ${page.data?.runs.length ?? 0} runs`,
      );
      draw();
    },
    png() {
      const outcome = OUTCOMES.find((o) => o.key === state?.page.ui.outcome)?.label ?? 'outcome';
      const theme = state?.theme ?? { background: '#ffffff', foreground: '#000000', muted: '#777777' };
      return {
        dataUrl: chartPng(canvas, theme, `Parameters vs. ${outcome} (orange = worse, blue = better)`, []),
        name: `compare-parallel-${fileSafe(outcome)}.png`,
      };
    },
    drawn: () => ({
      axes: axes.map((a) => a.key),
      lines: lines.map((l) => ({ dir: l.dir, points: l.points })),
    }),
  };
}

function segmentDistance(px: number, py: number, a: { x: number; y: number }, b: { x: number; y: number }) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const length = dx * dx + dy * dy;
  const t = length === 0 ? 0 : Math.max(0, Math.min(1, ((px - a.x) * dx + (py - a.y) * dy) / length));
  return Math.hypot(px - (a.x + t * dx), py - (a.y + t * dy));
}

/** Mixes two CSS colours (anything the canvas accepts) through the canvas' own parser. */
function mix(from: string, to: string, t: number): string {
  const [r1, g1, b1] = rgb(from);
  const [r2, g2, b2] = rgb(to);
  const c = (a: number, b: number): number => Math.round(a + (b - a) * Math.max(0, Math.min(1, t)));
  return `rgb(${c(r1, r2)}, ${c(g1, g2)}, ${c(b1, b2)})`;
}

const rgbCache = new Map<string, [number, number, number]>();
function rgb(color: string): [number, number, number] {
  const cached = rgbCache.get(color);
  if (cached) return cached;
  const ctx = document.createElement('canvas').getContext('2d')!;
  ctx.fillStyle = color;
  const hex = ctx.fillStyle; // normalised to #rrggbb or rgba(…)
  const parts = hex.startsWith('#')
    ? [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
    : (hex.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map(Number);
  const value = parts as [number, number, number];
  rgbCache.set(color, value);
  return value;
}

function clip(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`…${t}`).width > max) t = t.slice(1);
  return `…${t}`;
}
