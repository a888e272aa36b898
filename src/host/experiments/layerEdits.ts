/**
 * Turns a layer edit (a checkbox click in the Layers view or the experiment panel, a context-menu action)
 * into the smallest change of the experiment file's `freezeUpTo` / `layers` / `head.cutAt` that gives every
 * leaf layer the state the user asked for. Pure text in, text edits out (jsonc-parser keeps comments and
 * formatting), so it is unit-tested without VS Code and the file stays the single source of truth.
 */
import { applyEdits, modify, parse, type Edit, type FormattingOptions } from 'jsonc-parser';
import type { LayerState } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import type { LayerEdit } from '../../protocol/webviewMessages';
import { resolveLayerStates, type LeafInfo } from '../../core/model/layerStates';

export interface LayerOrder {
  leaves: LeafInfo[];
  containers: string[];
}

/** Leaves (execution order) and nested models of a layer tree. */
export function layerOrder(tree: LayerNode[]): LayerOrder {
  const leaves: LeafInfo[] = [];
  const containers: string[] = [];
  const visit = (nodes: LayerNode[], parents: string[]): void => {
    for (const node of nodes) {
      if (node.children) {
        containers.push(node.path);
        visit(node.children, [...parents, node.path]);
      } else {
        leaves.push({ path: node.path, parents });
      }
    }
  };
  visit(tree, []);
  return { leaves, containers };
}

interface LayerSettings {
  freezeUpTo?: string;
  layers: Record<string, LayerState>;
}

function readSettings(text: string): LayerSettings & { cutAt?: string } {
  const doc = (parse(text, [], { allowTrailingComma: true }) ?? {}) as Record<string, unknown>;
  const layers =
    doc.layers && typeof doc.layers === 'object' && !Array.isArray(doc.layers)
      ? (doc.layers as Record<string, LayerState>)
      : {};
  const head = doc.head && typeof doc.head === 'object' ? (doc.head as { cutAt?: unknown }) : {};
  return {
    freezeUpTo: typeof doc.freezeUpTo === 'string' ? doc.freezeUpTo : undefined,
    layers,
    cutAt: typeof head.cutAt === 'string' ? head.cutAt : undefined,
  };
}

/** Current state of every leaf; names the file does not know are ignored rather than fatal here. */
export function currentStates(settings: LayerSettings, order: LayerOrder): Map<string, LayerState> {
  const known = new Set([...order.containers, ...order.leaves.map((l) => l.path)]);
  const layers = Object.fromEntries(Object.entries(settings.layers).filter(([k]) => known.has(k)));
  const freezeUpTo =
    settings.freezeUpTo !== undefined && known.has(settings.freezeUpTo) ? settings.freezeUpTo : undefined;
  return resolveLayerStates(order.leaves, order.containers, freezeUpTo, layers);
}

/** Index of the last leaf covered by a path (the leaf itself, or a nested model's last leaf). */
function lastLeafIndex(path: string, order: LayerOrder): number {
  let last = -1;
  order.leaves.forEach((leaf, i) => {
    if (leaf.path === path || leaf.parents.includes(path)) last = i;
  });
  return last;
}

function firstLeafIndex(path: string, order: LayerOrder): number {
  return order.leaves.findIndex((leaf) => leaf.path === path || leaf.parents.includes(path));
}

/**
 * The minimal `layers` map that, with `freezeUpTo`, yields `desired`: one entry per leaf that differs from
 * what freezeUpTo alone gives, merged into an entry for a nested model when its whole block agrees.
 */
export function encodeStates(
  desired: Map<string, LayerState>,
  freezeUpTo: string | undefined,
  order: LayerOrder,
): Record<string, LayerState> {
  const base = resolveLayerStates(order.leaves, order.containers, freezeUpTo, {});
  const layers: Record<string, LayerState> = {};
  const covered = new Set<string>();
  for (const container of order.containers) {
    // Outermost first (containers are listed before the ones they hold).
    const block = order.leaves.filter((l) => l.parents.includes(container));
    if (block.length === 0 || block.some((l) => covered.has(l.path))) continue;
    const state = desired.get(block[0].path)!;
    const uniform = block.every((l) => desired.get(l.path) === state);
    const needed = block.some((l) => base.get(l.path) !== state);
    if (uniform && needed && block.length > 1) {
      layers[container] = state;
      block.forEach((l) => covered.add(l.path));
    }
  }
  for (const leaf of order.leaves) {
    if (covered.has(leaf.path)) continue;
    const state = desired.get(leaf.path)!;
    if (state !== base.get(leaf.path)) layers[leaf.path] = state;
  }
  return layers;
}

export interface PlannedChange {
  freezeUpTo: string | undefined;
  layers: Record<string, LayerState>;
  cutAt?: string;
}

export function planLayerEdit(text: string, edit: LayerEdit, tree: LayerNode[]): PlannedChange {
  const order = layerOrder(tree);
  const settings = readSettings(text);
  const states = currentStates(settings, order);
  let freezeUpTo = settings.freezeUpTo;
  const desired = new Map(states);
  const inBlock = (path: string) => (leaf: LeafInfo) => leaf.path === path || leaf.parents.includes(path);

  switch (edit.kind) {
    case 'setFrozen':
      for (const leaf of order.leaves.filter(inBlock(edit.path))) {
        const now = desired.get(leaf.path);
        // Unfreezing a re-initialised layer keeps it re-initialised; freezing overrides it.
        if (edit.frozen) desired.set(leaf.path, 'frozen');
        else if (now === 'frozen') desired.set(leaf.path, 'trainable');
      }
      break;
    case 'freezeUpTo': {
      const last = lastLeafIndex(edit.path, order);
      freezeUpTo = edit.path;
      order.leaves.forEach((leaf, i) => {
        if (i <= last) desired.set(leaf.path, 'frozen');
        else if (desired.get(leaf.path) === 'frozen') desired.set(leaf.path, 'trainable');
      });
      break;
    }
    case 'unfreezeFrom': {
      const first = firstLeafIndex(edit.path, order);
      order.leaves.forEach((leaf, i) => {
        if (i >= first && desired.get(leaf.path) === 'frozen') desired.set(leaf.path, 'trainable');
      });
      if (freezeUpTo !== undefined && lastLeafIndex(freezeUpTo, order) >= first) {
        freezeUpTo = first > 0 ? order.leaves[first - 1].path : undefined;
      }
      break;
    }
    case 'setReinit':
      for (const leaf of order.leaves.filter(inBlock(edit.path))) {
        if (edit.reinit) desired.set(leaf.path, 'reinit');
        else if (desired.get(leaf.path) === 'reinit') {
          const base = resolveLayerStates(order.leaves, order.containers, freezeUpTo, {});
          desired.set(leaf.path, base.get(leaf.path)!);
        }
      }
      break;
    case 'setCut':
      return { freezeUpTo: settings.freezeUpTo, layers: settings.layers, cutAt: edit.path };
    case 'unfreezeAll':
      freezeUpTo = undefined;
      for (const [path, state] of desired) if (state === 'frozen') desired.set(path, 'trainable');
      break;
  }
  return { freezeUpTo, layers: encodeStates(desired, freezeUpTo, order) };
}

/** jsonc-parser edits that write a planned change into the file text (comments and layout kept). */
export function layerEditTextEdits(
  text: string,
  edit: LayerEdit,
  tree: LayerNode[],
  formatting: FormattingOptions,
): Edit[] {
  const plan = planLayerEdit(text, edit, tree);
  const options = { formattingOptions: formatting };
  if (plan.cutAt !== undefined) return modify(text, ['head', 'cutAt'], plan.cutAt, options);
  let next = text;
  const all: Edit[] = [];
  const step = (path: (string | number)[], value: unknown): void => {
    const edits = modify(next, path, value, options);
    next = applyEdits(next, edits);
    all.push(...edits);
  };
  const current = readSettings(text);
  if (current.freezeUpTo !== plan.freezeUpTo) step(['freezeUpTo'], plan.freezeUpTo);
  if (JSON.stringify(current.layers) !== JSON.stringify(plan.layers)) {
    step(['layers'], Object.keys(plan.layers).length > 0 ? plan.layers : undefined);
  }
  // Edits computed one after another apply to successive texts; return one replacement of the whole
  // changed region so callers can apply them as a single, undoable edit.
  return all.length === 0 ? [] : [wholeDiff(text, next)];
}

/** One edit that turns `before` into `after` (common prefix and suffix left untouched). */
export function wholeDiff(before: string, after: string): Edit {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  return { offset: start, length: endBefore - start, content: after.slice(start, endAfter) };
}
