/**
 * Chart colours from VS Code's theme variables. Canvas drawing cannot use `var(--…)`, so the values are
 * read from the computed style (and re-read when VS Code switches theme, which rewrites the body's class
 * and style). The fallbacks are VS Code's light-theme values, for plain Chromium in tests.
 */
export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  train: string;
  val: string;
  best: string;
  overfit: string;
  lr: string;
  lrBase: string;
}

const FALLBACK: Record<keyof ChartTheme, [string, string]> = {
  foreground: ['--vscode-foreground', '#3b3b3b'],
  muted: ['--vscode-descriptionForeground', '#717171'],
  grid: ['--vscode-editorWidget-border', '#c8c8c8'],
  background: ['--vscode-editor-background', '#ffffff'],
  train: ['--vscode-charts-blue', '#1a85ff'],
  val: ['--vscode-charts-orange', '#d18616'],
  best: ['--vscode-charts-green', '#388a34'],
  overfit: ['--vscode-charts-red', '#e51400'],
  lr: ['--vscode-charts-purple', '#652d90'],
  lrBase: ['--vscode-charts-yellow', '#bf8803'],
};

export function readChartTheme(): ChartTheme {
  const style = getComputedStyle(document.body);
  const theme = {} as ChartTheme;
  for (const key of Object.keys(FALLBACK) as (keyof ChartTheme)[]) {
    const [variable, fallback] = FALLBACK[key];
    theme[key] = style.getPropertyValue(variable).trim() || fallback;
  }
  return theme;
}

let probe: HTMLElement | undefined;

/** Any CSS colour (hex, rgb(), named) with the given opacity, as `rgba(…)` for the canvas. */
export function withAlpha(color: string, alpha: number): string {
  probe ??= document.body.appendChild(Object.assign(document.createElement('span'), { hidden: true }));
  probe.style.color = '';
  probe.style.color = color;
  const computed = getComputedStyle(probe).color;
  const channels = computed.startsWith('rgb') ? computed.match(/[\d.]+/g) : null;
  if (!channels || channels.length < 3) return color;
  const [r, g, b] = channels;
  const a = channels.length >= 4 ? Number(channels[3]) * alpha : alpha;
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}

/** Calls `onChange` when VS Code switches theme (body class / inline variables change). */
export function watchTheme(onChange: () => void): void {
  new MutationObserver(onChange).observe(document.body, {
    attributes: true,
    attributeFilter: ['class', 'style', 'data-vscode-theme-kind'],
  });
}
