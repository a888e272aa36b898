/**
 * Workspace Trust (issue 6, point 6), through the real host code with a stand-in `vscode` module whose
 * `workspace.isTrusted` the test flips: in Restricted Mode experiment files, runs, datasets and layers (read
 * from model.json as text) are browsable, while training and loading models with TensorFlow.js are refused
 * with an explanation; trusting the workspace enables them without a reload. The manifest declares the
 * limited support.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scanDataset } from '../../src/core/data/scanDataset';
import { listRuns } from '../../src/core/runs/readRuns';
import { ExperimentService } from '../../src/host/experiments/experimentService';
import { ModelDescriber } from '../../src/host/modelDescriber';
import { TrainingController } from '../../src/host/training/trainingController';
import { registerFindLearningRateCommand } from '../../src/host/commands/findLearningRate';
import { RESTRICTED_LAYERS_NOTE } from '../../src/host/restrictedMode';
import { MANAGE_TRUST, onTrustGranted } from '../../src/host/workspaceTrust';
import type { LayerNode } from '../../src/protocol/layerTree';
import * as vscode from '../helpers/fakeVscodeApi';
import { writeExperiment } from '../helpers/fixtureDataset';
import { tempDir } from '../helpers/fixtureModels';

const REPO = path.resolve(__dirname, '../../..');
const SAMPLE = path.join(REPO, 'samples/digits');

interface Manifest {
  capabilities?: {
    untrustedWorkspaces?: { supported: unknown; description?: string; restrictedConfigurations?: string[] };
  };
  contributes: {
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, unknown> };
  };
}

describe('Workspace Trust', () => {
  let root: string;
  let experiment: string;
  before(() => {
    root = tempDir('trust');
    fs.cpSync(path.join(SAMPLE, 'models'), path.join(root, 'models'), { recursive: true });
    experiment = writeExperiment(root, 'trust', {
      baseModel: 'models/base/model.json',
      dataset: { path: path.join(SAMPLE, 'data/target'), imageSize: [28, 28] },
      training: { epochs: 1 },
    });
    vscode.workspace.isTrusted = false;
  });
  after(() => {
    vscode.workspace.isTrusted = true;
  });

  it('the manifest declares limited support with a description, and hides training buttons when untrusted', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Manifest;
    const untrusted = manifest.capabilities?.untrustedWorkspaces;
    assert.equal(untrusted?.supported, 'limited');
    assert.match(untrusted?.description ?? '', /Restricted Mode/);
    assert.match(untrusted?.description ?? '', /training/i);
    // A setting that names a folder code is loaded from must not be taken from an untrusted workspace.
    const codePaths = Object.keys(manifest.contributes.configuration.properties).filter((key) =>
      /BackendPath$/.test(key),
    );
    assert.ok(codePaths.length >= 1);
    for (const key of codePaths)
      assert.ok(untrusted?.restrictedConfigurations?.includes(key), `${key} is restricted`);
    const trainingEntries = Object.values(manifest.contributes.menus)
      .flat()
      .filter(
        (m) =>
          m.command !== undefined && /startTraining|\.rerun$|\.resume$/.test(m.command) && m.when !== 'false',
      );
    assert.ok(trainingEntries.length >= 3);
    for (const entry of trainingEntries)
      assert.match(
        entry.when ?? '',
        /isWorkspaceTrusted/,
        `${entry.command} (${entry.when}) waits for trust`,
      );
  });

  it('Restricted Mode: no training — the user is told why and can manage trust; no trainer starts', async () => {
    const controller = new TrainingController(
      vscode.Uri.file(REPO) as never,
      vscode.createLogChannel() as never,
    );
    vscode.recorded.warnings.length = 0;
    vscode.recorded.commands.length = 0;
    vscode.answers.next = MANAGE_TRUST;
    await controller.start(vscode.Uri.file(experiment) as never);
    assert.equal(controller.running, false, 'no trainer was launched');
    assert.equal(vscode.recorded.warnings.length, 1);
    assert.match(
      vscode.recorded.warnings[0],
      /Training trust\.finetune\.json is disabled in Restricted Mode/,
    );
    assert.match(vscode.recorded.warnings[0], /runs TensorFlow\.js and the image decoder on this workspace/);
    assert.deepEqual(
      vscode.recorded.commands.map((c) => c.id),
      ['workbench.trust.manage'],
    );
    assert.equal(fs.existsSync(path.join(root, '.finetune')), false, 'no run folder');
    controller.dispose();
  });

  it('Restricted Mode: Find Learning Rate waits for trust; no trainer starts', async () => {
    const command = registerFindLearningRateCommand({
      extensionUri: vscode.Uri.file(REPO) as never,
      log: vscode.createLogChannel() as never,
      experiments: {} as never,
      resolveExperiment: async () => vscode.Uri.file(experiment) as never,
      isTraining: () => false,
      trainerEnv: () => process.env,
    });
    try {
      vscode.recorded.warnings.length = 0;
      await vscode.commands.registered.get('fineTune.findLearningRate')!(vscode.Uri.file(experiment));
      assert.match(vscode.recorded.warnings[0] ?? '', /disabled in Restricted Mode/);
      assert.equal(vscode.panels.filter((p) => p.viewType === 'fineTune.lrFinder').length, 0);
    } finally {
      command.dispose();
    }
  });

  it("the README's Restricted Mode section and the manifest's description name the same trusted-only work", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Manifest;
    const description = manifest.capabilities?.untrustedWorkspaces?.description ?? '';
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Restricted Mode and cloned repositories'));
    const trustedColumn = section
      .split('\n')
      .filter(
        (line) => line.startsWith('| ') && !line.startsWith('| ---') && !line.startsWith('| in Restricted'),
      )
      .map((line) => line.split('|')[2] ?? '')
      .join(' ');
    for (const [inReadme, inManifest] of [
      [/Start Training/, /Training/],
      [/Resume Run/, /resuming/],
      [/Sweep/, /sweeps/],
      [/Find Learning Rate/, /learning-rate finder/],
      [/augmentation preview/, /augmentation preview/],
      [/ONNX/, /ONNX export/],
    ] as const) {
      assert.match(trustedColumn, inReadme);
      assert.match(description, inManifest);
    }
    assert.match(section, /fineTune\.nativeBackendPath.*loads native code/s);
    assert.match(description, /nativeBackendPath loads native code; in Restricted Mode it is ignored/);
  });

  it('Restricted Mode: the experiment, its layers (as text), datasets and runs are browsable; TensorFlow.js never runs', async () => {
    // A trainer script that does not exist: any attempt to load the model in a child process would fail.
    const untrustedDescriber = new ModelDescriber(
      path.join(root, 'no-trainer.js'),
      60000,
      () => vscode.workspace.isTrusted,
    );
    const experiments = new ExperimentService(untrustedDescriber);
    const state = await experiments.snapshot(vscode.Uri.file(experiment) as never);
    assert.ok(state.config, 'the experiment file is parsed and validated');
    assert.deepEqual(state.errors, []);
    assert.equal(state.layersError, undefined, state.layersError);
    assert.ok((state.layers ?? []).length > 0, 'the layer tree is there, read from model.json as text');
    assert.ok(
      state.warnings.includes(RESTRICTED_LAYERS_NOTE),
      'and says why shapes and training are missing',
    );
    assert.ok(
      Object.keys(state.layerStates).length > 0,
      'freezing can be edited (it only edits the experiment file)',
    );
    // Datasets and runs are file listings and JSON: nothing to refuse.
    assert.ok((await scanDataset(path.join(SAMPLE, 'data/target'))).classNames.length >= 2);
    assert.deepEqual(listRuns(path.join(root, '.finetune', 'runs')), []);
    experiments.dispose();

    // Trusting the workspace: views re-read, and the model is loaded with TensorFlow.js (shapes, params).
    let refreshed = 0;
    const subscription = onTrustGranted(() => refreshed++);
    vscode.workspace.grantTrust();
    assert.equal(refreshed, 1);
    const trustedService = new ExperimentService(
      new ModelDescriber(path.join(REPO, 'dist/trainer.js'), 60000, () => vscode.workspace.isTrusted),
    );
    const trusted = await trustedService.snapshot(vscode.Uri.file(experiment) as never);
    assert.equal(trusted.layersError, undefined, trusted.layersError);
    assert.ok(!trusted.warnings.includes(RESTRICTED_LAYERS_NOTE));
    const paths = (nodes: LayerNode[]): string[] =>
      nodes.flatMap((n) => [n.path, ...paths(n.children ?? [])]);
    assert.deepEqual(
      paths(trusted.layers ?? []),
      paths(state.layers ?? []),
      'the same layers, now with shapes',
    );
    assert.ok((trusted.layers ?? []).some((n) => n.trainableParams > 0));
    subscription.dispose();
    trustedService.dispose();
  });
});
