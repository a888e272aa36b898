/**
 * The extension host on a hostile cloned repository (issue 16), with the stand-in `vscode`: the Runs view
 * lists run folders whose run.json is a link to /dev/zero, whose metrics.jsonl is a FIFO and whose sweep
 * state.json is a link to /dev/zero, and says why each is unreadable (it read forever before); the
 * training panel of a run whose summary.json is /dev/zero opens without a summary; the Datasets view does
 * not scan an experiment's `dataset.path: "/"` (outside the workspace) until the user confirms, and then
 * scans with bounds; an experiment file that is a link to /dev/zero is refused; the Layers view's model.json
 * is parsed once per version of the file, not on every keystroke; Apply Best Trial, Compare Trials and
 * Re-run never edit, read or write what a run.json or state.json names outside the workspace.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelJsonFactsReads } from '../../src/core/model/modelJsonFacts';
import { ExperimentService } from '../../src/host/experiments/experimentService';
import { ModelDescriber } from '../../src/host/modelDescriber';
import { stateFromDisk } from '../../src/host/panels/trainingPanel';
import { registerRunCommands } from '../../src/host/commands/runCommands';
import { registerSweepCommands } from '../../src/host/sweeps/sweepCommands';
import { DatasetsViewProvider } from '../../src/host/views/datasetsView';
import type { DatasetNode } from '../../src/host/views/datasetEntry';
import { RunItem } from '../../src/host/views/runItem';
import { RunsViewProvider } from '../../src/host/views/runsView';
import * as vscode from '../helpers/fakeVscodeApi';
import { tempDir } from '../helpers/fixtureModels';
import { parseExperimentText } from '../../src/core/config/loadExperiment';
import { writeHostileRuns, writeRootDatasetExperiment, type HostileRuns } from '../helpers/hostileFixtures';

const unix = process.platform !== 'win32';
const REPO = path.resolve(__dirname, '../../..');

/** Polls until `probe` gives a value (the views read asynchronously); fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function useWorkspace(dir: string): void {
  vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(dir), name: path.basename(dir), index: 0 }];
}

describe('the extension host on a hostile repository', { skip: !unix }, () => {
  let ws: string;
  let runs: HostileRuns;
  before(() => {
    ws = tempDir('hostile-ws');
    runs = writeHostileRuns(ws);
    // A sweep whose state.json is a link to /dev/zero.
    const sweep = path.join(ws, '.finetune', 'sweeps', '20250101-000000-zero');
    fs.mkdirSync(sweep, { recursive: true });
    fs.symlinkSync('/dev/zero', path.join(sweep, 'state.json'));
    useWorkspace(ws);
  });
  after(() => {
    vscode.workspace.workspaceFolders = undefined;
    vscode.workspace.findFiles = async () => [];
  });

  it('the Runs view lists every run and says why the hostile ones are unreadable', async () => {
    const view = new RunsViewProvider();
    try {
      await view.refresh();
      const items = view.getChildren();
      const byId = new Map(
        items.filter((i): i is RunItem => i instanceof RunItem).map((i) => [i.run.id, i] as const),
      );
      assert.equal(byId.size, 4, items.map((i) => String(i.label)).join(', '));
      const zero = byId.get(path.basename(runs.zeroRun))!;
      assert.equal(zero.contextValue, 'fineTune.run.unreadable');
      assert.match(String(zero.description), /run\.json is unreadable \(not a regular file/);
      const fifo = byId.get(path.basename(runs.fifoRun))!;
      assert.match(fifo.run.metricsUnreadable ?? '', /metrics\.jsonl is unreadable \(not a regular file\)/);
      assert.equal(fifo.run.effectiveStatus, 'completed');
      // The sweep with state.json → /dev/zero: listed as unreadable, not read forever.
      const sweepItems = view.allSweeps();
      assert.equal(sweepItems.length, 1);
      assert.match(
        sweepItems[0].sweep.unreadable ?? '',
        /state\.json is unreadable \(a symbolic link|not a regular file\)/,
      );
    } finally {
      view.dispose();
    }
  });

  it('the training panel of a run whose summary.json is /dev/zero opens without a summary', async () => {
    const state = await stateFromDisk(runs.zeroSummaryRun);
    assert.equal(state.summary, undefined);
    assert.equal(state.metrics.length, 1);
    const zero = await stateFromDisk(runs.zeroRun);
    assert.equal(zero.status, 'failed');
    assert.match(zero.error ?? '', /run folder unreadable: run\.json is unreadable/);
  });

  it('an experiment file that is a link to /dev/zero is refused, not read forever', async () => {
    const link = path.join(ws, 'zero.finetune.json');
    fs.symlinkSync('/dev/zero', link);
    try {
      const experiments = new ExperimentService(new ModelDescriber('unused'));
      await assert.rejects(experiments.text(vscode.Uri.file(link) as never), /not a regular file/);
      experiments.dispose();
    } finally {
      fs.rmSync(link);
    }
  });

  it('the Datasets view does not scan dataset.path "/" until the user confirms; then the scan is bounded', async () => {
    const experiment = writeRootDatasetExperiment(ws);
    // A second experiment whose dataset is outside the workspace: a small one, so the confirmed scan ends.
    const outside = tempDir('hostile-outside-data');
    for (const cls of ['a', 'b'])
      for (let i = 0; i < 3; i++) {
        fs.mkdirSync(path.join(outside, cls), { recursive: true });
        fs.writeFileSync(path.join(outside, cls, `${i}.png`), 'x');
      }
    const second = path.join(ws, 'outside.finetune.json');
    fs.writeFileSync(
      second,
      JSON.stringify({ name: 'o', baseModel: 'm/model.json', dataset: { path: outside } }),
    );
    (vscode.workspace as { findFiles: () => Promise<unknown[]> }).findFiles = async () => [
      vscode.Uri.file(experiment),
      vscode.Uri.file(second),
    ];
    const experiments = {
      onDidChange: () => new vscode.Disposable(),
      onDidChangeActive: () => new vscode.Disposable(),
      text: async (uri: { fsPath: string }) => fs.readFileSync(uri.fsPath, 'utf8'),
      active: undefined,
    } as unknown as ExperimentService;
    const provider = new DatasetsViewProvider(experiments);
    try {
      const nodeOf = (root: string): DatasetNode | undefined =>
        provider.getChildren().find((n) => n.kind === 'dataset' && n.entry.root === root);
      const rootNode = await until('"/" listed as outside', () => {
        const node = nodeOf(path.resolve('/'));
        return node?.entry.state.kind === 'outside' ? node : undefined;
      });
      const item = provider.getTreeItem(rootNode);
      assert.equal(item.contextValue, 'fineTune.datasetOutside');
      assert.match(String(item.description), /outside the workspace — not scanned/);
      const outsideNode = await until('the outside dataset listed as outside', () => {
        const node = nodeOf(outside);
        return node?.entry.state.kind === 'outside' ? node : undefined;
      });
      // Declined: still not scanned.
      vscode.recorded.warnings.length = 0;
      vscode.answers.next = undefined;
      await provider.scanOutside(outsideNode);
      assert.match(vscode.recorded.warnings[0] ?? '', /outside the workspace/);
      assert.equal(nodeOf(outside)?.entry.state.kind, 'outside');
      // Confirmed: scanned (bounded by VIEW_SCAN_LIMITS), and "/" still is not.
      vscode.answers.next = 'Scan';
      await provider.scanOutside(nodeOf(outside));
      const scanned = await until('the confirmed scan', () => {
        const state = nodeOf(outside)?.entry.state;
        return state?.kind === 'ok' ? state.scan : undefined;
      });
      assert.deepEqual(scanned.classNames, ['a', 'b']);
      assert.equal(scanned.imageCount, 6);
      assert.equal(nodeOf(path.resolve('/'))?.entry.state.kind, 'outside');
    } finally {
      provider.dispose();
      fs.rmSync(experiment);
      fs.rmSync(second);
    }
  });

  it('the Layers view parses a model.json once per version of the file, not on every keystroke', async () => {
    const model = path.join(ws, 'model-keys');
    fs.mkdirSync(model);
    // Topology only: the facts (input size, layer tree) need no weights.
    fs.writeFileSync(
      path.join(model, 'model.json'),
      JSON.stringify({
        format: 'layers-model',
        modelTopology: {
          class_name: 'Sequential',
          config: {
            name: 'm',
            layers: [
              {
                class_name: 'Conv2D',
                config: {
                  name: 'conv1',
                  filters: 2,
                  kernel_size: [3, 3],
                  batch_input_shape: [null, 8, 8, 3],
                },
              },
              { class_name: 'Flatten', config: { name: 'flatten' } },
              { class_name: 'Dense', config: { name: 'dense', units: 2 } },
            ],
          },
        },
        weightsManifest: [],
      }),
    );
    const file = path.join(ws, 'keys.finetune.json');
    const text = (dropout: number): string =>
      JSON.stringify({
        name: 'keys',
        baseModel: 'model-keys/model.json',
        dataset: { path: 'data' },
        head: { dropout },
      });
    fs.writeFileSync(file, text(0.1));
    vscode.workspace.isTrusted = false; // Restricted Mode: the layers come from model.json as JSON
    const experiments = new ExperimentService(new ModelDescriber('unused', undefined, () => false));
    try {
      const before = modelJsonFactsReads();
      for (let keystroke = 0; keystroke < 5; keystroke++) {
        fs.writeFileSync(file, text(keystroke / 10));
        const snapshot = await experiments.snapshot(vscode.Uri.file(file) as never);
        assert.ok(snapshot.layers && snapshot.layers.length > 0, snapshot.layersError);
        assert.ok(snapshot.config, snapshot.errors.join('\n'));
        assert.deepEqual(snapshot.config.dataset.imageSize, [8, 8], 'the input size from model.json');
      }
      assert.equal(modelJsonFactsReads() - before, 1, 'model.json read once for five snapshots');
      // The model file changes: read again.
      const json = path.join(model, 'model.json');
      fs.writeFileSync(json, `${fs.readFileSync(json, 'utf8')}\n`);
      await experiments.snapshot(vscode.Uri.file(file) as never);
      assert.equal(modelJsonFactsReads() - before, 2);
    } finally {
      vscode.workspace.isTrusted = true;
      experiments.dispose();
    }
  });
});

describe('paths named by run.json and state.json stay inside the workspace', { skip: !unix }, () => {
  let ws: string;
  let victim: string;
  before(() => {
    ws = tempDir('contained-ws');
    const elsewhere = tempDir('contained-elsewhere');
    victim = path.join(elsewhere, 'victim.finetune.json');
    fs.writeFileSync(victim, '{"name": "victim"}\n');
    useWorkspace(ws);
  });
  after(() => {
    vscode.workspace.workspaceFolders = undefined;
  });

  it('Apply Best Trial refuses an experiment outside the workspace; Compare Trials drops runs outside it', async () => {
    const sweepDir = path.join(ws, '.finetune', 'sweeps', '20250101-000000-s');
    fs.mkdirSync(sweepDir, { recursive: true });
    const insideRun = path.join(ws, '.finetune', 'runs', 'r1');
    fs.mkdirSync(insideRun, { recursive: true });
    fs.writeFileSync(
      path.join(sweepDir, 'state.json'),
      JSON.stringify({
        id: '20250101-000000-s',
        name: 's',
        status: 'completed',
        createdAt: '2025-01-01T00:00:00.000Z',
        sweepPath: path.join(path.dirname(victim), 'x.sweep.json'),
        experimentPath: victim,
        metric: { name: 'val_accuracy', goal: 'max' },
        trials: [
          { trial: 0, state: 'completed', params: {}, runDir: insideRun },
          { trial: 1, state: 'completed', params: {}, runDir: path.dirname(victim) },
        ],
        best: { trial: 0, score: 0.9, params: { 'head.dropout': 0.3 } },
      }),
    );
    const edits: unknown[] = [];
    const compared: string[][] = [];
    const disposables = registerSweepCommands({
      extensionUri: vscode.Uri.file(REPO) as never,
      log: vscode.createLogChannel() as never,
      experiments: {
        applyEdits: async (...args: unknown[]) => {
          edits.push(args);
          return true;
        },
      } as never,
      runs: { view: { selection: [] }, allSweeps: () => [], refresh: async () => {} } as never,
      env: () => process.env,
      compare: (dirs) => void compared.push(dirs),
    });
    try {
      vscode.recorded.errors.length = 0;
      await vscode.commands.registered.get('fineTune.sweeps.applyBest')!(sweepDir);
      assert.deepEqual(edits, [], 'nothing edited');
      assert.match(vscode.recorded.errors[0] ?? '', /outside the workspace/);
      assert.equal(fs.readFileSync(victim, 'utf8'), '{"name": "victim"}\n');
      await vscode.commands.registered.get('fineTune.sweeps.compare')!(sweepDir);
      assert.deepEqual(compared, [[insideRun]]);
      vscode.recorded.errors.length = 0;
      await vscode.commands.registered.get('fineTune.sweeps.resume')!(sweepDir);
      assert.match(
        vscode.recorded.errors[0] ?? '',
        /cannot be resumed: .*does not exist|outside the workspace/,
      );
    } finally {
      disposables.forEach((d) => d.dispose());
    }
  });

  it('Re-run neither trains nor writes next to an experiment file outside the workspace', async () => {
    const runDir = path.join(ws, '.finetune', 'runs', '20250101-000009-rerun');
    fs.mkdirSync(runDir, { recursive: true });
    const { config } = parseExperimentText(
      JSON.stringify({
        name: 'victim',
        baseModel: 'm/model.json',
        dataset: { path: 'data', imageSize: [8, 8] },
      }),
      path.join(ws, 'victim.finetune.json'),
    );
    fs.writeFileSync(
      path.join(runDir, 'run.json'),
      JSON.stringify({
        id: path.basename(runDir),
        name: 'victim',
        status: 'completed',
        startedAt: '2025-01-01T00:00:00.000Z',
        pid: 1,
        hostname: 'elsewhere',
        experimentPath: victim,
        config,
      }),
    );
    const started: string[] = [];
    const disposables = registerRunCommands({
      runs: { refreshRuns: async () => {}, selectedRunDirs: () => [], allRuns: () => [] } as never,
      log: vscode.createLogChannel() as never,
      compare: () => {},
      startTraining: async (uri) => void started.push(uri.fsPath),
    });
    try {
      vscode.recorded.warnings.length = 0;
      vscode.answers.next = 'Write victim-rerun.finetune.json and Train';
      await vscode.commands.registered.get('fineTune.runs.rerun')!(runDir);
      assert.match(vscode.recorded.warnings[0] ?? '', /Re-run/);
      assert.deepEqual(started, [path.join(ws, 'victim-rerun.finetune.json')], 'written in the workspace');
      assert.ok(fs.existsSync(path.join(ws, 'victim-rerun.finetune.json')));
      assert.deepEqual(
        fs.readdirSync(path.dirname(victim)),
        ['victim.finetune.json'],
        'nothing written outside',
      );
    } finally {
      disposables.forEach((d) => d.dispose());
    }
  });
});
