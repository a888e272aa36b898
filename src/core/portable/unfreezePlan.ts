/**
 * The gradual-unfreezing plan as the UI shows it — before a run (experiment panel), during one (training
 * panel, Layers view) — from the layer tree and the resolved layer states, without loading the model.
 * The blocks and phases come from the same unfreezeBlocks / phaseAtEpoch the training loop uses; only
 * "does this layer have a kernel" is read from the class name here, where the engine reads the weights
 * (both in kernelWeights.ts; test/engine/unfreezePlan.test.ts checks the two agree on a real model).
 * Pure: the webview bundle and the extension host import it.
 */
import type { GradualUnfreezingConfig, LayerState } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import { classHasKernel } from './kernelWeights';
import { phaseAtEpoch, unfreezeBlocks, type PlanLeaf } from './layerGroups';

/** Leaf layers in execution order. */
function leavesOf(nodes: readonly LayerNode[], out: LayerNode[] = []): LayerNode[] {
  for (const node of nodes) {
    if (node.children) leavesOf(node.children, out);
    else out.push(node);
  }
  return out;
}

/**
 * The pre-trained leaves that survive the head cut (the cut layer and everything before it), with their
 * state; a leaf without a state is trainable, as in the engine.
 */
export function planLeavesFromTree(
  tree: readonly LayerNode[],
  states: Readonly<Record<string, LayerState>>,
  cutAt?: string,
): PlanLeaf[] {
  const leaves = leavesOf(tree);
  let last = leaves.length - 1;
  if (cutAt !== undefined) {
    const covered = leaves.map((l, i) => (l.path === cutAt || l.path.startsWith(`${cutAt}/`) ? i : -1));
    const found = Math.max(...covered, -1);
    if (found >= 0) last = found;
  }
  return leaves.slice(0, last + 1).map((leaf) => ({
    path: leaf.path,
    className: leaf.className,
    state: states[leaf.path] ?? 'trainable',
    hasKernel: classHasKernel(leaf.className, leaf.trainableParams + leaf.nonTrainableParams),
  }));
}

export interface UnfreezeStep {
  /** The 1-based epoch whose start unfreezes the block. */
  epoch: number;
  /** 1-based: the k-th block from the top. */
  index: number;
  block: string[];
}

export interface UnfreezeTimeline {
  /** Pre-trained blocks, top (nearest the head) first. */
  blocks: string[][];
  /** Epochs 1..headOnlyEpochs train only the head (and re-initialised layers). */
  headOnlyEpochs: number;
  /** Unfreezing steps that happen within the run's epochs, in order. */
  steps: UnfreezeStep[];
  /** Blocks whose turn would come after the last epoch: they never train in this run. */
  neverUnfrozen: string[][];
  /** Layer path → the epoch it starts training; absent when it never does within the run. */
  startEpoch: Record<string, number>;
}

/** When each block unfreezes in a run of `epochs` epochs. */
export function unfreezeTimeline(
  leaves: readonly PlanLeaf[],
  config: GradualUnfreezingConfig,
  epochs: number,
): UnfreezeTimeline {
  const blocks = unfreezeBlocks([...leaves], config);
  const steps: UnfreezeStep[] = [];
  const startEpoch: Record<string, number> = {};
  for (let epoch = 1; epoch <= epochs && steps.length < blocks.length; epoch++) {
    const phase = phaseAtEpoch(blocks, config, epoch);
    if (phase.unfrozenNow.length === 0) continue;
    steps.push({ epoch, index: phase.phase, block: phase.unfrozenNow });
    for (const path of phase.unfrozenNow) startEpoch[path] = epoch;
  }
  return {
    blocks,
    headOnlyEpochs: Math.min(Math.max(0, config.headEpochs), Math.max(0, epochs)),
    steps,
    neverUnfrozen: blocks.slice(steps.length),
    startEpoch,
  };
}

/** The epoch the block after `phase` unfreezes (undefined after the last block). */
export function nextUnfreezeEpoch(
  config: GradualUnfreezingConfig,
  phase: number,
  phases: number,
): number | undefined {
  if (phase >= phases) return undefined;
  return Math.max(0, config.headEpochs) + 1 + phase * Math.max(1, config.everyEpochs);
}
