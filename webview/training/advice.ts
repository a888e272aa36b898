/**
 * Advice from the curves (issue 7): what the host's rules read in the run — the finding, the numbers
 * behind it, and suggestions as buttons that change the experiment file (for the next run; this run keeps
 * its settings). The host re-checks a click against the advice it computed before it edits anything.
 * Texts from the host go into the page as text only. Rebuilt only when the advice or what was applied
 * changes, not on every batch redraw.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { Advice } from '../../src/protocol/advice';
import { adviceKey } from './state';
import { el } from '../shared/dom';

export interface AdviceView {
  element: HTMLElement;
  update(advice: Advice[] | undefined, applied: readonly string[]): void;
}

export function createAdviceView(
  onApply: (adviceId: string, index: number, key: string) => void,
): AdviceView {
  const element = el('section', 'card advice-card');
  element.id = 'advice';
  element.setAttribute('aria-label', 'Advice');
  const head = element.appendChild(el('div', 'card-head'));
  head.appendChild(el('h2', 'card-title')).textContent = 'Advice';
  head.appendChild(el('span', 'card-subtitle')).textContent =
    'Read from the curves. A suggestion changes the experiment file for the next run (undo in its editor).';
  const list = element.appendChild(el('div', 'advice-list'));
  let shown: string | undefined;

  return {
    element,
    update(advice, applied) {
      const key = JSON.stringify([advice ?? [], applied]);
      if (key === shown) return;
      shown = key;
      element.hidden = !advice || advice.length === 0;
      list.replaceChildren(...(advice ?? []).map((a) => item(a, applied, onApply)));
    },
  };
}

function item(
  advice: Advice,
  applied: readonly string[],
  onApply: (adviceId: string, index: number, key: string) => void,
): HTMLElement {
  const root = el('article', `advice advice-${advice.severity === 'warning' ? 'warning' : 'info'}`);
  root.dataset.adviceId = advice.id;
  const icon = root.appendChild(
    el('span', `codicon ${advice.severity === 'warning' ? 'codicon-warning' : 'codicon-lightbulb'}`),
  );
  icon.setAttribute('aria-hidden', 'true');
  const body = root.appendChild(el('div', 'advice-body'));
  body.appendChild(el('strong', 'advice-title')).textContent = advice.title;
  body.appendChild(el('p', 'advice-evidence')).textContent = advice.evidence;
  const actions = body.appendChild(el('div', 'advice-actions'));
  advice.suggestions.forEach((suggestion, index) => {
    if (!suggestion.action) {
      const tip = actions.appendChild(el('span', 'advice-tip'));
      tip.appendChild(el('span', 'codicon codicon-info')).setAttribute('aria-hidden', 'true');
      tip.appendChild(document.createElement('span')).textContent = suggestion.label;
      return;
    }
    const key = adviceKey(advice.id, index, suggestion.label);
    const done = applied.includes(key);
    const button = actions.appendChild(document.createElement('vscode-button'));
    button.className = 'advice-apply';
    button.secondary = true;
    button.dataset.index = String(index);
    button.disabled = done;
    button.title = done
      ? 'Applied to the experiment file'
      : 'Change the experiment file accordingly (for the next run)';
    const glyph = button.appendChild(el('span', `codicon ${done ? 'codicon-check' : 'codicon-wand'}`));
    glyph.setAttribute('aria-hidden', 'true');
    button.appendChild(document.createTextNode(suggestion.label));
    button.addEventListener('click', () => {
      if (button.disabled) return;
      onApply(advice.id, index, key);
    });
  });
  return root;
}
