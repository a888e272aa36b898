/**
 * Resolves the experiment's freeze settings into one state per leaf layer:
 * default trainable → `freezeUpTo` freezes that layer and everything before it (execution order) →
 * `layers` entries for a nested model apply to its whole block → `layers` entries for a leaf win.
 * Unknown names are errors that list the names that exist.
 */
import type { LayerState } from '../../protocol/experimentConfig';
import { UserError } from '../userError';

export interface LeafInfo {
  path: string;
  /** Paths of the nested models holding it, outermost first. */
  parents: string[];
}

/** Up to three known paths closest to `name` (by edit distance), for "did you mean" hints. */
export function closestNames(name: string, known: string[], limit = 3): string[] {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const tmp = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = tmp;
      }
    }
    return row[b.length];
  };
  const base = (p: string): string => p.split('/').pop() ?? p;
  return known
    .map((k) => ({ k, d: Math.min(distance(name, k), distance(base(name), base(k)) + 0.5) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, limit)
    .map((x) => x.k);
}

export function unknownLayerError(name: string, where: string, known: string[], file?: string): UserError {
  const hints = closestNames(name, known);
  return new UserError(
    `Unknown layer "${name}" in ${where}: the base model has no layer with that path. ` +
      `Did you mean ${hints.map((h) => `"${h}"`).join(', ')}? (Nested layers are named by path, e.g. "outer/inner/conv1"; \`finetune layers <model.json>\` lists them.)`,
    file,
  );
}

export function resolveLayerStates(
  leaves: LeafInfo[],
  containerPaths: string[],
  freezeUpTo: string | undefined,
  layers: Record<string, LayerState>,
  file?: string,
): Map<string, LayerState> {
  const known = [...containerPaths, ...leaves.map((l) => l.path)];
  const states = new Map<string, LayerState>(leaves.map((l) => [l.path, 'trainable']));
  if (freezeUpTo !== undefined) {
    let last = leaves.findIndex((l) => l.path === freezeUpTo);
    if (last < 0 && containerPaths.includes(freezeUpTo)) {
      leaves.forEach((l, i) => {
        if (l.parents.includes(freezeUpTo)) last = i;
      });
    }
    if (last < 0) throw unknownLayerError(freezeUpTo, '"freezeUpTo"', known, file);
    for (let i = 0; i <= last; i++) states.set(leaves[i].path, 'frozen');
  }
  for (const [name, state] of Object.entries(layers)) {
    if (!known.includes(name)) throw unknownLayerError(name, `"layers"`, known, file);
    if (containerPaths.includes(name)) {
      for (const leaf of leaves)
        if (leaf.parents.includes(name) && !(leaf.path in layers)) states.set(leaf.path, state);
    }
  }
  for (const [name, state] of Object.entries(layers)) if (states.has(name)) states.set(name, state);
  return states;
}
