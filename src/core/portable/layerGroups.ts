/**
 * Which pre-trained layers train when, and how fast — fastai's `fine_tune` ideas on our layer paths:
 * - gradual unfreezing: the head first with the base frozen, then blocks unfreeze from the top down, one
 *   every K epochs (only layers the experiment leaves trainable are ever unfrozen);
 * - discriminative learning rates: a geometric spread of multipliers from the lowest trainable block to the
 *   top one (`slice(lo, hi)`), or explicit groups.
 * Pure functions of the layer order and the config, so the schedule can be shown and tested before a run.
 */
import type {
  DiscriminativeLrConfig,
  GradualUnfreezingConfig,
  LayerState,
} from '../../protocol/experimentConfig';

export interface PlanLeaf {
  path: string;
  className: string;
  state: LayerState;
  /** Whether the layer has a kernel (Conv/Dense/…): a block starts at each such layer. */
  hasKernel: boolean;
}

export type { GradualUnfreezingConfig };

/** Pre-trained trainable layers grouped into blocks, top block first. */
export function unfreezeBlocks(leaves: PlanLeaf[], config: GradualUnfreezingConfig): string[][] {
  const trainable = leaves.filter((l) => l.state === 'trainable');
  if (config.blocks !== 'auto') {
    return config.blocks
      .map((block) =>
        trainable.filter((l) => l.path === block || l.path.startsWith(`${block}/`)).map((l) => l.path),
      )
      .filter((b) => b.length > 0);
  }
  const blocks: string[][] = [];
  for (const leaf of trainable) {
    if (leaf.hasKernel || blocks.length === 0) blocks.push([leaf.path]);
    else blocks[blocks.length - 1].push(leaf.path);
  }
  return blocks.reverse();
}

export interface UnfreezePhase {
  /** 0: head only; k: the top k blocks are unfrozen. */
  phase: number;
  /** Pre-trained layers that train in this phase. */
  trainable: string[];
  /** Layers unfrozen at the start of this epoch (empty when nothing changes). */
  unfrozenNow: string[];
}

/** The phase of a 1-based epoch. */
export function phaseAtEpoch(
  blocks: string[][],
  config: GradualUnfreezingConfig,
  epoch: number,
): UnfreezePhase {
  const every = Math.max(1, config.everyEpochs);
  const since = epoch - 1 - config.headEpochs;
  const step = since < 0 ? 0 : Math.floor(since / every) + 1;
  const phase = Math.min(blocks.length, step);
  const unfrozenNow = since >= 0 && since % every === 0 && step <= blocks.length ? blocks[step - 1] : [];
  return { phase, trainable: blocks.slice(0, phase).flat(), unfrozenNow };
}

export type DiscriminativeConfig = DiscriminativeLrConfig;

/**
 * Learning-rate multiplier of every trainable pre-trained layer (relative to the head's rate).
 * single: all `topMultiplier` (fineTuneLearningRateMultiplier); geometric: the top block gets
 * `topMultiplier`, the lowest `lowestMultiplier`, geometric in between; groups: listed paths or blocks get
 * their multiplier, others `topMultiplier`.
 */
export function layerMultipliers(
  leaves: PlanLeaf[],
  config: DiscriminativeConfig,
  topMultiplier: number,
): Map<string, number> {
  const trainable = leaves.filter((l) => l.state === 'trainable');
  const out = new Map<string, number>(trainable.map((l) => [l.path, topMultiplier]));
  if (config.mode === 'geometric') {
    const blocks = unfreezeBlocks(leaves, { headEpochs: 0, everyEpochs: 1, blocks: 'auto' }).reverse(); // bottom first
    const n = blocks.length;
    blocks.forEach((block, i) => {
      const t = n === 1 ? 1 : i / (n - 1);
      const multiplier = config.lowestMultiplier * (topMultiplier / config.lowestMultiplier) ** t;
      block.forEach((p) => out.set(p, multiplier));
    });
  } else if (config.mode === 'groups') {
    for (const group of config.groups) {
      for (const l of trainable) {
        if (group.layers.some((g) => l.path === g || l.path.startsWith(`${g}/`)))
          out.set(l.path, group.multiplier);
      }
    }
  }
  return out;
}

/**
 * A pre-trained layer whose learning rate is 0 (fineTuneLearningRateMultiplier 0, or a discriminative
 * group at 0) learns nothing: it is frozen in all but name, and treated as frozen everywhere — its
 * BatchNormalization in inference mode (statistics unchanged), the activation cache, the parameter counts,
 * the penalties. Returns the leaves with those layers' state set to frozen, and their paths.
 */
export function freezeZeroRateLayers(
  leaves: readonly PlanLeaf[],
  config: DiscriminativeConfig,
  topMultiplier: number,
): { leaves: PlanLeaf[]; frozen: string[] } {
  const multipliers = layerMultipliers([...leaves], config, topMultiplier);
  const frozen = leaves
    .filter((l) => l.state === 'trainable' && !((multipliers.get(l.path) ?? topMultiplier) > 0))
    .map((l) => l.path);
  const set = new Set(frozen);
  return {
    leaves: leaves.map((l) => (set.has(l.path) ? { ...l, state: 'frozen' as const } : l)),
    frozen,
  };
}
