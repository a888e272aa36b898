/**
 * Head cuts in models shaped like real exports (test/helpers/exportFixtures.ts): a Teachable Machine
 * image model (Sequentials nesting a functional MobileNetV2), a Keras-applications MobileNetV2 as the
 * tensorflowjs converter writes it, and a residual block inside a nested model. A cut works at every
 * leaf on the main path at any depth and at every nested model; inside a residual branch it is refused
 * with a message that names the branch and the cuts that work; the tree from TensorFlow.js and the one
 * read from model.json as JSON (what the host uses without TensorFlow.js) agree on all of it.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { RunRecord } from '../../src/protocol/runRecord';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { buildTrainingModel } from '../../src/engine/model/buildTrainingModel';
import { analyseCuts, defaultCutPath } from '../../src/core/portable/cutPoints';
import { allPaths, describeModel } from '../../src/engine/model/layerTree';
import { loadBaseModel } from '../../src/engine/model/loadBaseModel';
import { topologyLayerTree } from '../../src/core/model/topologyLayerTree';
import { runExperiment } from '../../src/engine/runExperiment';
import { UserError } from '../../src/core/userError';
import {
  RESIDUAL,
  TM,
  saveKerasMobileNetV2,
  saveResidualInNestedModel,
  saveTeachableMachineModel,
} from '../helpers/exportFixtures';
import { experimentConfig } from '../helpers/fixtureConfig';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { tempDir } from '../helpers/fixtureModels';

let root: string;
const files: Record<'tm' | 'mobilenet' | 'residual', string> = { tm: '', mobilenet: '', residual: '' };
const SIZES = { tm: 32, mobilenet: 32, residual: 8 };

/** What a cut depends on: paths, nesting, connections. */
function structure(nodes: LayerNode[]): unknown {
  return nodes.map((n) => ({
    path: n.path,
    className: n.className,
    inputs: n.inputs,
    output: n.output,
    children: n.children && structure(n.children),
  }));
}

async function tree(file: string): Promise<LayerNode[]> {
  const { model } = await loadBaseModel(file);
  try {
    return describeModel(model);
  } finally {
    model.dispose();
  }
}

/** The training model for a cut; its head's input shape and a forward pass in training mode. */
async function cutAt(which: keyof typeof files, cut: string): Promise<number[]> {
  const { model } = await loadBaseModel(files[which]);
  const size = SIZES[which];
  const config = experimentConfig({
    baseModel: files[which],
    dataset: { ...experimentConfig().dataset, imageSize: [size, size] },
    head: { ...experimentConfig().head, cutAt: cut, hiddenUnits: [] },
  });
  const built = buildTrainingModel(model, config, 3, 3);
  try {
    const probs = built.forward(tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 1), true);
    assert.deepEqual(probs.shape, [2, 3]);
    probs.dispose();
    const cutLayer = [...built.layerPaths].find(([, p]) => p === cut || p.startsWith(`${cut}/`));
    assert.ok(cutLayer, `the kept layers include ${cut}`);
    return (
      built.model.layers.find((l) => !built.layerPaths.has(l) && l.getClassName() !== 'InputLayer')!
        .inboundNodes[0].inputTensors[0].shape as number[]
    ).slice(1);
  } finally {
    built.dispose();
  }
}

describe('head cuts in models shaped like real exports', () => {
  before(async () => {
    await initBackend('cpu');
    root = tempDir('export-cuts');
    files.tm = await saveTeachableMachineModel(path.join(root, 'tm'));
    files.mobilenet = await saveKerasMobileNetV2(path.join(root, 'mobilenet'));
    files.residual = await saveResidualInNestedModel(path.join(root, 'residual'));
  });

  it('the fixtures have the exports’ nesting and names, and both ways of reading them agree', async () => {
    const tm = await tree(files.tm);
    assert.deepEqual(
      tm.map((n) => [n.path, n.className]),
      [
        [TM.base, 'Sequential'],
        [TM.head, 'Sequential'],
      ],
    );
    assert.deepEqual(
      tm[0].children!.map((n) => [n.path, n.className]),
      [
        [TM.mobilenet, 'Model'],
        [TM.pooling, 'GlobalAveragePooling2D'],
      ],
    );
    const paths = allPaths(tm);
    for (const p of [
      TM.outRelu,
      'sequential_5/model2/Conv1_pad',
      'sequential_5/model2/block_2_add',
      TM.hidden,
      TM.logits,
    ])
      assert.ok(paths.includes(p), p);
    const mobilenet = await tree(files.mobilenet);
    assert.equal(mobilenet.find((n) => n.path === 'block_1_pad')?.className, 'ZeroPadding2D');
    assert.deepEqual(mobilenet.find((n) => n.path === 'block_2_add')?.inputs, [
      'block_1_project_BN',
      'block_2_project_BN',
    ]);
    assert.ok(JSON.parse(fs.readFileSync(files.mobilenet, 'utf8')).modelTopology.model_config);
    for (const file of Object.values(files)) {
      assert.deepEqual(structure(topologyLayerTree(file)), structure(await tree(file)), file);
    }
  });

  it('Teachable Machine: every leaf on the main path, at any depth, and every nested model is a cut that trains', async () => {
    const cuts = analyseCuts(await tree(files.tm));
    const inBranch = (p: string) => /block_[24]_(expand|depthwise|project)/.test(p);
    const expected = allPaths(await tree(files.tm)).filter((p) => !inBranch(p));
    assert.deepEqual(cuts.valid, expected);
    // The cuts the issue names, then a sample of the rest (each builds, runs, and feeds the head what it should).
    assert.deepEqual(await cutAt('tm', TM.pooling), [12]);
    assert.deepEqual(await cutAt('tm', TM.outRelu), [4, 4, 12]);
    assert.deepEqual(await cutAt('tm', TM.mobilenet), [4, 4, 12], 'a nested model: after its output');
    assert.deepEqual(await cutAt('tm', TM.base), [12], 'the Sequential block: after the pooling');
    assert.deepEqual(await cutAt('tm', 'sequential_5/model2/Conv1_pad'), [33, 33, 3]);
    assert.deepEqual(await cutAt('tm', 'sequential_5/model2/block_2_add'), [8, 8, 6]);
    assert.deepEqual(await cutAt('tm', TM.hidden), [8]);
    assert.equal(defaultCutPath(await tree(files.tm)), TM.hidden);
    for (const p of expected.filter((_, i) => i % 5 === 0)) await cutAt('tm', p);
  });

  it('a cut inside a residual branch is refused, naming the branch and the cuts that work', async () => {
    const tryCut = (which: keyof typeof files, cut: string) =>
      assert
        .rejects(cutAt(which, cut), (e: unknown) => {
          assert.ok(e instanceof UserError, String(e));
          return true;
        })
        .then(async () => {
          try {
            await cutAt(which, cut);
          } catch (e) {
            return (e as Error).message;
          }
          return '';
        });
    const tm = await tryCut('tm', 'sequential_5/model2/block_2_depthwise');
    assert.match(
      tm,
      /^head\.cutAt "sequential_5\/model2\/block_2_depthwise" is inside a branch between "sequential_5\/model2\/block_1_project_BN" and "sequential_5\/model2\/block_2_add"/,
    );
    assert.match(
      tm,
      /Cuts that work: "sequential_5\/model2\/block_1_project_BN" \(before the branch\) or "sequential_5\/model2\/block_2_add" \(where it joins\)/,
    );
    const mobilenet = await tryCut('mobilenet', 'block_4_project_BN');
    assert.match(
      mobilenet,
      /between "block_3_project_BN" and "block_4_add": the output of "block_3_project_BN" skips past it to "block_4_add"/,
    );
    const residual = await tryCut('residual', RESIDUAL.branchB);
    assert.match(residual, /between "stem" and "backbone\/resblock\/res_add"/);
  });

  it('Keras MobileNetV2 as converted, and a residual block in a nested model: main-path cuts at any depth train', async () => {
    const mobilenetCuts = analyseCuts(await tree(files.mobilenet));
    for (const p of [
      'Conv1_pad',
      'block_1_pad',
      'block_1_project_BN',
      'block_2_add',
      'out_relu',
      'global_average_pooling2d',
    ])
      assert.ok(mobilenetCuts.isValid(p), p);
    assert.deepEqual(await cutAt('mobilenet', 'block_2_add'), [8, 8, 6]);
    assert.equal(defaultCutPath(await tree(files.mobilenet)), 'global_average_pooling2d');
    const residualCuts = analyseCuts(await tree(files.residual));
    assert.deepEqual(residualCuts.valid, [
      'stem',
      'backbone',
      'backbone/resblock',
      'backbone/resblock/res_add',
      'backbone/resblock/res_relu',
      'backbone/pool',
      'flatten',
      'dense',
    ]);
    assert.deepEqual(await cutAt('residual', RESIDUAL.block), [8, 8, 4]);
    assert.deepEqual(await cutAt('residual', RESIDUAL.add), [8, 8, 4]);
    assert.deepEqual(await cutAt('residual', RESIDUAL.backbone), [4, 4, 4]);
  });

  it('real runs on the Teachable Machine export cut at the pooling layer, inside the functional model and at the block', async () => {
    await makeDataset(path.join(root, 'data'), 3, 6, 32);
    for (const cut of [TM.pooling, 'sequential_5/model2/block_2_add', TM.base]) {
      const file = writeExperiment(root, cut.replace(/\W/g, '_'), {
        baseModel: 'tm/model.json',
        dataset: { path: 'data', imageSize: [32, 32], validationSplit: 0.34, seed: 1 },
        freezeUpTo: TM.outRelu,
        head: { cutAt: cut, hiddenUnits: [] },
        training: { epochs: 1, batchSize: 6, learningRate: 0.01, backend: 'cpu', earlyStopping: false },
      });
      const outcome = await runExperiment({
        experimentPath: file,
        runsDir: path.join(root, 'runs'),
        onEvent: () => undefined,
      });
      assert.equal(outcome.status, 'completed', `${cut}: ${outcome.error}`);
      const record = JSON.parse(fs.readFileSync(path.join(outcome.runDir, 'run.json'), 'utf8')) as RunRecord;
      assert.equal(record.epochsCompleted, 1);
    }
  });
});
