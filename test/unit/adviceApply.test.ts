/**
 * Advice in the training panel's host (issue 7): which suggestion a click may apply (only one the host
 * computed for this run), what it changes in the experiment file, said in words — through the real
 * TrainingPanel with a stand-in `vscode` and a recording experiment service — and the run insights
 * (unfreezing phase, per-batch rates, dataset counts) read from a run folder.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Advice, AdviceAction } from '../../src/protocol/advice';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { EpochMetrics, RunRecord } from '../../src/protocol/runRecord';
import { type LayerEdit } from '../../src/protocol/webviewMessages';
import { isExperimentPanelToHost, isTrainingPanelToHost } from '../../src/protocol/messageGuards';
import { describeAdviceAction, findAdviceAction } from '../../src/host/training/adviceActions';
import {
  adviceForRun,
  loadRunInsights,
  lrStepsFromDisk,
  unfreezingFromEvent,
  unfreezingFromMetrics,
} from '../../src/host/training/runInsights';
import { TrainingPanel } from '../../src/host/panels/trainingPanel';
import * as vscode from '../helpers/fakeVscodeApi';
import { tempDir } from '../helpers/fixtureModels';

const REPO = path.resolve(__dirname, '../../..');

const ADVICE: Advice[] = [
  {
    id: 'overfitting',
    severity: 'warning',
    title: 'Overfitting from epoch 4',
    evidence: '…',
    suggestions: [
      { label: 'More dropout', action: { kind: 'setValue', path: ['head', 'dropout'], value: 0.2 } },
      { label: 'Freeze more', action: { kind: 'layerEdit', edit: { kind: 'freezeUpTo', path: 'conv2' } } },
    ],
  },
  {
    id: 'learning-rate-low',
    severity: 'info',
    title: 'Loss barely moves',
    evidence: '…',
    suggestions: [{ label: 'Find a learning rate' }],
  },
];

function metric(epoch: number, loss: number, valLoss: number, phase?: number): EpochMetrics {
  return {
    epoch,
    loss,
    accuracy: 0.95,
    val_loss: valLoss,
    val_accuracy: 0.8,
    lr: 0.001,
    time_s: 1,
    gap: valLoss - loss,
    overfitting: false,
    ...(phase !== undefined ? { phase } : {}),
  };
}

/** Loss falls, val_loss rises for the last 3 epochs: overfitting from epoch 4. */
const OVERFITTING = [
  metric(1, 1.0, 0.9, 0),
  metric(2, 0.8, 0.7, 0),
  metric(3, 0.6, 0.6, 1),
  metric(4, 0.5, 0.65, 1),
  metric(5, 0.4, 0.7, 2),
  metric(6, 0.3, 0.8, 2),
];

function runConfig(root: string, training: Partial<ExperimentConfig['training']> = {}): ExperimentConfig {
  const d = JSON.parse(JSON.stringify(DEFAULTS)) as typeof DEFAULTS;
  return {
    name: 'advice',
    baseModel: path.join(root, 'base/model.json'),
    dataset: { path: path.join(root, 'data'), imageSize: [8, 8], ...d.dataset, validationSplit: 0.25 },
    layers: {},
    head: { ...d.head },
    regularization: d.regularization,
    augmentation: d.augmentation,
    training: { ...d.training, epochs: 8, ...training },
  };
}

function record(root: string, config: ExperimentConfig, experimentPath: string): RunRecord {
  return {
    id: 'run-1',
    name: 'advice',
    status: 'completed',
    experimentPath,
    config,
    backend: 'cpu',
    requestedBackend: 'cpu',
    datasetFingerprint: 'x',
    classNames: ['a', 'b'],
    counts: { train: 40, val: 10, skipped: 0 },
    epochsPlanned: 8,
    epochsCompleted: 6,
    startedAt: new Date(0).toISOString(),
    pid: 1,
    hostname: 'h',
    warnings: [],
  };
}

const leaf = (p: string, className: string, params: number): LayerNode => ({
  path: p,
  name: p,
  className,
  outputShape: [null, 4],
  trainableParams: params,
  nonTrainableParams: 0,
});
/** conv1 → bn1 → conv2 → flatten → dense (the old classifier: the default cut is flatten). */
const TREE = [
  leaf('conv1', 'Conv2D', 100),
  leaf('bn1', 'BatchNormalization', 8),
  leaf('conv2', 'Conv2D', 200),
  leaf('flatten', 'Flatten', 0),
  leaf('dense', 'Dense', 30),
];

describe('advice actions (pure)', () => {
  it('the guards accept applyAdvice and previewAugmentation only in their shapes', () => {
    assert.ok(isTrainingPanelToHost({ type: 'applyAdvice', adviceId: 'overfitting', index: 2 }));
    for (const bad of [
      { type: 'applyAdvice', adviceId: 'overfitting' },
      { type: 'applyAdvice', adviceId: 3, index: 0 },
      { type: 'applyAdvice', adviceId: 'x'.repeat(65), index: 0 },
      { type: 'applyAdvice', adviceId: 'overfitting', index: 1.5 },
      { type: 'applyAdvice', adviceId: 'overfitting', index: -1 },
    ])
      assert.equal(isTrainingPanelToHost(bad), false, JSON.stringify(bad));
    assert.ok(isExperimentPanelToHost({ type: 'previewAugmentation', seed: 0 }));
    for (const seed of [-1, 0.5, '1', 2 ** 31, undefined])
      assert.equal(isExperimentPanelToHost({ type: 'previewAugmentation', seed }), false, String(seed));
  });

  it('only a suggestion with an action, of an advice the host computed, is found', () => {
    assert.equal(findAdviceAction(ADVICE, 'overfitting', 0)?.action.kind, 'setValue');
    assert.deepEqual(findAdviceAction(ADVICE, 'overfitting', 1)?.action, ADVICE[0].suggestions[1].action);
    assert.equal(findAdviceAction(ADVICE, 'overfitting', 2), undefined);
    assert.equal(findAdviceAction(ADVICE, 'learning-rate-low', 0), undefined, 'informational only');
    assert.equal(findAdviceAction(ADVICE, 'diverging', 0), undefined, 'not advised for this run');
    assert.equal(findAdviceAction([], 'overfitting', 0), undefined);
  });

  it('says what changes, from the file as it was (its value, else the default)', () => {
    const set = (p: (string | number)[], value: unknown): AdviceAction => ({
      kind: 'setValue',
      path: p,
      value,
    });
    assert.equal(
      describeAdviceAction(set(['head', 'dropout'], 0.4), { head: { dropout: 0.2 } }),
      'head.dropout 0.2 → 0.4',
    );
    assert.equal(
      describeAdviceAction(set(['training', 'learningRate'], 0.003), {}),
      'training.learningRate 0.001 → 0.003',
    );
    assert.equal(
      describeAdviceAction(set(['augmentation'], { ...DEFAULTS.augmentation, rotation: 15, zoom: 0.1 }), {
        augmentation: { rotation: 5 },
      }),
      'augmentation.rotation 5 → 15, augmentation.zoom 0 → 0.1',
    );
    assert.equal(
      describeAdviceAction(set(['training', 'earlyStopping'], { patience: 3 }), {
        training: { earlyStopping: false },
      }),
      'training.earlyStopping off → on (patience 3)',
    );
    assert.equal(
      describeAdviceAction(set(['training', 'earlyStopping'], { patience: 3, restoreBestWeights: true }), {
        training: { earlyStopping: { patience: 8 } },
      }),
      'training.earlyStopping.patience 8 → 3',
    );
    const edit = (e: LayerEdit): AdviceAction => ({ kind: 'layerEdit', edit: e });
    assert.equal(
      describeAdviceAction(edit({ kind: 'freezeUpTo', path: 'conv2' }), {}),
      'froze every layer up to conv2',
    );
    assert.equal(describeAdviceAction(edit({ kind: 'unfreezeAll' }), {}), 'unfroze every layer');
  });
});

describe('run insights', () => {
  let root: string;
  before(() => {
    root = tempDir('insights');
    // 12 images of class a, 6 of b (only listed, never decoded): 9 and 4 train with a 0.25 split.
    for (const [name, n] of [
      ['a', 12],
      ['b', 6],
    ] as const) {
      fs.mkdirSync(path.join(root, 'data', name), { recursive: true });
      for (let i = 0; i < n; i++) fs.writeFileSync(path.join(root, 'data', name, `${i}.png`), 'x');
    }
  });

  it('counts the smallest class as the run split it; the tree gives trainable pre-trained params and the plan', async () => {
    const gu = { headEpochs: 2, everyEpochs: 2, blocks: 'auto' as const };
    const rec = record(root, { ...runConfig(root, { gradualUnfreezing: gu }), freezeUpTo: 'conv1' }, 'x');
    const insights = await loadRunInsights(rec, async (p) => {
      assert.equal(p, rec.config.baseModel);
      return TREE;
    });
    assert.equal(insights.minImagesPerClass, 4);
    assert.equal(insights.cutAt, 'flatten');
    assert.equal(insights.trainablePretrainedParams, 8 + 200, 'bn1 and conv2 (conv1 frozen, dense cut off)');
    assert.deepEqual(insights.timeline?.blocks, [['conv2', 'flatten'], ['bn1']]);
    assert.deepEqual(
      insights.timeline?.steps.map((s) => s.epoch),
      [3, 5],
    );
    // Without the tree (model unreadable) and without the dataset: estimates, never a failure.
    const gone = record(
      root,
      { ...runConfig(root), dataset: { ...rec.config.dataset, path: '/nowhere' } },
      'x',
    );
    const rough = await loadRunInsights(gone, () => Promise.reject(new Error('no model')));
    assert.deepEqual(rough, { minImagesPerClass: 20, trainablePretrainedParams: 0, cutAt: undefined });

    const advice = adviceForRun(rec, OVERFITTING, insights);
    assert.deepEqual(
      advice.map((a) => a.id),
      ['overfitting', 'small-dataset'],
    );
  });

  it('the unfreezing phase from metrics.jsonl or from the trainer, with the next block when the plan is known', async () => {
    const gu = { headEpochs: 2, everyEpochs: 2, blocks: 'auto' as const };
    const rec = record(root, runConfig(root, { gradualUnfreezing: gu }), 'x');
    const { timeline } = await loadRunInsights(rec, async () => TREE);
    assert.deepEqual(unfreezingFromMetrics(rec, OVERFITTING.slice(0, 3)), { phase: 1, since: 3 });
    // Nothing frozen: conv1 and bn1 form the second block.
    assert.deepEqual(unfreezingFromMetrics(rec, OVERFITTING.slice(0, 3), timeline), {
      phase: 1,
      phases: 2,
      since: 3,
      trainable: ['conv2', 'flatten'],
      next: { epoch: 5, layers: ['conv1', 'bn1'] },
    });
    assert.equal(unfreezingFromMetrics(record(root, runConfig(root), 'x'), OVERFITTING), undefined, 'off');
    const last = {
      type: 'phase' as const,
      epoch: 5,
      phase: 2,
      phases: 2,
      trainable: ['a'],
      unfrozenNow: ['a'],
    };
    assert.deepEqual(unfreezingFromEvent(last, rec, timeline), {
      phase: 2,
      phases: 2,
      since: 5,
      trainable: ['a'],
    });
    const first = { ...last, epoch: 1, phase: 0, trainable: [], unfrozenNow: [] };
    assert.deepEqual(unfreezingFromEvent(first, rec, timeline).next, {
      epoch: 3,
      layers: ['conv2', 'flatten'],
    });
    const cosine = record(
      root,
      runConfig(root, { schedule: { ...DEFAULTS.training.schedule, type: 'cosine' } }),
      'x',
    );
    const steps = lrStepsFromDisk(cosine, OVERFITTING.slice(0, 2));
    assert.equal(steps.length, 2 * 2, '40 training images in batches of 32: 2 batches per epoch');
    assert.equal(steps[steps.length - 1].x, 2);
    assert.deepEqual(lrStepsFromDisk(rec, OVERFITTING), [], 'constant rate: nothing per batch');
  });
});

describe('TrainingPanel applies advice to the run’s experiment file', () => {
  it('a click on a suggestion edits the file through the experiment service and says what changed', async () => {
    const root = tempDir('applyadvice');
    const experimentPath = path.join(root, 'advice.finetune.json');
    fs.writeFileSync(experimentPath, JSON.stringify({ name: 'advice', head: { dropout: 0 } }));
    const runDir = path.join(root, '.finetune', 'runs', 'run-1');
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(
      path.join(runDir, 'run.json'),
      JSON.stringify(record(root, runConfig(root), experimentPath)),
    );
    fs.writeFileSync(
      path.join(runDir, 'metrics.jsonl'),
      OVERFITTING.map((m) => JSON.stringify(m)).join('\n') + '\n',
    );
    const calls: unknown[][] = [];
    // Only experiment files inside the workspace are edited (run.json is the repository's word).
    vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(root), name: 'ws', index: 0 }];
    const panel = TrainingPanel.show(runDir, {
      extensionUri: vscode.Uri.file(REPO) as never,
      log: vscode.createLogChannel() as never,
      isLive: () => false,
      stop: () => {},
      experiments: {
        text: async (uri) => fs.readFileSync(uri.fsPath, 'utf8'),
        setValue: async (uri, p, value) => {
          calls.push(['setValue', uri.fsPath, p, value]);
          return true;
        },
        applyLayerEdit: async (uri, edit) => {
          calls.push(['applyLayerEdit', uri.fsPath, edit]);
          return true;
        },
      },
    });
    const fake = vscode.panels.at(-1)!;
    try {
      await fake.deliver({ type: 'ready' });
      const deadline = Date.now() + 5000;
      let posted: { type: string; advice?: Advice[] } | undefined;
      while (!posted && Date.now() < deadline) {
        posted = (fake.posted as { type: string; advice?: Advice[] }[]).find((m) => m.type === 'advice');
        if (!posted) await new Promise((r) => setTimeout(r, 20));
      }
      const advice = posted?.advice ?? [];
      const overfitting = advice.find((a) => a.id === 'overfitting');
      assert.ok(overfitting, `advice: ${advice.map((a) => a.id).join(', ')}`);
      assert.deepEqual(overfitting.suggestions[0].action, {
        kind: 'setValue',
        path: ['head', 'dropout'],
        value: 0.2,
      });

      vscode.recorded.infos.length = 0;
      vscode.recorded.commands.length = 0;
      vscode.answers.next = 'Open Experiment';
      await fake.deliver({ type: 'applyAdvice', adviceId: 'overfitting', index: 0 });
      assert.deepEqual(calls, [['setValue', experimentPath, ['head', 'dropout'], 0.2]]);
      assert.equal(vscode.recorded.infos.length, 1);
      assert.match(
        vscode.recorded.infos[0],
        /advice\.finetune\.json: head\.dropout 0 → 0\.2\. The next run uses it/,
      );
      assert.deepEqual(
        vscode.recorded.commands.map((c) => [c.id, (c.args[0] as vscode.Uri).fsPath]),
        [['fineTune.openExperiment', experimentPath]],
      );

      // Anything the host did not advise is ignored: another id, an index past the end, a malformed message.
      calls.length = 0;
      for (const message of [
        { type: 'applyAdvice', adviceId: 'diverging', index: 0 },
        { type: 'applyAdvice', adviceId: 'overfitting', index: 99 },
        { type: 'applyAdvice', adviceId: 'overfitting', index: -1 },
        { type: 'applyAdvice', adviceId: { id: 'overfitting' }, index: 0 },
        { type: 'applyAdvice', adviceId: 'learning-rate-low', index: 1 },
      ]) {
        await fake.deliver(message);
      }
      assert.deepEqual(calls, []);
      // A path and value in the message are not read: the host applies its own action.
      await fake.deliver({
        type: 'applyAdvice',
        adviceId: 'overfitting',
        index: 1,
        path: ['name'],
        value: 'x',
      });
      assert.deepEqual(calls, [
        [
          'setValue',
          experimentPath,
          ['augmentation'],
          overfitting.suggestions[1].action?.kind === 'setValue'
            ? overfitting.suggestions[1].action.value
            : undefined,
        ],
      ]);
      calls.length = 0;
      // run.json naming a file outside the workspace, a link that leads out of it, or a file that is not an
      // experiment: refused with the reason, nothing edited.
      const outside = path.join(tempDir('applyadvice-outside'), 'victim.finetune.json');
      fs.writeFileSync(outside, '{}');
      const link = path.join(root, 'link.finetune.json');
      fs.symlinkSync(outside, link);
      const notExperiment = path.join(root, 'settings.json');
      fs.writeFileSync(notExperiment, '{}');
      for (const [named, why] of [
        [outside, /outside the workspace/],
        [link, /outside the workspace/],
        [notExperiment, /not a \*\.finetune\.json experiment file/],
      ] as const) {
        fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(record(root, runConfig(root), named)));
        vscode.recorded.errors.length = 0;
        await fake.deliver({ type: 'applyAdvice', adviceId: 'overfitting', index: 1 });
        assert.deepEqual(calls, [], `${named} is not edited`);
        assert.match(vscode.recorded.errors[0] ?? '', why);
      }
      assert.equal(fs.readFileSync(outside, 'utf8'), '{}');
      // The file gone: said, nothing edited.
      fs.writeFileSync(
        path.join(runDir, 'run.json'),
        JSON.stringify(record(root, runConfig(root), experimentPath)),
      );
      fs.rmSync(experimentPath);
      vscode.recorded.errors.length = 0;
      await fake.deliver({ type: 'applyAdvice', adviceId: 'overfitting', index: 1 });
      assert.deepEqual(calls, []);
      assert.match(vscode.recorded.errors[0] ?? '', /does not exist/);
    } finally {
      vscode.workspace.workspaceFolders = undefined;
      panel.dispose();
    }
  });
});
