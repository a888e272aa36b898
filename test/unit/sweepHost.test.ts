/**
 * The VS Code side of sweeps, with the stand-in `vscode` module: New Sweep from Experiment writes a
 * commented file the loader accepts (freeze points at the sample model's pooling layers); Start Sweep
 * runs the real controller in a child process (`dist/cli.js sweep --json`) with a progress notification
 * that counts trials and shows the best, and its Cancel stops every trial; the Runs view lists the sweep
 * with its trials below it; Compare Trials opens the trials' runs; Apply Best Trial writes the winning
 * values into the experiment file as one edit that keeps its comments. Restricted Mode starts nothing.
 */
import '../helpers/fakeVscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyEdits, type Edit, type FormattingOptions } from 'jsonc-parser';
import { parseExperimentText } from '../../src/core/config/loadExperiment';
import { parseSweepText } from '../../src/core/sweep/loadSweep';
import { listSweeps } from '../../src/core/sweep/sweepStore';
import { topologyLayerTree } from '../../src/core/model/topologyLayerTree';
import { paramEdits } from '../../src/host/sweeps/paramEdits';
import { registerSweepCommands } from '../../src/host/sweeps/sweepCommands';
import { ProgressTracker } from '../../src/host/sweeps/sweepSessions';
import { freezeCandidates, sweepFileName, sweepTemplate } from '../../src/host/sweeps/sweepTemplate';
import { RunItem } from '../../src/host/views/runItem';
import { RunsViewProvider } from '../../src/host/views/runsView';
import { SweepItem } from '../../src/host/views/sweepItem';
import type { ExperimentService } from '../../src/host/experiments/experimentService';
import * as vscode from '../helpers/fakeVscodeApi';
import { readState, repo, sampleExperiment, tempWorkspace, waitFor } from '../helpers/sweepFixtures';

const FORMAT: FormattingOptions = { insertSpaces: true, tabSize: 2, eol: '\n' };
const ws = tempWorkspace('fts-sweep-host-');
after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

/** A copy of the sample experiment in the workspace, so Apply Best Trial can edit it. */
const experimentFile = path.join(ws.dir, 'digits.finetune.json');
fs.writeFileSync(
  experimentFile,
  fs
    .readFileSync(sampleExperiment, 'utf8')
    .replace(
      '"models/base/model.json"',
      JSON.stringify(path.join(repo, 'samples/digits/models/base/model.json')),
    )
    .replace('"data/target"', JSON.stringify(path.join(repo, 'samples/digits/data/target'))),
);
const experimentConfig = () =>
  parseExperimentText(fs.readFileSync(experimentFile, 'utf8'), experimentFile).config;

/** An ExperimentService that applies edits to the file on disk, as VS Code's WorkspaceEdit + save would. */
const applied: Edit[][] = [];
const experiments = {
  applyEdits: async (uri: { fsPath: string }, compute: (text: string, f: FormattingOptions) => Edit[]) => {
    const text = fs.readFileSync(uri.fsPath, 'utf8');
    const edits = compute(text, FORMAT);
    applied.push(edits);
    fs.writeFileSync(uri.fsPath, applyEdits(text, edits));
    return true;
  },
  resolveActive: async () => vscode.Uri.file(experimentFile),
  snapshot: async () => ({
    config: experimentConfig(),
    layers: topologyLayerTree(experimentConfig().baseModel),
    errors: [],
  }),
} as unknown as ExperimentService;

let runs: RunsViewProvider;
const compared: { dirs: string[]; sweep?: { name: string; metric: string } }[] = [];
before(() => {
  vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(ws.dir), name: 'ws', index: 0 }];
  runs = new RunsViewProvider();
  registerSweepCommands({
    extensionUri: vscode.Uri.file(repo) as never,
    log: vscode.createLogChannel() as never,
    experiments,
    runs,
    env: () => process.env,
    compare: (dirs, sweep) => void compared.push({ dirs, sweep }),
  });
});
after(() => {
  runs.dispose();
  vscode.workspace.workspaceFolders = undefined;
});

const command = (id: string) => {
  const handler = vscode.commands.registered.get(id);
  assert.ok(handler, `${id} is registered`);
  return handler;
};

/** Replaces withProgress for one call: records the reports and lets the test press Cancel. */
function recordProgress(): { reports: string[]; cancel: () => void; restore: () => void } {
  const original = vscode.window.withProgress;
  const reports: string[] = [];
  const cancelListeners: (() => void)[] = [];
  vscode.window.withProgress = (async (
    _options: unknown,
    task: (p: unknown, t: unknown) => Promise<unknown>,
  ) =>
    task(
      { report: (value: { message?: string }) => value.message && reports.push(value.message) },
      { onCancellationRequested: (listener: () => void) => void cancelListeners.push(listener) },
    )) as typeof vscode.window.withProgress;
  return {
    reports,
    cancel: () => cancelListeners.forEach((l) => l()),
    restore: () => (vscode.window.withProgress = original),
  };
}

describe('New Sweep from Experiment', () => {
  it('writes a commented sweep beside the experiment that the loader accepts, and opens it', async () => {
    await command('fineTune.newSweep')(vscode.Uri.file(experimentFile));
    const file = path.join(ws.dir, 'digits.sweep.json');
    assert.equal(sweepFileName('digits.finetune.json'), 'digits.sweep.json');
    assert.deepEqual(vscode.recorded.shown.slice(-1), [file]);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^\/\/ A sweep over digits\.finetune\.json/);
    assert.match(text, /\/\/ The new head's learning rate, a decade either side of the experiment's 0\.001/);
    const loaded = parseSweepText(text, file);
    const { warnings } = loaded;
    const config = JSON.parse(JSON.stringify(loaded.config)) as typeof loaded.config; // plain objects
    assert.deepEqual(warnings, []);
    assert.equal(config.experimentPath, experimentFile);
    assert.deepEqual(config.parameters['training.learningRate'], {
      min: 0.0001,
      max: 0.01,
      distribution: 'log_uniform',
    });
    assert.deepEqual(config.parameters.freezeUpTo, {
      values: ['features/pool1', 'features/pool2', 'features/pool3'],
    });
    assert.deepEqual(config.earlyTermination, { type: 'asha', minEpochs: 2, reductionFactor: 3 });
    // A second one does not overwrite the first.
    await command('fineTune.newSweep')(vscode.Uri.file(experimentFile));
    assert.ok(fs.existsSync(path.join(ws.dir, 'digits-2.sweep.json')));
    fs.rmSync(path.join(ws.dir, 'digits-2.sweep.json'));
  });

  it('offers only freeze points before the head, the experiment’s own among them', () => {
    const layers = topologyLayerTree(experimentConfig().baseModel);
    assert.deepEqual(freezeCandidates(layers, { ...experimentConfig(), freezeUpTo: 'features/conv2' }), [
      'features/pool1',
      'features/conv2',
      'features/pool2',
      'features/pool3',
    ]);
    const noLayers = sweepTemplate({ experimentFile: 'x.finetune.json', config: experimentConfig() });
    assert.ok(!noLayers.includes('"freezeUpTo"'), 'without the model no freeze points are guessed');
  });
});

describe('Start Sweep, the Runs view, Compare Trials and Apply Best Trial', { timeout: 300_000 }, () => {
  let sweepFile: string;

  it('runs the sweep in a child process with a progress notification, then offers the next steps', async () => {
    sweepFile = path.join(ws.dir, 'small.sweep.json');
    fs.writeFileSync(
      sweepFile,
      JSON.stringify({
        name: 'small',
        experiment: 'digits.finetune.json',
        method: 'grid',
        parameters: {
          'head.dropout': { values: [0.1, 0.5] },
          'training.learningRate': { values: [0.004] },
          'training.epochs': { values: [2] },
        },
        parallel: 2,
      }),
    );
    const progress = recordProgress();
    try {
      await command('fineTune.startSweep')(vscode.Uri.file(sweepFile));
    } finally {
      progress.restore();
    }
    assert.equal(progress.reports[0], 'starting…');
    assert.ok(progress.reports.includes('0/2 trials done'), progress.reports.join(' | '));
    assert.ok(
      progress.reports.some((r) => /^0\/2 trials done · 2 running/.test(r)),
      progress.reports.join(' | '),
    );
    assert.match(
      progress.reports[progress.reports.length - 1],
      /^2\/2 trials done · best #\d: val_accuracy [\d.]+$/,
    );
    const done = vscode.recorded.infos[vscode.recorded.infos.length - 1];
    assert.match(
      done,
      /^Fine-Tune: sweep small completed — 2\/2 trials done\. Best: trial #\d, val_accuracy [\d.]+ \(head\.dropout=0\.\d/,
    );
  });

  it('lists the sweep in the Runs view with its trials below it', async () => {
    // The view reads asynchronously: wait until a reading shows the ended sweep with both trials' runs.
    const sweep = await waitFor('the ended sweep node with its two trials', () => {
      void runs.refresh();
      return runs
        .getChildren()
        .find(
          (item): item is SweepItem =>
            item instanceof SweepItem &&
            item.contextValue === 'fineTune.sweep.ended' &&
            runs.getChildren(item).length === 2,
        );
    });
    assert.equal(sweep.label, 'small');
    assert.equal(sweep.contextValue, 'fineTune.sweep.ended');
    assert.match(String(sweep.description), /^sweep · 2\/2 done · best val_accuracy [\d.]+ \(#\d\)$/);
    const trials = runs.getChildren(sweep);
    assert.deepEqual(
      trials.map((t) => (t as RunItem).run.record?.sweep?.trial),
      [0, 1],
    );
    assert.ok(
      trials.every((t) => t instanceof RunItem && t.label === `small #${t.run.record?.sweep?.trial}`),
    );
    assert.ok(
      !runs.getChildren().some((item) => item instanceof RunItem && item.run.record?.sweep),
      'trials are not listed twice',
    );
    assert.equal(runs.allRuns().length, 2);
  });

  it('compares the trials and applies the best one as a single edit that keeps the comments', async () => {
    const sweep = runs.getChildren().find((item): item is SweepItem => item instanceof SweepItem)!;
    await command('fineTune.sweeps.compare')(sweep);
    assert.deepEqual(compared[compared.length - 1], {
      dirs: sweep.trials.map((t) => t.run.dir),
      sweep: { name: 'small', metric: 'val_accuracy' },
    });
    const best = readState(sweep.sweep.dir).best!;
    const before = fs.readFileSync(experimentFile, 'utf8');
    await command('fineTune.sweeps.applyBest')(sweep);
    assert.equal(applied[applied.length - 1].length, 1, 'one edit: one undo step');
    const after = fs.readFileSync(experimentFile, 'utf8');
    const config = parseExperimentText(after, experimentFile).config;
    assert.equal(config.head.dropout, best.params['head.dropout']);
    assert.equal(config.training.learningRate, 0.004);
    assert.equal(config.training.epochs, 2);
    assert.equal(
      after.split('\n').filter((l) => l.trim().startsWith('//')).length,
      before.split('\n').filter((l) => l.trim().startsWith('//')).length,
      'comments kept',
    );
    assert.match(vscode.recorded.infos[vscode.recorded.infos.length - 1], /now has trial #\d's values/);
  });

  it('Cancel in the notification stops every trial cleanly; Start Sweep again resumes the sweep', async () => {
    const file = path.join(ws.dir, 'long.sweep.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name: 'long',
        experiment: 'digits.finetune.json',
        method: 'grid',
        parameters: { 'head.dropout': { values: [0.2, 0.4, 0.6] }, 'training.epochs': { values: [300] } },
        parallel: 2,
      }),
    );
    const progress = recordProgress();
    let sweepDir = '';
    try {
      const started = command('fineTune.startSweep')(vscode.Uri.file(file)) as Promise<void>;
      sweepDir = await waitFor('two trials training', () => {
        const sweep = listSweeps(ws.sweepsDir).find((s) => s.state?.name === 'long');
        const training = sweep?.state?.trials.filter((t) => t.runDir && (t.epochsCompleted ?? 0) >= 1).length;
        return training === 2 ? sweep!.dir : undefined;
      });
      progress.cancel();
      await started;
    } finally {
      progress.restore();
    }
    const state = readState(sweepDir);
    assert.equal(state.status, 'stopped');
    assert.deepEqual(
      state.trials.map((t) => t.state),
      ['stopped', 'stopped', 'stopped'],
    );
    assert.match(vscode.recorded.infos[vscode.recorded.infos.length - 1], /^Fine-Tune: sweep long stopped/);
    // The stopped sweep resumes (its file unchanged): finished trials stay, the others continue.
    const resumeProgress = recordProgress();
    try {
      const resumed = command('fineTune.sweeps.resume')(sweepDir) as Promise<void>;
      await waitFor(
        'the resumed sweep running',
        () => readState(sweepDir).status === 'running' && readState(sweepDir).controller,
      );
      await waitFor('a resumed trial training', () =>
        readState(sweepDir).trials.some((t) => t.state === 'running'),
      );
      resumeProgress.cancel();
      await resumed;
    } finally {
      resumeProgress.restore();
    }
    const again = readState(sweepDir);
    assert.equal(again.status, 'stopped');
    assert.equal(again.trials.filter((t) => t.runDir).length >= 2, true);
    const resumedRun = again.trials.find(
      (t) => t.runDir && JSON.parse(fs.readFileSync(path.join(t.runDir, 'run.json'), 'utf8')).resumes,
    );
    assert.ok(resumedRun, 'a stopped trial continued in its own run folder');
  });

  it('starts nothing in Restricted Mode', async () => {
    vscode.workspace.isTrusted = false;
    try {
      const before = listSweeps(ws.sweepsDir).length;
      await command('fineTune.startSweep')(vscode.Uri.file(sweepFile));
      assert.match(vscode.recorded.warnings[vscode.recorded.warnings.length - 1], /Restricted Mode/);
      assert.equal(listSweeps(ws.sweepsDir).length, before);
    } finally {
      vscode.workspace.isTrusted = true;
    }
  });
});

describe('progress text', () => {
  it('counts trials and names the best', () => {
    const tracker = new ProgressTracker();
    const metric = { name: 'val_loss' as const, goal: 'minimize' as const };
    tracker.update({
      type: 'sweepStart',
      sweepId: 's',
      sweepDir: '/s',
      name: 's',
      trials: 4,
      parallel: 2,
      executor: 'local',
      metric,
      resumed: { finished: 1 },
    });
    tracker.update({ type: 'trialStart', trial: 1, params: {} });
    tracker.update({ type: 'best', trial: 0, score: 0.31234, params: {} });
    assert.deepEqual(tracker.update({ type: 'trialEnd', trial: 1, state: 'pruned' }), {
      message: '2/4 trials done · 1 stopped early · best #0: val_loss 0.3123',
      increment: 25,
    });
  });

  it('edits nothing when the values are already there', () => {
    const text = fs.readFileSync(experimentFile, 'utf8');
    const config = experimentConfig();
    assert.deepEqual(paramEdits(text, { 'head.dropout': config.head.dropout }, FORMAT), []);
  });
});
