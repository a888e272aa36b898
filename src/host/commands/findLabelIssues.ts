/**
 * `Fine-Tune: Find Label Issues`: opens a run's training panel on its Data tab and starts the analysis
 * (label issues by confident learning, top losses, duplicates across the split, embedding map). The run is
 * the one given (Runs view), else the one whose panel is in front, else the newest run with a saved model
 * of the active experiment, else one picked from the workspace's runs, newest first.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRunsAsync, type RunListing } from '../../core/runs/readRuns';
import type { ExperimentService } from '../experiments/experimentService';
import { TrainingPanel, type TrainingPanelContext } from '../panels/trainingPanel';
import { RunItem } from '../views/runItem';

export const FIND_LABEL_ISSUES_COMMAND = 'fineTune.findLabelIssues';

async function hasModel(run: RunListing): Promise<boolean> {
  try {
    await fs.access(path.join(run.dir, 'model', 'model.json'));
    return true;
  } catch {
    return false;
  }
}

/** Runs of the workspace that have a saved model and a readable run.json, newest first. */
async function runsWithModel(): Promise<RunListing[]> {
  const runs: RunListing[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    let listed: RunListing[];
    try {
      // Asynchronous and bounded (run files read as regular files with byte caps, so many runs listed).
      listed = await listRunsAsync(path.join(folder.uri.fsPath, '.finetune', 'runs'));
    } catch {
      continue;
    }
    for (const run of listed)
      if (run.record && run.effectiveStatus !== 'running' && (await hasModel(run))) runs.push(run);
  }
  return runs.sort((a, b) => Date.parse(b.record!.startedAt) - Date.parse(a.record!.startedAt));
}

async function chooseRun(experiments: ExperimentService): Promise<string | undefined> {
  const front = TrainingPanel.activeRunDir();
  if (front) return front;
  const runs = await runsWithModel();
  if (runs.length === 0) {
    const start = 'Start Training';
    const choice = await vscode.window.showInformationMessage(
      'Fine-Tune: Find Label Issues works on a run (its experiment and saved model), and this workspace has no run with a saved model yet. Train once first — or run `finetune label-issues <experiment>` in a terminal.',
      start,
    );
    if (choice === start) await vscode.commands.executeCommand('fineTune.startTraining');
    return undefined;
  }
  const active = experiments.active?.fsPath;
  const ofActive = active ? runs.filter((r) => r.record!.experimentPath === active) : [];
  if (ofActive.length > 0) return ofActive[0].dir;
  if (runs.length === 1) return runs[0].dir;
  const pick = await vscode.window.showQuickPick(
    runs.map((run) => ({
      // run.json is the repository's: a name that is not a string is shown by the run's id.
      label: typeof run.record!.name === 'string' ? run.record!.name : run.id,
      description: `${run.id} · ${run.effectiveStatus}`,
      detail: vscode.workspace.asRelativePath(String(run.record!.experimentPath)),
      dir: run.dir,
    })),
    { placeHolder: 'Find label issues with which run (its experiment and model)?' },
  );
  return pick?.dir;
}

export function registerFindLabelIssuesCommand(
  experiments: ExperimentService,
  panelContext: TrainingPanelContext,
): vscode.Disposable {
  return vscode.commands.registerCommand(FIND_LABEL_ISSUES_COMMAND, async (arg?: RunItem | string) => {
    const dir =
      arg instanceof RunItem ? arg.run.dir : typeof arg === 'string' ? arg : await chooseRun(experiments);
    if (!dir) return;
    TrainingPanel.show(dir, panelContext).showData(true);
  });
}
