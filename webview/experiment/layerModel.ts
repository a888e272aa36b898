/**
 * What the layer tree shows, computed from the host's state: the rows in display order, which layers the
 * head cut removes, the freeze mark of nested models, and parameter totals. Kept apart from the DOM code
 * so the rules (e.g. "a nested model is checked when all its leaves are frozen") are plain functions.
 */
import type { LayerState } from '../../src/protocol/experimentConfig';
import type { LayerNode } from '../../src/protocol/layerTree';
import { analyseCuts } from '../../src/core/portable/cutPoints';

export interface LayerRow {
  node: LayerNode;
  depth: number;
  /** The layer's leaves (itself for a leaf layer). */
  leaves: LayerNode[];
  /** Comes after the head cut, so the new head replaces it. */
  afterCut: boolean;
  isCut: boolean;
  /** The cut is this row or inside it, and this is the last row of that block: the head line goes below. */
  endsCutBlock: boolean;
  /** A head cut here works (cutPoints.ts): "Set as head cut" is offered only then. */
  cuttable: boolean;
}

export type FreezeMark = 'frozen' | 'trainable' | 'mixed';

export interface ParamTotals {
  /** Weights that training updates (trainable and reinit layers before the cut). */
  trainable: number;
  /** Trainable weights held fixed by freezing. */
  frozen: number;
  /** Weights no optimizer touches anyway (e.g. BatchNormalization moving statistics). */
  nonTrainable: number;
  /** Weights of the layers after the cut, which the new head replaces. */
  replaced: number;
}

export const isContainer = (node: LayerNode): boolean => Array.isArray(node.children);

export function leavesOf(node: LayerNode): LayerNode[] {
  return node.children ? node.children.flatMap(leavesOf) : [node];
}

/** The node named by the cut: by path, or by plain layer name as the file may write it. */
function findCut(layers: LayerNode[], cutAt: string | undefined): LayerNode | undefined {
  if (!cutAt) return undefined;
  const all: LayerNode[] = [];
  const walk = (nodes: LayerNode[]): void => {
    for (const n of nodes) {
      all.push(n);
      if (n.children) walk(n.children);
    }
  };
  walk(layers);
  return all.find((n) => n.path === cutAt) ?? all.find((n) => n.name === cutAt);
}

/**
 * Every node in pre-order (a nested model before its layers), whether or not it is collapsed, so that
 * "after the cut" follows the order data flows through the model.
 */
export function layerRows(layers: LayerNode[], cutAt: string | undefined): LayerRow[] {
  const cut = findCut(layers, cutAt);
  const cuts = analyseCuts(layers);
  const rows: LayerRow[] = [];
  let passedCut = false;
  const walk = (nodes: LayerNode[], depth: number): void => {
    for (const node of nodes) {
      const row: LayerRow = {
        node,
        depth,
        leaves: leavesOf(node),
        afterCut: passedCut,
        isCut: node === cut,
        endsCutBlock: false,
        cuttable: cuts.isValid(node.path),
      };
      rows.push(row);
      if (node.children) walk(node.children, depth + 1);
      if (node === cut) {
        // The last row of the cut's block carries the "new head" line; everything after is replaced.
        rows[rows.length - 1].endsCutBlock = true;
        passedCut = true;
      }
    }
  };
  walk(layers, 0);
  return rows;
}

/** A leaf's resolved state; layers the host does not list are trainable (nothing froze them). */
export const stateOf = (states: Record<string, LayerState>, leaf: LayerNode): LayerState =>
  states[leaf.path] ?? 'trainable';

/**
 * A leaf is frozen or not; a nested model is frozen when every leaf of it that stays in the model is, and
 * mixed when only some are (leaves after the cut are ignored unless the whole block is after it).
 */
export function freezeMark(
  row: LayerRow,
  afterCut: ReadonlySet<string>,
  states: Record<string, LayerState>,
): FreezeMark {
  const kept = row.leaves.filter((l) => !afterCut.has(l.path));
  const leaves = kept.length > 0 ? kept : row.leaves;
  const frozen = leaves.filter((l) => stateOf(states, l) === 'frozen').length;
  if (frozen === 0) return 'trainable';
  return frozen === leaves.length ? 'frozen' : 'mixed';
}

export function paramTotals(rows: LayerRow[], states: Record<string, LayerState>): ParamTotals {
  const totals: ParamTotals = { trainable: 0, frozen: 0, nonTrainable: 0, replaced: 0 };
  for (const row of rows) {
    if (isContainer(row.node)) continue;
    const { trainableParams, nonTrainableParams } = row.node;
    if (row.afterCut) {
      totals.replaced += trainableParams + nonTrainableParams;
      continue;
    }
    totals.nonTrainable += nonTrainableParams;
    if (stateOf(states, row.node) === 'frozen') totals.frozen += trainableParams;
    else totals.trainable += trainableParams;
  }
  return totals;
}

/** Keras-like shape text without the batch dimension: [null, 26, 26, 8] → "26 × 26 × 8". */
export function formatShape(shape: LayerNode['outputShape']): string {
  if (shape.length > 0 && Array.isArray(shape[0])) {
    return (shape as (number | null)[][]).map(formatShape).join('; ');
  }
  const dims = (shape as (number | null)[]).slice(1).map((d) => (d === null ? '?' : String(d)));
  return dims.length > 0 ? dims.join(' × ') : 'scalar';
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');
