/**
 * The run's learning rates: one optimizer per distinct multiplier (the new head and re-initialised layers
 * at 1, trainable pre-trained layers at fineTuneLearningRateMultiplier or their discriminative multiplier),
 * all following the schedule; plus gradual unfreezing, which decides per epoch which pre-trained layers
 * take part (their BatchNormalization stays in inference mode until their block unfreezes).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { TrainingModel } from '../model/buildTrainingModel';
import {
  layerMultipliers,
  phaseAtEpoch,
  unfreezeBlocks,
  type PlanLeaf,
  type UnfreezePhase,
} from '../../core/portable/layerGroups';
import { isKernelWeight } from '../../core/portable/kernelWeights';
import { PlateauScheduler, scheduledLearningRate } from '../../core/portable/lrSchedule';
import { makeOptimizer, setLearningRate } from './optimizers';

type Layer = tfl.layers.Layer;

interface Group {
  multiplier: number;
  optimizer: tf.Optimizer;
  /** Variable name → the layer path it belongs to (head variables: ''). */
  layerOf: Map<string, string>;
}

export class LearningRateGroups {
  private readonly groups: Group[] = [];
  private readonly groupOfVariable = new Map<string, Group>();
  private readonly variablesOfLayer = new Map<string, tf.Variable[]>();
  private readonly layerOfPath = new Map<string, Layer>();
  private readonly plateau: PlateauScheduler | null;
  private factor = 1;
  readonly blocks: string[][];
  /** Pre-trained layers that currently train (all trainable ones without gradual unfreezing). */
  private active = new Set<string>();
  readonly plan: PlanLeaf[];

  constructor(
    private readonly model: TrainingModel,
    private readonly config: ExperimentConfig,
  ) {
    const t = config.training;
    for (const [layer, path] of model.layerPaths) this.layerOfPath.set(path, layer);
    this.plan = [...model.states].map(([path, state]) => {
      const layer = this.layerOfPath.get(path)!;
      return {
        path,
        className: layer.getClassName(),
        state,
        hasKernel: layer.weights.some((w) => isKernelWeight(w.originalName)),
      };
    });
    const multipliers = layerMultipliers(this.plan, t.discriminativeLr, t.fineTuneLearningRateMultiplier);
    const baseSet = new Set(model.baseVariables);
    const groupFor = (multiplier: number): Group => {
      let group = this.groups.find((g) => g.multiplier === multiplier);
      if (!group) {
        group = {
          multiplier,
          optimizer: makeOptimizer(t.optimizer, t.learningRate * multiplier, t.momentum),
          layerOf: new Map(),
        };
        this.groups.push(group);
      }
      return group;
    };
    for (const v of model.headVariables) {
      const g = groupFor(1);
      g.layerOf.set(v.name, '');
      this.groupOfVariable.set(v.name, g);
    }
    for (const [path, multiplier] of multipliers) {
      if (multiplier <= 0) continue; // a zero rate is a frozen layer in all but name
      const layer = this.layerOfPath.get(path);
      const variables = (layer?.trainableWeights ?? [])
        .map((w) => w.read() as tf.Variable)
        .filter((v) => baseSet.has(v));
      this.variablesOfLayer.set(path, variables);
      const g = groupFor(multiplier);
      for (const v of variables) {
        g.layerOf.set(v.name, path);
        this.groupOfVariable.set(v.name, g);
      }
    }
    this.blocks = t.gradualUnfreezing === false ? [] : unfreezeBlocks(this.plan, t.gradualUnfreezing);
    if (t.gradualUnfreezing === false) this.active = new Set(this.variablesOfLayer.keys());
    this.plateau = t.schedule.type === 'plateau' ? new PlateauScheduler(t.schedule, t.learningRate) : null;
  }

  /** Applies the gradual-unfreezing phase of a 1-based epoch; returns it (undefined when off). */
  enterEpoch(epoch: number): UnfreezePhase | undefined {
    const gu = this.config.training.gradualUnfreezing;
    if (gu === false) return undefined;
    const phase = phaseAtEpoch(this.blocks, gu, epoch);
    this.active = new Set(phase.trainable.filter((p) => this.variablesOfLayer.has(p)));
    // Layers waiting for their turn behave as frozen, BatchNormalization included.
    for (const leaf of this.plan) {
      if (leaf.state !== 'trainable' || leaf.className !== 'BatchNormalization') continue;
      const layer = this.layerOfPath.get(leaf.path)!;
      if (phase.trainable.includes(leaf.path)) this.model.frozenBatchNorm.delete(layer);
      else this.model.frozenBatchNorm.add(layer);
    }
    return phase;
  }

  /** Variables that take part in this step. */
  variables(): tf.Variable[] {
    const out = [...this.model.headVariables];
    for (const path of this.active) out.push(...(this.variablesOfLayer.get(path) ?? []));
    return out;
  }

  /** Sets every optimizer's rate for a point of the run (fractional epoch, 0-based). */
  setProgress(progress: number): void {
    const t = this.config.training;
    // The schedule is defined on the head's rate (its floor, minLearningRate, is absolute); the other
    // groups follow it in proportion.
    const headRate = this.plateau
      ? this.plateau.learningRate
      : scheduledLearningRate(t.schedule, t.learningRate, progress, t.epochs);
    this.factor = t.learningRate > 0 ? headRate / t.learningRate : 0;
    for (const g of this.groups) setLearningRate(g.optimizer, t.learningRate * g.multiplier * this.factor);
  }

  /**
   * Sets the head's rate directly, every other group following at its multiplier, in place of the
   * schedule: the learning-rate finder sweeps the rate of the whole model this way.
   */
  setHeadLearningRate(rate: number): void {
    this.factor = rate / this.config.training.learningRate;
    for (const g of this.groups) setLearningRate(g.optimizer, rate * g.multiplier);
  }

  /** Reduce-on-plateau reads val_loss after each epoch. */
  endEpoch(valLoss: number): void {
    if (!this.plateau) return;
    const before = this.plateau.learningRate;
    this.plateau.update(valLoss);
    if (this.plateau.learningRate < before) this.setProgress(0);
  }

  get headLearningRate(): number {
    return this.config.training.learningRate * this.factor;
  }

  /** The rate of the top trainable pre-trained layers, when any train now. */
  get baseLearningRate(): number | undefined {
    const base = this.groups.filter((g) =>
      [...g.layerOf.values()].some((p) => p !== '' && this.active.has(p)),
    );
    if (base.length === 0) return undefined;
    return this.config.training.learningRate * Math.max(...base.map((g) => g.multiplier)) * this.factor;
  }

  /** Applies gradients through each variable's optimizer, then decoupled weight decay on kernels. */
  apply(grads: tf.NamedTensorMap): void {
    const byGroup = new Map<Group, tf.NamedTensorMap>();
    for (const [name, grad] of Object.entries(grads)) {
      const g = this.groupOfVariable.get(name);
      if (!g) continue;
      if (!byGroup.has(g)) byGroup.set(g, {});
      byGroup.get(g)![name] = grad;
    }
    for (const [g, map] of byGroup) g.optimizer.applyGradients(map);
    const decay = this.config.training.weightDecay;
    if (decay <= 0) return;
    tf.tidy(() => {
      for (const v of this.model.kernelVariables) {
        const g = this.groupOfVariable.get(v.name);
        if (!g || !(v.name in grads)) continue;
        const lr = this.config.training.learningRate * g.multiplier * this.factor;
        v.assign(tf.mul(v, 1 - lr * decay));
      }
    });
  }

  /** The optimizers, in the order they were created (checkpoints save and restore them in this order). */
  get optimizers(): tf.Optimizer[] {
    return this.groups.map((g) => g.optimizer);
  }

  /** Reduce-on-plateau's state for checkpoints (JSON: an infinite best is null); undefined without one. */
  scheduleState(): { best: number | null; wait: number; rate: number } | undefined {
    if (!this.plateau) return undefined;
    const { best, wait, rate } = this.plateau.state;
    return { best: Number.isFinite(best) ? best : null, wait, rate };
  }

  restoreSchedule(state: { best: number | null; wait: number; rate: number } | undefined): void {
    if (this.plateau && state)
      this.plateau.restore({
        best: state.best ?? Number.POSITIVE_INFINITY,
        wait: state.wait,
        rate: state.rate,
      });
  }

  dispose(): void {
    for (const g of this.groups) g.optimizer.dispose();
  }
}
