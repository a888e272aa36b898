/**
 * "New Sweep from Experiment": a commented sweep file with sensible parameters for an experiment — the
 * learning rate a decade either side of the experiment's (log scale), dropout, the freeze point at the
 * base model's block ends (pooling layers before the head's cut), the L2 penalty — random search with ASHA
 * when the runs are long enough for it. Pure (text in, text out); the loader accepts what it writes
 * (tested), so Start Sweep works on it as is.
 */
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import { defaultCutPath, layerOrder } from '../experiments/layerEdits';

export interface SweepTemplateInput {
  /** The experiment's file name; the sweep file is written beside it. */
  experimentFile: string;
  config: ExperimentConfig;
  /** The base model's layer tree, when it could be read. */
  layers?: LayerNode[];
}

/** `digits-frozen-conv.finetune.json` → `digits-frozen-conv.sweep.json`. */
export function sweepFileName(experimentFile: string): string {
  return `${experimentFile.replace(/\.finetune\.json$/i, '').replace(/\.json$/i, '')}.sweep.json`;
}

/** One significant digit: 0.0012345 → 0.001, 0.012 → 0.01. */
const round1 = (value: number): number => Number(value.toPrecision(1));

/**
 * Up to four freeze points to try, in model order: the pooling layers (ends of convolutional blocks)
 * before the head's cut, else the nested blocks; the experiment's own freezeUpTo among them.
 */
export function freezeCandidates(layers: LayerNode[], config: ExperimentConfig): string[] {
  const order = layerOrder(layers);
  const classOf = new Map<string, string>();
  const visit = (nodes: LayerNode[]): void =>
    nodes.forEach((node) => {
      classOf.set(node.path, node.className);
      visit(node.children ?? []);
    });
  visit(layers);
  const leaves = order.leaves.map((l) => l.path);
  const cut = config.head.cutAt ?? defaultCutPath(layers);
  // A cut at a nested model keeps all of it: the freeze points are before its end.
  const cutIndex =
    cut === undefined ? -1 : leaves.findIndex((p, i) => p === cut || order.leaves[i].parents.includes(cut));
  const beforeCut = order.leaves.slice(0, cutIndex >= 0 ? cutIndex + 1 : leaves.length);
  let candidates = beforeCut.filter((l) => /pool/i.test(classOf.get(l.path) ?? '')).map((l) => l.path);
  if (candidates.length < 2) candidates = [...new Set(beforeCut.flatMap((l) => l.parents.slice(-1)))];
  if (config.freezeUpTo && !candidates.includes(config.freezeUpTo)) candidates.push(config.freezeUpTo);
  const position = (p: string): number => {
    const i = leaves.indexOf(p);
    return i >= 0 ? i : leaves.findIndex((_, k) => order.leaves[k].parents.includes(p));
  };
  candidates.sort((a, b) => position(a) - position(b));
  if (candidates.length <= 4) return candidates;
  // Evenly spread, always with the experiment's own.
  const picked = [0, 1, 2, 3].map((i) => candidates[Math.round((i * (candidates.length - 1)) / 3)]);
  if (config.freezeUpTo && !picked.includes(config.freezeUpTo)) picked[1] = config.freezeUpTo;
  return [...new Set(picked)].sort((a, b) => position(a) - position(b));
}

export function sweepTemplate(input: SweepTemplateInput): string {
  const { config } = input;
  const lr = config.training.learningRate;
  const epochs = config.training.epochs;
  const freeze = input.layers ? freezeCandidates(input.layers, config) : [];
  const minEpochs = Math.max(1, Math.round(epochs / 7));
  const asha = epochs >= 4 && minEpochs < epochs;
  const json = (value: unknown): string => JSON.stringify(value);
  const parameters = [
    [
      `    // The new head's learning rate, a decade either side of the experiment's ${lr} (log scale: each decade as likely).`,
      `    "training.learningRate": { "min": ${json(round1(lr / 10))}, "max": ${json(round1(lr * 10))}, "distribution": "log_uniform" }`,
    ],
    [
      '    // Dropout before the classifier: the share of units dropped while training.',
      `    "head.dropout": { "values": [0.1, 0.3, 0.5] }`,
    ],
    ...(freeze.length >= 2
      ? [
          [
            '    // How much of the pre-trained network stays frozen: this layer and every layer before it.',
            `    "freezeUpTo": { "values": ${json(freeze)} }`,
          ],
        ]
      : []),
    [
      '    // L2 penalty on the trainable kernels.',
      `    "regularization.l2": { "min": 0.00001, "max": 0.001, "distribution": "log_uniform" }`,
    ],
  ];
  const lines = [
    `// A sweep over ${input.experimentFile}: every trial is an ordinary run of that experiment with the values`,
    '// below written in. "Fine-Tune: Start Sweep" runs it (or `npx finetune sweep <this file>`); the trials',
    '// appear under the sweep in the Runs view, and "Compare Trials" / "Apply Best Trial" work on its node.',
    '{',
    `  "name": ${json(`${config.name}-sweep`)},`,
    `  "experiment": ${json(input.experimentFile)},`,
    '  // random: maxTrials draws, reproducible from "seed" · grid: every combination of "values" lists.',
    '  "method": "random",',
    "  // What makes a trial the best: this metric at the trial's best epoch.",
    '  "metric": { "name": "val_accuracy", "goal": "maximize" },',
    '  // Dotted keys of the experiment file: "values" to pick from, or a "min"/"max" range.',
    '  "parameters": {',
    parameters.map((p) => p.join('\n')).join(',\n'),
    '  },',
    '  "maxTrials": 12,',
    '  "seed": 1,',
    '  // Trials at once; left out: one per core on the CPU backends (wasm, cpu), one on a GPU.',
    '  // "parallel": 2,',
    ...(asha
      ? [
          `  // Stop unpromising trials early (ASHA): after ${minEpochs} epoch${minEpochs === 1 ? '' : 's'} only the best third go on, and so on.`,
          `  "earlyTermination": { "type": "asha", "minEpochs": ${minEpochs}, "reductionFactor": 3 },`,
        ]
      : []),
    '  // Where trials run. On a Slurm cluster: { "type": "slurm", "partition": "gpu", "time": "01:00:00", "gpus": 1 }',
    '  "executor": { "type": "local" }',
    '}',
    '',
  ];
  return lines.join('\n');
}
