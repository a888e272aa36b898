/**
 * Model surgery: from the pre-trained base and the experiment, the flat functional model that is trained
 * and saved — base up to `head.cutAt`, then a new head — plus everything the training loop needs to treat
 * layers differently (frozen / trainable at a lower LR / re-initialised, frozen BN in inference mode,
 * L1/L2 kernels, L2-SP anchors).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ExperimentConfig, LayerState } from '../../protocol/experimentConfig';
import { fusedChainCall } from '../backend/fusedOps/fusedChains';
import { fusedLeafCall } from '../backend/fusedOps/fusedLayerCall';
import { isRegularizedWeight } from '../../core/portable/kernelWeights';
import { freezeZeroRateLayers } from '../../core/portable/layerGroups';
import { UserError } from '../../core/userError';
import { resolveLayerStates, unknownLayerError } from '../../core/model/layerStates';
import { analyseCuts, defaultCutPath } from '../../core/portable/cutPoints';
import { planOf } from '../training/learningRateGroups';
import { LayerApplyError, enumerateLayers, walkContainer, type AnyTensor } from './graphWalk';
import { buildHead } from './head';
import { describeModel } from './layerTree';
import { reinitializeLayer } from './reinitLayer';

type Layer = tfl.layers.Layer;

export interface TrainingModel {
  /** Flat functional model: image input → kept base layers → head. This is what gets saved. */
  model: tfl.LayersModel;
  /** Resolved state of every kept pre-trained leaf layer, by path. */
  states: Map<string, LayerState>;
  /** Path of every kept pre-trained leaf layer (the head's layers are not in it). */
  layerPaths: Map<Layer, string>;
  /** Path of the layer whose output feeds the head. */
  cutAt: string;
  /** Trained at the head's learning rate: the new head and re-initialised layers. */
  headVariables: tf.Variable[];
  /** Trainable pre-trained weights: trained at learningRate × fineTuneLearningRateMultiplier. */
  baseVariables: tf.Variable[];
  /** Trainable kernels (not biases, BN parameters) that L1/L2 apply to. */
  kernelVariables: tf.Variable[];
  /** Pre-trained values of `baseVariables`, the anchor of L2-SP (only when l2sp > 0). */
  pretrainedValues: Map<tf.Variable, tf.Tensor>;
  /** Frozen BatchNormalization layers: always called in inference mode. */
  frozenBatchNorm: Set<Layer>;
  /** Backward kernels training will call that some backends may lack. */
  backwardKernels: string[];
  trainableParams: number;
  frozenParams: number;
  notes: string[];
  warnings: string[];
  /** Runs the model; `training` turns on dropout and batch statistics (except frozen BN). */
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  dispose(): void;
}

function paramCount(variables: { shape: number[] }[]): number {
  return variables.reduce((n, v) => n + v.shape.reduce((a, b) => a * b, 1), 0);
}

/** Backward kernels needed: filter gradients of trainable convolutions, input gradients behind the first trainable layer. */
function neededBackwardKernels(leaves: { layer: Layer; trainable: boolean }[]): string[] {
  const needed = new Set<string>();
  let gradientFlows = false; // a trainable layer comes earlier, so gradients flow back through this one
  for (const { layer, trainable } of leaves) {
    const cls = layer.getClassName();
    if (trainable && (cls === 'Conv2D' || cls === 'SeparableConv2D')) needed.add('Conv2DBackpropFilter');
    if (trainable && (cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D'))
      needed.add('DepthwiseConv2dNativeBackpropFilter');
    if (gradientFlows && (cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D'))
      needed.add('DepthwiseConv2dNativeBackpropInput');
    if (gradientFlows && (cls === 'Conv2D' || cls === 'SeparableConv2D')) needed.add('Conv2DBackpropInput');
    if (trainable && layer.weights.length > 0) gradientFlows = true;
  }
  return [...needed];
}

export function buildTrainingModel(
  base: tfl.LayersModel,
  config: ExperimentConfig,
  channels: number,
  numClasses: number,
  experimentFile?: string,
): TrainingModel {
  const { leaves, containers } = enumerateLayers(base);
  const leafPaths = leaves.map((l) => l.path);
  const containerPaths = [...containers.keys()];
  const known = [...containerPaths, ...leafPaths];
  const notes: string[] = [];
  const warnings: string[] = [];

  // Where the head can go is decided on the layer tree, as the Layers view decides it (cutPoints.ts).
  const tree = describeModel(base);
  const cuts = analyseCuts(tree);
  const cutAt = config.head.cutAt ?? defaultCutPath(tree, cuts);
  if (cutAt === undefined) {
    throw new UserError(
      'The base model has no Dense layer to replace, so there is no default cut: set "head.cutAt" to the layer whose output feeds the new head.',
      experimentFile,
    );
  }
  if (!known.includes(cutAt)) throw unknownLayerError(cutAt, '"head.cutAt"', known, experimentFile);
  const problem = cuts.problem(cutAt);
  if (problem !== undefined) throw new UserError(`head.cutAt "${cutAt}" ${problem}`, experimentFile);
  if (config.head.cutAt === undefined)
    notes.push(`head.cutAt not set: cutting after "${cutAt}" (everything but the last Dense layer)`);
  // The leaf whose output feeds the head: the cut layer, or a nested model's output layer.
  const cutLeaf = leaves.find((l) => l.path === cuts.outputLeaf(cutAt))!.layer;

  const allStates = resolveLayerStates(
    leaves,
    containerPaths,
    config.freezeUpTo,
    config.layers,
    experimentFile,
  );

  // Symbolic walk over the nested base with the experiment's image size: builds the flat graph and
  // proves the kept layers accept that size. Outputs are kept by layer: tfjs runs a model that is the
  // first layer of a Sequential as part of the Sequential's own graph, so the walk's paths can lack
  // the nesting the layer tree shows.
  const [height, width] = config.dataset.imageSize;
  const input = tfl.input({ shape: [height, width, channels], name: 'image' });
  const outputsByLayer = new Map<Layer, AnyTensor[]>();
  const pathOf = new Map(leaves.map((l) => [l.layer as Layer, l.path]));
  try {
    walkContainer(base, [input], { onOutput: (_path, layer, outputs) => outputsByLayer.set(layer, outputs) });
  } catch (error) {
    // Layers after the cut are dropped, so an error there does not matter.
    if (!outputsByLayer.has(cutLeaf)) {
      if (!(error instanceof LayerApplyError)) throw error;
      const reason = error.reason instanceof Error ? error.reason.message : String(error.reason);
      throw new UserError(
        `dataset.imageSize [${height}, ${width}] does not fit the base model: layer "${pathOf.get(error.layer) ?? error.path}" (${error.layer.getClassName()}): ${reason}. ` +
          `Use the model's own input size, or cut before that layer with "head.cutAt".`,
        experimentFile,
      );
    }
  }
  const cutOutputs = outputsByLayer.get(cutLeaf);
  if (!cutOutputs || cutOutputs.length !== 1) {
    throw new UserError(`head.cutAt "${cutAt}" must name a layer with exactly one output.`, experimentFile);
  }

  const takenNames = new Set(leaves.map((l) => l.layer.name));
  const head = buildHead(cutOutputs[0] as tfl.SymbolicTensor, config.head, numClasses, takenNames);
  notes.push(...head.notes);
  let model: tfl.LayersModel;
  try {
    model = tfl.model({
      inputs: input,
      outputs: head.output,
      name: config.name.replace(/[^A-Za-z0-9_]/g, '_'),
    });
  } catch (error) {
    throw new UserError(
      `Cannot assemble the fine-tuning model: ${(error as Error).message}. Layer names must be unique across nested models.`,
      experimentFile,
    );
  }

  // Which pre-trained leaves survived the cut.
  const kept = new Set(model.layers);
  const states = new Map<string, LayerState>();
  const layerPaths = new Map<Layer, string>();
  for (const leaf of leaves) {
    if (!kept.has(leaf.layer)) continue;
    states.set(leaf.path, allStates.get(leaf.path)!);
    layerPaths.set(leaf.layer, leaf.path);
  }
  // A learning rate of 0 is a frozen layer in all but name: treated as frozen everywhere from here on.
  const zeroRate = freezeZeroRateLayers(
    planOf(states, new Map([...layerPaths].map(([layer, path]) => [path, layer]))),
    config.training.discriminativeLr,
    config.training.fineTuneLearningRateMultiplier,
  );
  for (const path of zeroRate.frozen) states.set(path, 'frozen');
  if (zeroRate.frozen.length > 0) {
    const shown = zeroRate.frozen.slice(0, 3).join(', ') + (zeroRate.frozen.length > 3 ? ', …' : '');
    notes.push(
      `${zeroRate.frozen.length} trainable pre-trained layer(s) (${shown}) have a learning rate of 0 ` +
        `(${config.training.discriminativeLr.mode === 'single' ? 'fineTuneLearningRateMultiplier 0' : 'a discriminativeLr multiplier of 0'}): ` +
        `they are treated as frozen — no update, BatchNormalization in inference mode, statistics unchanged.`,
    );
  }
  for (const name of Object.keys(config.layers)) {
    const inKept = states.has(name) || [...states.keys()].some((p) => p.startsWith(`${name}/`));
    if (!inKept)
      warnings.push(
        `layers["${name}"] is after the cut at "${cutAt}": that layer is replaced by the new head, its setting is ignored.`,
      );
  }

  const headVariables: tf.Variable[] = [];
  const baseVariables: tf.Variable[] = [];
  const kernelVariables: tf.Variable[] = [];
  const pretrainedValues = new Map<tf.Variable, tf.Tensor>();
  const frozenBatchNorm = new Set<Layer>();
  let frozenParams = 0;
  const order: { layer: Layer; trainable: boolean }[] = [];

  for (const leaf of leaves) {
    const state = states.get(leaf.path);
    if (state === undefined) continue;
    const layer = leaf.layer;
    layer.trainable = state !== 'frozen';
    order.push({ layer, trainable: state !== 'frozen' });
    if (state === 'frozen') {
      frozenParams += paramCount(layer.weights.map((w) => ({ shape: w.shape as number[] })));
      if (layer.getClassName() === 'BatchNormalization') frozenBatchNorm.add(layer);
      continue;
    }
    if (state === 'reinit') reinitializeLayer(layer);
    for (const weight of layer.trainableWeights) {
      const variable = weight.read() as tf.Variable;
      (state === 'reinit' ? headVariables : baseVariables).push(variable);
      if (isRegularizedWeight(weight.originalName)) kernelVariables.push(variable);
      if (state === 'trainable' && config.regularization.l2sp > 0)
        pretrainedValues.set(variable, variable.clone());
    }
    frozenParams += paramCount(layer.nonTrainableWeights.map((w) => ({ shape: w.shape as number[] })));
  }
  for (const layer of head.layers) {
    order.push({ layer, trainable: true });
    for (const weight of layer.trainableWeights) {
      const variable = weight.read() as tf.Variable;
      headVariables.push(variable);
      if (isRegularizedWeight(weight.originalName)) kernelVariables.push(variable);
    }
  }
  const trainableParams = paramCount([...headVariables, ...baseVariables]);

  const forward = (x: tf.Tensor, training: boolean): tf.Tensor =>
    walkContainer(model, [x], {
      kwargsFor: (layer) => ({ training: training && !frozenBatchNorm.has(layer) }),
      // Batch norm in training mode and ReLU6 through fused kernels on wasm/cpu (a third of a step).
      applyLayer: fusedLeafCall,
      // Conv → BN → ReLU6 as one kernel where no gradient is needed (validation, prediction).
      applyChain: fusedChainCall,
    })[0] as tf.Tensor;

  return {
    model,
    states,
    layerPaths,
    cutAt,
    headVariables,
    baseVariables,
    kernelVariables,
    pretrainedValues,
    frozenBatchNorm,
    backwardKernels: neededBackwardKernels(order),
    trainableParams,
    frozenParams,
    notes,
    warnings,
    forward,
    dispose: () => {
      for (const t of pretrainedValues.values()) t.dispose();
      model.dispose();
    },
  };
}
