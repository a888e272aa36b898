/**
 * The sweep commands: Start Sweep (on a *.sweep.json), New Sweep from Experiment, Cancel Sweep, and on a
 * sweep in the Runs view Compare Trials, Apply Best Trial, Resume Sweep and Open Sweep File. Apply Best
 * Trial writes the winning trial's values into the experiment file as one undoable edit, through the
 * ExperimentService like every other edit of an experiment.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeParams, formatParamValue } from '../../core/sweep/loadSweep';
import { readSweepAsync, requestCancelAsync, type SweepListing } from '../../core/sweep/sweepStore';
import { errorMessage } from '../../core/userError';
import type { SweepMetricName } from '../../protocol/sweepConfig';
import type { ExperimentService } from '../experiments/experimentService';
import type { RunsViewProvider } from '../views/runsView';
import { SweepItem } from '../views/sweepItem';
import { experimentFileProblem, isInWorkspace, sweepFileProblem } from '../workspacePaths';
import { paramEdits } from './paramEdits';
import { SweepSessions } from './sweepSessions';
import { sweepFileName, sweepTemplate } from './sweepTemplate';

export const SWEEP_GLOB = '**/*.sweep.json';

export interface SweepCommandContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  experiments: ExperimentService;
  runs: RunsViewProvider;
  env: () => NodeJS.ProcessEnv;
  /** Opens the Compare panel on these run folders (a sweep's trials: with its name and metric). */
  compare: (runDirs: string[], sweep?: { name: string; metric: SweepMetricName }) => void;
}

const isSweepUri = (uri: unknown): uri is vscode.Uri =>
  uri instanceof vscode.Uri && uri.scheme === 'file' && uri.fsPath.endsWith('.sweep.json');

/** A sweep from a Runs-view node, a folder path, or the one the user picks. */
async function pickSweep(
  runs: RunsViewProvider,
  arg: unknown,
  purpose: string,
): Promise<SweepListing | undefined> {
  if (arg instanceof SweepItem) return readSweepAsync(arg.sweep.dir);
  if (typeof arg === 'string') {
    const sweep = await readSweepAsync(arg);
    if (sweep.state) return sweep;
  }
  const selected = (runs.view.selection ?? []).find((item): item is SweepItem => item instanceof SweepItem);
  if (selected) return readSweepAsync(selected.sweep.dir);
  const sweeps = runs.allSweeps();
  if (sweeps.length === 0) {
    void vscode.window.showInformationMessage(
      'Fine-Tune: no sweeps yet. Start one with "Fine-Tune: Start Sweep".',
    );
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    sweeps.map((item) => ({ label: String(item.label), description: item.description as string, item })),
    { placeHolder: purpose },
  );
  return pick ? readSweepAsync(pick.item.sweep.dir) : undefined;
}

async function pickSweepFile(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (isSweepUri(active)) return active;
  const found = await vscode.workspace.findFiles(SWEEP_GLOB, '**/node_modules/**', 200);
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    const create = 'New Sweep from Experiment';
    const choice = await vscode.window.showInformationMessage(
      'Fine-Tune: no *.sweep.json file in this workspace.',
      create,
    );
    if (choice === create) await vscode.commands.executeCommand('fineTune.newSweep');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    found.map((uri) => ({
      label: path.basename(uri.fsPath),
      description: vscode.workspace.asRelativePath(uri),
      uri,
    })),
    { placeHolder: 'Which sweep?' },
  );
  return pick?.uri;
}

export function registerSweepCommands(context: SweepCommandContext): vscode.Disposable[] {
  const { runs, log, experiments } = context;
  /** The trials' run folders that exist inside the workspace (state.json is a file a repository may hold). */
  const trialDirs = async (sweep: SweepListing): Promise<string[]> => {
    const named = (sweep.state?.trials ?? []).flatMap((t) =>
      typeof t.runDir === 'string' ? [t.runDir] : [],
    );
    const inside = await Promise.all(named.map((dir) => isInWorkspace(dir)));
    return named.filter((_, i) => inside[i]);
  };

  const compareTrials = async (sweepDir: string): Promise<void> => {
    const sweep = await readSweepAsync(sweepDir);
    const dirs = await trialDirs(sweep);
    if (dirs.length === 0)
      void vscode.window.showInformationMessage('Fine-Tune: no trial of this sweep has a run yet.');
    else
      context.compare(
        dirs,
        sweep.state ? { name: sweep.state.name, metric: sweep.state.metric.name } : undefined,
      );
  };

  const applyBest = async (sweepDir: string): Promise<void> => {
    const state = (await readSweepAsync(sweepDir)).state;
    const best = state?.best;
    if (!state || !best) {
      void vscode.window.showInformationMessage('Fine-Tune: no trial of this sweep has a score yet.');
      return;
    }
    // state.json is the repository's word: only a *.finetune.json inside the workspace is edited.
    const problem = await experimentFileProblem(state.experimentPath);
    if (problem) {
      void vscode.window.showErrorMessage(
        `Fine-Tune: the best trial's values cannot be applied: ${problem}.`,
      );
      return;
    }
    const uri = vscode.Uri.file(state.experimentPath);
    try {
      const applied = await experiments.applyEdits(uri, (text, formatting) =>
        paramEdits(text, best.params, formatting),
      );
      if (!applied) throw new Error('VS Code did not apply the edit');
    } catch (error) {
      void vscode.window.showErrorMessage(
        `Fine-Tune: cannot write ${path.basename(uri.fsPath)}: ${errorMessage(error)}`,
      );
      return;
    }
    log.info(
      `sweep ${state.id}: applied trial ${best.trial}'s values to ${uri.fsPath}: ${describeParams(best.params)}`,
    );
    const open = 'Open Experiment';
    const choice = await vscode.window.showInformationMessage(
      `Fine-Tune: ${path.basename(uri.fsPath)} now has trial #${best.trial}'s values (${state.metric.name} ${formatParamValue(best.score)}): ${describeParams(best.params)}. Undo in the file reverts it.`,
      open,
    );
    if (choice === open) await vscode.window.showTextDocument(uri);
  };

  const sessions = new SweepSessions({
    extensionUri: context.extensionUri,
    log,
    env: context.env,
    onChange: () => runs.refresh(),
    compareTrials,
    applyBest,
  });

  return [
    sessions,
    vscode.commands.registerCommand('fineTune.startSweep', async (uri?: vscode.Uri) => {
      const target = isSweepUri(uri) ? uri : await pickSweepFile();
      if (target) await sessions.start(target);
    }),
    vscode.commands.registerCommand('fineTune.newSweep', async (uri?: vscode.Uri) => {
      const experiment =
        uri instanceof vscode.Uri && uri.fsPath.endsWith('.finetune.json')
          ? uri
          : await experiments.resolveActive(true);
      if (!experiment) {
        void vscode.window.showInformationMessage('Fine-Tune: open a *.finetune.json experiment first.');
        return;
      }
      const snapshot = await experiments.snapshot(experiment);
      if (!snapshot.config) {
        void vscode.window.showErrorMessage(
          `Fine-Tune: fix the experiment first — ${snapshot.errors[0] ?? 'it does not load'}`,
        );
        return;
      }
      const dir = path.dirname(experiment.fsPath);
      const base = sweepFileName(path.basename(experiment.fsPath));
      let file = path.join(dir, base);
      const exists = (candidate: string): Promise<boolean> =>
        fs.lstat(candidate).then(
          () => true,
          () => false,
        );
      for (let i = 2; await exists(file); i++)
        file = path.join(dir, base.replace(/\.sweep\.json$/, `-${i}.sweep.json`));
      const text = sweepTemplate({
        experimentFile: path.basename(experiment.fsPath),
        config: snapshot.config,
        ...(snapshot.layers ? { layers: snapshot.layers } : {}),
      });
      const target = vscode.Uri.file(file);
      await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
      log.info(`new sweep ${file} from ${experiment.fsPath}`);
      await vscode.window.showTextDocument(target);
    }),
    vscode.commands.registerCommand('fineTune.cancelSweep', async (arg?: unknown) => {
      const sweep = isSweepUri(arg) ? undefined : await pickSweep(runs, arg, 'Cancel which sweep?');
      if (isSweepUri(arg)) {
        if (!sessions.cancel({ sweepFile: arg.fsPath }))
          void vscode.window.showInformationMessage('Fine-Tune: this sweep is not running in this window.');
        return;
      }
      if (!sweep?.state) return;
      // A sweep this window drives is cancelled over its channel; any other (the CLI's) through its folder.
      if (!sessions.cancel({ sweepDir: sweep.dir })) {
        if (sweep.effectiveStatus !== 'running') {
          void vscode.window.showInformationMessage(
            `Fine-Tune: sweep ${sweep.state.name} is not running (${sweep.effectiveStatus}).`,
          );
          return;
        }
        await requestCancelAsync(sweep.dir, 'cancelled from VS Code');
        void vscode.window.showInformationMessage(
          `Fine-Tune: asked sweep ${sweep.state.name} to stop every trial.`,
        );
      }
    }),
    vscode.commands.registerCommand('fineTune.sweeps.compare', async (arg?: unknown) => {
      const sweep = await pickSweep(runs, arg, 'Compare the trials of which sweep?');
      if (sweep) await compareTrials(sweep.dir);
    }),
    vscode.commands.registerCommand('fineTune.sweeps.applyBest', async (arg?: unknown) => {
      const sweep = await pickSweep(runs, arg, "Apply which sweep's best trial?");
      if (sweep) await applyBest(sweep.dir);
    }),
    vscode.commands.registerCommand('fineTune.sweeps.resume', async (arg?: unknown) => {
      const sweep = await pickSweep(runs, arg, 'Resume which sweep?');
      if (!sweep?.state) return;
      const problem = await sweepFileProblem(sweep.state.sweepPath);
      if (problem) {
        void vscode.window.showErrorMessage(
          `Fine-Tune: the sweep cannot be resumed: ${problem}; its sweep file inside the workspace is needed.`,
        );
        return;
      }
      await sessions.start(vscode.Uri.file(sweep.state.sweepPath));
    }),
    vscode.commands.registerCommand('fineTune.sweeps.openFile', async (arg?: unknown) => {
      const sweep = await pickSweep(runs, arg, 'Open the file of which sweep?');
      if (!sweep?.state) return;
      const problem = await sweepFileProblem(sweep.state.sweepPath);
      if (problem) void vscode.window.showErrorMessage(`Fine-Tune: cannot open the sweep file: ${problem}.`);
      else await vscode.window.showTextDocument(vscode.Uri.file(sweep.state.sweepPath));
    }),
  ];
}
