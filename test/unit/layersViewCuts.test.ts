/**
 * "Set As Head Cut" in the Layers view is offered only where a cut works: on the layer tree of a
 * Teachable Machine export read from model.json as JSON (as in Restricted Mode, without TensorFlow.js),
 * through the real LayersViewProvider and package.json's `when` clause for the menu item.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { topologyLayerTree } from '../../src/core/model/topologyLayerTree';
import type { ExperimentService } from '../../src/host/experiments/experimentService';
import { LayersViewProvider, type LayerItem } from '../../src/host/views/layersView';
import { TM, saveTeachableMachineModel } from '../helpers/exportFixtures';
import { tempDir } from '../helpers/fixtureModels';
import * as vscode from '../helpers/fakeVscodeApi';

/** The `when` clause of a command in the Layers view's item context menu, as a test on a context value. */
function menuWhen(command: string): (contextValue: string) => boolean {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8'));
  const entry = manifest.contributes.menus['view/item/context'].find(
    (m: { command: string }) => m.command === command,
  );
  const when: string = entry.when;
  assert.match(when, /^view == fineTune\.layers && viewItem =~ \/(.+)\/$/);
  const regex = new RegExp(/viewItem =~ \/(.+)\/$/.exec(when)![1]);
  return (value) => regex.test(value);
}

let modelJson: string;

describe('Layers view: Set As Head Cut', () => {
  before(async () => {
    // TensorFlow.js only writes the fixture; the view reads it as JSON.
    await initBackend('cpu');
    modelJson = await saveTeachableMachineModel(path.join(tempDir('layers-cut'), 'tm'));
  });

  it('is offered on every layer and block where a cut works, and on none inside a residual branch', async () => {
    const uri = vscode.Uri.file('/ws/tm.finetune.json');
    const layers = topologyLayerTree(modelJson);
    const d = structuredClone(DEFAULTS);
    const snapshot: ExperimentPanelState = {
      experimentPath: uri.fsPath,
      document: {},
      config: {
        ...d,
        name: 'tm',
        baseModel: modelJson,
        dataset: { ...d.dataset, path: '/ws/d', imageSize: [32, 32] },
        layers: {},
      } as ExperimentConfig,
      errors: [],
      warnings: [],
      layers,
      layerStates: {},
      cutAt: TM.hidden,
    };
    const experiments = {
      active: uri,
      resolveActive: async () => uri,
      snapshot: async () => snapshot,
      onDidChangeActive: () => new vscode.Disposable(),
      onDidChange: () => new vscode.Disposable(),
    } as unknown as ExperimentService;
    const createTreeView = vscode.window.createTreeView;
    vscode.window.createTreeView = () =>
      ({ ...createTreeView(), onDidChangeCheckboxState: () => new vscode.Disposable() }) as never;
    const view = new LayersViewProvider(experiments);
    vscode.window.createTreeView = createTreeView;
    await view.refresh();
    const items: LayerItem[] = [];
    const visit = (list: LayerItem[]): void =>
      list.forEach((item) => {
        items.push(item);
        visit(view.getChildren(item));
      });
    visit(view.getChildren());
    const offersCut = menuWhen('fineTune.layers.setCut');
    const offered = items.filter((i) => offersCut(String(i.contextValue))).map((i) => i.node.path);
    const refused = items.filter((i) => !offersCut(String(i.contextValue))).map((i) => i.node.path);
    for (const p of [
      TM.base,
      TM.mobilenet,
      TM.outRelu,
      TM.pooling,
      'sequential_5/model2/block_2_add',
      TM.head,
      TM.hidden,
    ])
      assert.ok(offered.includes(p), `offered at ${p}`);
    assert.deepEqual(
      refused,
      items.map((i) => i.node.path).filter((p) => /block_[24]_(expand|depthwise|project)/.test(p)),
    );
    // The other layer actions stay where they were: re-initialise on every leaf, freeze on everything.
    const reinit = menuWhen('fineTune.layers.toggleReinit');
    assert.deepEqual(
      items.filter((i) => reinit(String(i.contextValue))).map((i) => i.node.path),
      items.filter((i) => !i.node.children).map((i) => i.node.path),
    );
    const freeze = menuWhen('fineTune.freezeUpTo');
    assert.ok(items.every((i) => freeze(String(i.contextValue))));
    view.dispose();
  });
});
