/**
 * One colour (and, past the palette's length, a dash pattern) per run, the same in the curves, the
 * legend, the table and the freeze diff. VS Code's chart colours (theme-aware) come first, then fixed
 * hues that stay apart from them in light and dark themes.
 */
import { withAlpha } from '../shared/theme';

const THEME_COLORS: [string, string][] = [
  ['--vscode-charts-blue', '#1a85ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#388a34'],
  ['--vscode-charts-red', '#e51400'],
  ['--vscode-charts-purple', '#652d90'],
];
/** Yellow comes late: next to orange it is hard to tell apart. */
const EXTRA_COLORS = ['#00a3a3', '#d44fa0', '#8c6d3f', '#7f7f7f'];
const LATE_THEME_COLOR: [string, string] = ['--vscode-charts-yellow', '#bf8803'];
const DASHES: number[][] = [[], [6, 3], [2, 2], [8, 3, 2, 3]];

export interface RunStyle {
  color: string;
  dash: number[];
}

export function runPalette(): string[] {
  const style = getComputedStyle(document.body);
  const theme = ([variable, fallback]: [string, string]): string =>
    style.getPropertyValue(variable).trim() || fallback;
  return [...THEME_COLORS.map(theme), ...EXTRA_COLORS, theme(LATE_THEME_COLOR)];
}

export function runStyle(palette: readonly string[], index: number): RunStyle {
  return {
    color: palette[index % palette.length],
    dash: DASHES[Math.floor(index / palette.length) % DASHES.length],
  };
}

/** A small swatch element showing the run's colour and dash (for legend, table and freeze headers). */
export function swatch(style: RunStyle): HTMLElement {
  const el = document.createElement('span');
  el.className = 'swatch';
  el.setAttribute('aria-hidden', 'true');
  el.style.setProperty('--run-color', style.color);
  if (style.dash.length > 0) el.classList.add('swatch-dashed');
  return el;
}

/**
 * A colour with an opacity, for the canvas. withAlpha resolves colours through getComputedStyle, which
 * forces a style recalculation; with up to 100 datasets per chart update that dominated re-renders, so
 * results are kept (a theme change brings new colour strings, old entries are simply unused).
 */
const alphaCache = new Map<string, string>();
export function alpha(color: string, opacity: number): string {
  const key = `${color}|${opacity}`;
  let value = alphaCache.get(key);
  if (value === undefined) {
    value = withAlpha(color, opacity);
    alphaCache.set(key, value);
  }
  return value;
}
