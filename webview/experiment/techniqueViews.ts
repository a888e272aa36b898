/**
 * The Techniques section's own controls: the learning-rate curve (an inline SVG, no chart library in this
 * bundle), the gradual-unfreezing switch and plan, and the discriminative-LR mode with the multipliers it
 * gives. Layer paths come from the model file: they go into the page as text only.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { DEFAULT_GRADUAL_UNFREEZING } from '../../src/protocol/experimentConfig';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import { textEl } from '../shared/escape';
import { valueAt, type JsonPath } from './fieldRules';
import type { Control, PostValue } from './settingsForm';
import { gradualUnfreezingOn, lrModeOf } from './settingsSpec';
import {
  formatRate,
  lrCurve,
  multiplierRows,
  techniqueSettings,
  unfreezePlan,
  type LrCurve,
} from './techniqueModel';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  className?: string,
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (className) element.setAttribute('class', className);
  return element;
}

const W = 360;
const H = 132;
const PLOT = { left: 46, right: 10, top: 10, bottom: 24 };

function drawCurve(curve: LrCurve): SVGSVGElement {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' }, 'lr-curve-svg');
  root.setAttribute('aria-label', `Learning rate over ${curve.epochs} epochs. ${curve.summary}`);
  const width = W - PLOT.left - PLOT.right;
  const height = H - PLOT.top - PLOT.bottom;
  const top = curve.maxLr > 0 ? curve.maxLr : 1;
  const sx = (x: number): number => PLOT.left + (x / Math.max(1, curve.epochs)) * width;
  const sy = (y: number): number => PLOT.top + height - (y / top) * height;
  const base = PLOT.top + height;
  for (const y of [0, 0.5, 1]) {
    root.append(
      svg('line', { x1: PLOT.left, x2: W - PLOT.right, y1: sy(top * y), y2: sy(top * y) }, 'lr-grid'),
    );
  }
  const line = curve.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  if (curve.points.length > 0) {
    const first = curve.points[0];
    const last = curve.points[curve.points.length - 1];
    root.append(
      svg(
        'polygon',
        { points: `${sx(first.x).toFixed(1)},${base} ${line} ${sx(last.x).toFixed(1)},${base}` },
        'lr-area',
      ),
      svg('polyline', { points: line }, 'lr-line'),
    );
  }
  const label = (x: number, y: number, text: string, anchor: string): void => {
    const t = svg('text', { x, y, 'text-anchor': anchor }, 'lr-label');
    t.textContent = text;
    root.append(t);
  };
  label(PLOT.left - 5, sy(top) + 3, formatRate(curve.maxLr), 'end');
  label(PLOT.left - 5, base + 3, '0', 'end');
  label(sx(0), H - 8, '0', 'start');
  if (curve.epochs >= 4)
    label(sx(Math.round(curve.epochs / 2)), H - 8, String(Math.round(curve.epochs / 2)), 'middle');
  label(sx(curve.epochs), H - 8, `${curve.epochs} epoch${curve.epochs === 1 ? '' : 's'}`, 'end');
  return root;
}

/** The learning-rate curve the schedule gives the run. */
export function lrCurveControl(): Control {
  const element = document.createElement('div');
  element.className = 'lr-curve';
  return {
    element,
    apply(state) {
      const curve = lrCurve(techniqueSettings(state));
      element.replaceChildren(drawCurve(curve), textEl('div', curve.summary, 'lr-curve-summary muted'));
    },
  };
}

function icon(name: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = `codicon codicon-${name}`;
  span.setAttribute('aria-hidden', 'true');
  return span;
}

const MAX_CHIPS = 6;

function layerChips(paths: string[]): HTMLElement {
  const chips = document.createElement('span');
  chips.className = 'layer-chips';
  for (const path of paths.slice(0, MAX_CHIPS)) chips.append(textEl('code', path, 'layer-chip'));
  if (paths.length > MAX_CHIPS) {
    const more = textEl('span', `+${paths.length - MAX_CHIPS} more`, 'muted');
    more.title = paths.slice(MAX_CHIPS).join('\n');
    chips.append(more);
  }
  return chips;
}

function planStep(when: string, what: Node[], className = ''): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `plan-step ${className}`.trim();
  const body = document.createElement('span');
  body.className = 'plan-what';
  body.append(...what);
  li.append(textEl('span', when, 'plan-epoch'), body);
  return li;
}

function note(text: string, kind: 'info' | 'warning'): HTMLElement {
  const div = document.createElement('div');
  div.className = `plan-note ${kind}`;
  div.append(icon(kind), textEl('span', text));
  return div;
}

/** Which blocks unfreeze at which epoch, as a short timeline. */
export function unfreezePlanControl(): Control {
  const element = document.createElement('div');
  element.className = 'unfreeze-plan';
  return {
    element,
    apply(state) {
      const plan = unfreezePlan(state, techniqueSettings(state));
      if (plan.kind === 'noLayers') {
        element.replaceChildren(
          note('The plan appears once the base model’s layers have been read.', 'info'),
        );
        return;
      }
      if (plan.kind === 'nothingTrainable') {
        element.replaceChildren(
          note(
            'No pre-trained layer is trainable, so there is nothing to unfreeze: uncheck layers in the tree. Gradual unfreezing only unfreezes layers this file leaves trainable.',
            'warning',
          ),
        );
        return;
      }
      const { timeline, epochs } = plan;
      const list = document.createElement('ol');
      list.className = 'plan-steps';
      const waiting = timeline.blocks.length;
      if (timeline.headOnlyEpochs > 0) {
        const when = timeline.headOnlyEpochs === 1 ? 'Epoch 1' : `Epochs 1–${timeline.headOnlyEpochs}`;
        list.append(
          planStep(
            when,
            [
              document.createTextNode(
                `New head only (${waiting} pre-trained block${waiting === 1 ? '' : 's'} wait)`,
              ),
            ],
            'head',
          ),
        );
      }
      for (const step of timeline.steps) {
        list.append(
          planStep(`Epoch ${step.epoch}`, [
            textEl('span', '+', 'plan-plus'),
            layerChips(step.block),
            textEl('span', `block ${step.index} of ${waiting}`, 'muted'),
          ]),
        );
      }
      const parts: Node[] = [list];
      if (timeline.neverUnfrozen.length > 0) {
        const layers = timeline.neverUnfrozen.flat();
        parts.push(
          note(
            `${timeline.neverUnfrozen.length} block${timeline.neverUnfrozen.length === 1 ? '' : 's'} (${layers.slice(0, 3).join(', ')}${layers.length > 3 ? ', …' : ''}) never unfreeze within ${epochs} epochs: raise Epochs or lower Head-Only Epochs / Unfreeze Every.`,
            'warning',
          ),
        );
      }
      if (plan.unmatched.length > 0) {
        parts.push(
          note(
            `No trainable layer matches ${plan.unmatched.map((b) => `"${b}"`).join(', ')}: those blocks are skipped.`,
            'warning',
          ),
        );
      }
      if (timeline.blocks.length === 0)
        parts.push(note('No block to unfreeze: only the head trains.', 'warning'));
      element.replaceChildren(...parts);
    },
  };
}

/** On writes the default settings object (so they are visible in the file); off removes the key. */
export function gradualUnfreezingControl(path: JsonPath, id: string, post: PostValue): Control {
  const box = document.createElement('vscode-checkbox');
  box.id = id;
  box.dataset.focusKey = `field:${path.join('.')}`;
  box.append('Train the new head first, then unfreeze pre-trained blocks from the top');
  box.addEventListener('change', () =>
    post(path, box.checked ? { ...DEFAULT_GRADUAL_UNFREEZING } : undefined),
  );
  return {
    element: box,
    apply(state) {
      box.checked = gradualUnfreezingOn(state);
    },
  };
}

const LR_MODES: { value: string; label: string }[] = [
  { value: 'single', label: 'single — one multiplier for every pre-trained layer' },
  { value: 'geometric', label: 'geometric — lower layers learn slower (fastai slice)' },
  { value: 'groups', label: 'groups — multipliers per layer group (in the file)' },
];

/** The mode select, and the multiplier each trainable block gets with it. */
export function lrModeControl(path: JsonPath, id: string, post: PostValue): Control {
  const element = document.createElement('div');
  element.className = 'lr-mode';
  const select = document.createElement('vscode-single-select');
  select.id = id;
  select.dataset.focusKey = `field:${path.join('.')}`;
  for (const mode of LR_MODES) {
    const option = document.createElement('vscode-option');
    option.value = mode.value;
    option.textContent = mode.label;
    select.append(option);
  }
  const details = document.createElement('div');
  details.className = 'multipliers';
  element.append(select, details);
  let state: ExperimentPanelState | undefined;
  select.addEventListener('change', () => {
    if (!state || select.value === lrModeOf(state)) return;
    const inFile = valueAt(state.document, path) as Record<string, unknown> | undefined;
    if (select.value === 'single') post(path, undefined);
    else if (select.value === 'geometric') {
      const lowest = typeof inFile?.lowestMultiplier === 'number' ? inFile.lowestMultiplier : undefined;
      // fastai's fine_tune spreads the rates over two decades: the lowest block gets 1/100 of the top one.
      const top = techniqueSettings(state).fineTuneLearningRateMultiplier;
      post(path, {
        mode: 'geometric',
        lowestMultiplier: lowest ?? (top > 0 ? +(top / 100).toPrecision(2) : 0.001),
      });
    } else {
      post(path, { mode: 'groups', groups: Array.isArray(inFile?.groups) ? inFile.groups : [] });
    }
  });
  return {
    element,
    apply(next) {
      state = next;
      select.value = lrModeOf(next);
      const settings = techniqueSettings(next);
      const parts: Node[] = [];
      if (select.value === 'groups') {
        const groups = document.createElement('div');
        groups.className = 'plan-note info';
        groups.append(
          icon('info'),
          textEl('span', 'Groups are edited in the file: '),
          textEl('code', 'training.discriminativeLr.groups'),
          textEl(
            'span',
            ' lists { "layers": [paths], "multiplier": m }; other layers use the fine-tune multiplier.',
          ),
        );
        parts.push(groups);
      }
      const rows = next.layers ? multiplierRows(next, settings) : [];
      if (rows.length > 0) {
        const list = document.createElement('ul');
        list.className = 'multiplier-list';
        list.setAttribute('aria-label', 'Learning-rate multipliers, lowest layers first');
        for (const row of rows) {
          const li = document.createElement('li');
          li.append(textEl('span', `× ${formatRate(row.multiplier)}`, 'multiplier'), layerChips(row.layers));
          list.append(li);
        }
        parts.push(
          textEl('div', 'Trainable pre-trained layers (lowest first), relative to the head’s rate:', 'muted'),
          list,
        );
      }
      details.replaceChildren(...parts);
    },
  };
}
