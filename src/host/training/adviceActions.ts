/**
 * Applying a suggestion of the advice (issue 7): the webview names an advice and a suggestion index, and
 * only an action the host itself computed for this run can be applied — a webview message never carries
 * a path or a value to write. Then the change is said in words ("head.dropout 0.2 → 0.4"), from the file
 * as it was before. Pure (no vscode): unit-tested in Node.
 */
import type { Advice, AdviceAction } from '../../protocol/advice';
import { DEFAULTS } from '../../protocol/experimentConfig';
import type { LayerEdit } from '../../protocol/webviewMessages';

/** The action of suggestion `index` of advice `adviceId`, when both exist and the suggestion has one. */
export function findAdviceAction(
  advice: readonly Advice[],
  adviceId: string,
  index: number,
): { advice: Advice; label: string; action: AdviceAction } | undefined {
  const found = advice.find((a) => a.id === adviceId);
  const suggestion = found?.suggestions[index];
  if (!found || !suggestion?.action) return undefined;
  return { advice: found, label: suggestion.label, action: suggestion.action };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function valueAt(document: unknown, path: readonly (string | number)[]): unknown {
  let node = document;
  for (const key of path) {
    if (typeof key === 'number') node = Array.isArray(node) ? node[key] : undefined;
    else node = isObject(node) ? node[key] : undefined;
  }
  return node;
}

const show = (value: unknown): string =>
  value === undefined ? 'unset' : value === false ? 'off' : JSON.stringify(value);

/**
 * What the action changes in a document (the file's JSON before the change), one "key old → new" per
 * value that changes, old values as they applied (the file's, else the default); an object value lists
 * only the keys that change.
 */
export function describeAdviceAction(action: AdviceAction, document: unknown): string {
  if (action.kind === 'layerEdit') return describeLayerEdit(action.edit);
  const key = action.path.join('.');
  const inFile = valueAt(document, action.path);
  const fallback = valueAt(DEFAULTS, action.path);
  if (isObject(action.value)) {
    if (inFile === false) {
      const settings = Object.entries(action.value).map(([k, v]) => `${k} ${show(v)}`);
      return `${key} off → on (${settings.join(', ')})`;
    }
    const old = { ...(isObject(fallback) ? fallback : {}), ...(isObject(inFile) ? inFile : {}) };
    const changes = Object.entries(action.value)
      .filter(([k, v]) => JSON.stringify(old[k]) !== JSON.stringify(v))
      .map(([k, v]) => `${key}.${k} ${show(old[k])} → ${show(v)}`);
    return changes.length > 0 ? changes.join(', ') : `${key} already as suggested`;
  }
  return `${key} ${show(inFile ?? fallback)} → ${show(action.value)}`;
}

function describeLayerEdit(edit: LayerEdit): string {
  switch (edit.kind) {
    case 'freezeUpTo':
      return `froze every layer up to ${edit.path}`;
    case 'unfreezeAll':
      return 'unfroze every layer';
    case 'unfreezeFrom':
      return `unfroze ${edit.path} and every layer after it`;
    case 'setFrozen':
      return `${edit.frozen ? 'froze' : 'unfroze'} ${edit.path}`;
    case 'setReinit':
      return `${edit.reinit ? 're-initialises' : 'keeps the pre-trained weights of'} ${edit.path}`;
    case 'setCut':
      return `moved the head cut to ${edit.path}`;
  }
}
