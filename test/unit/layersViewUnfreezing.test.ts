/**
 * The Layers view during a run with gradual unfreezing (issue 7, point 1): layers the schedule has
 * unfrozen say "training now", the others when their turn comes — through the real LayersViewProvider with a
 * stand-in `vscode`, an experiment snapshot and the controller's unfreezing event.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import type { ExperimentService } from '../../src/host/experiments/experimentService';
import type { LiveUnfreezing } from '../../src/host/training/trainingController';
import { LayersViewProvider } from '../../src/host/views/layersView';
import * as vscode from '../helpers/fakeVscodeApi';

const leaf = (p: string, className: string, params: number): LayerNode => ({
  path: p,
  name: p.split('/').pop()!,
  className,
  outputShape: [null, 4],
  trainableParams: params,
  nonTrainableParams: 0,
});

const TREE: LayerNode[] = [
  {
    ...leaf('features', 'Sequential', 308),
    children: [
      leaf('features/conv1', 'Conv2D', 100),
      leaf('features/bn1', 'BatchNormalization', 8),
      leaf('features/conv2', 'Conv2D', 200),
    ],
  },
  leaf('flatten', 'Flatten', 0),
  leaf('dense', 'Dense', 30),
];

describe('Layers view during gradual unfreezing', () => {
  it('marks layers training now, waiting for their epoch, and nothing once the run ends', async () => {
    const uri = vscode.Uri.file('/ws/gu.finetune.json');
    const d = JSON.parse(JSON.stringify(DEFAULTS)) as typeof DEFAULTS;
    const config = {
      ...d,
      name: 'gu',
      baseModel: '/ws/m.json',
      dataset: { ...d.dataset, path: '/ws/data', imageSize: [8, 8] },
      layers: {},
      head: { ...d.head, cutAt: 'flatten' },
      training: {
        ...d.training,
        epochs: 10,
        gradualUnfreezing: { headEpochs: 2, everyEpochs: 3, blocks: 'auto' },
      },
    } as ExperimentConfig;
    const snapshot: ExperimentPanelState = {
      experimentPath: uri.fsPath,
      document: {},
      config,
      errors: [],
      warnings: [],
      layers: TREE,
      layerStates: {
        'features/conv1': 'trainable',
        'features/bn1': 'trainable',
        'features/conv2': 'trainable',
        flatten: 'trainable',
        dense: 'trainable',
      },
      cutAt: 'flatten',
    };
    const experiments = {
      active: uri,
      resolveActive: async () => uri,
      snapshot: async () => snapshot,
      onDidChangeActive: () => new vscode.Disposable(),
      onDidChange: () => new vscode.Disposable(),
    } as unknown as ExperimentService;
    const phases = new vscode.EventEmitter<LiveUnfreezing | undefined>();
    // The stand-in's tree view lacks the checkbox event the provider subscribes to.
    const createTreeView = vscode.window.createTreeView;
    vscode.window.createTreeView = () =>
      ({ ...createTreeView(), onDidChangeCheckboxState: () => new vscode.Disposable() }) as never;
    const view = new LayersViewProvider(experiments, { onDidChangeUnfreezing: phases.event as never });
    vscode.window.createTreeView = createTreeView;
    await view.refresh();
    const marks = () => {
      const out: Record<string, string | undefined> = {};
      const visit = (items: ReturnType<typeof view.getChildren>): void =>
        items.forEach((item) => {
          out[item.node.path] = item.unfreezing;
          visit(view.getChildren(item));
        });
      visit(view.getChildren());
      return out;
    };
    assert.deepEqual(Object.values(marks()).filter(Boolean), [], 'no run, no marks');
    // Blocks from the top: [conv2, flatten] at epoch 3, [conv1, bn1] at epoch 6.
    phases.fire({ experiment: uri as never, epoch: 3, trainable: ['features/conv2', 'flatten'] });
    assert.deepEqual(marks(), {
      features: 'partly training now',
      'features/conv1': 'waits for epoch 6',
      'features/bn1': 'waits for epoch 6',
      'features/conv2': 'training now',
      flatten: 'training now',
      dense: undefined,
    });
    const item = view.getChildren()[1];
    assert.match(String(item.description), /flatten.*training now/i);
    phases.fire({ experiment: vscode.Uri.file('/ws/other.finetune.json') as never, epoch: 6, trainable: [] });
    assert.deepEqual(
      Object.values(marks()).filter(Boolean),
      [],
      'another experiment’s run marks nothing here',
    );
    phases.fire(undefined);
    assert.deepEqual(Object.values(marks()).filter(Boolean), []);
    view.dispose();
  });
});
