/**
 * "Fine-Tune: Export Model": a run's best model (model.json + weights + labels.json + preprocessing.json +
 * README.md + predict.js) into a folder the user picks. From the palette it asks which run; from the Runs
 * view it takes the clicked run. The copy is done by the engine's exportRunModel (files only, no
 * TensorFlow.js in the host).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportRunModel } from '../../core/export/exportModel';
import { listRuns, type RunListing } from '../../core/runs/readRuns';
import { errorMessage } from '../../core/userError';

const RUNS_SUBDIR = path.join('.finetune', 'runs');

/** A run folder from a command argument: a path, a Runs view item (`{ run: { dir } }`), or nothing. */
export function runDirOfArgument(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const dir = (arg as { run?: { dir?: unknown } } | undefined)?.run?.dir;
  return typeof dir === 'string' ? dir : undefined;
}

/** Runs of every workspace folder, newest first, optionally only those `keep` accepts. */
function workspaceRuns(keep: (run: RunListing) => boolean): RunListing[] {
  const runs: RunListing[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    try {
      runs.push(...listRuns(path.join(folder.uri.fsPath, RUNS_SUBDIR)).filter(keep));
    } catch {
      // an unreadable runs folder has no runs to offer
    }
  }
  return runs.sort((a, b) => ((a.record?.startedAt ?? '') < (b.record?.startedAt ?? '') ? 1 : -1));
}

/** The run the command is about: the argument's, else a quick pick of the workspace's runs. */
export async function pickRun(
  arg: unknown,
  options: { placeHolder: string; keep: (run: RunListing) => boolean; none: string },
): Promise<string | undefined> {
  const given = runDirOfArgument(arg);
  if (given) return given;
  const runs = workspaceRuns(options.keep);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(`Fine-Tune: ${options.none}`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    runs.map((run) => ({
      label: run.record?.name ?? run.id,
      description: run.id,
      detail: [
        run.effectiveStatus,
        run.record?.bestEpoch !== undefined ? `best epoch ${run.record.bestEpoch}` : undefined,
        run.record?.best ? `val_acc ${run.record.best.val_accuracy.toFixed(3)}` : undefined,
        `${run.metrics.length} epoch${run.metrics.length === 1 ? '' : 's'}`,
      ]
        .filter(Boolean)
        .join(' · '),
      dir: run.dir,
    })),
    { placeHolder: options.placeHolder, matchOnDescription: true },
  );
  return pick?.dir;
}

async function exportModel(arg: unknown, log: vscode.LogOutputChannel): Promise<void> {
  const runDir = await pickRun(arg, {
    placeHolder: 'Export the best model of which run?',
    keep: (run) => fs.existsSync(path.join(run.dir, 'model', 'model.json')),
    none: 'no run in this workspace has a saved model yet (a run saves its best model when an epoch ends).',
  });
  if (!runDir) return;
  const runId = path.basename(runDir);
  const folders = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Export Here',
    title: `Export the best model of ${runId}`,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  const target = folders?.[0]?.fsPath;
  if (!target) return;
  let overwrite = false;
  if (fs.existsSync(path.join(target, 'model.json'))) {
    const replace = 'Replace';
    const answer = await vscode.window.showWarningMessage(
      `${target} already holds a model.json. Replace it with ${runId}'s model?`,
      { modal: true },
      replace,
    );
    if (answer !== replace) return;
    overwrite = true;
  }
  try {
    const result = exportRunModel(runDir, target, { overwrite });
    log.info(
      `exported ${runId}'s best model to ${result.outDir}: ${result.files.map((f) => path.basename(f)).join(', ')}`,
    );
    const openReadme = 'Open README';
    const reveal = 'Reveal';
    const choice = await vscode.window.showInformationMessage(
      `Fine-Tune: exported ${runId}'s best model (${result.model.imageSize.join('×')}, ${result.model.classNames.length} classes) to ${result.outDir}.`,
      openReadme,
      reveal,
    );
    if (choice === openReadme)
      await vscode.commands.executeCommand(
        'markdown.showPreview',
        vscode.Uri.file(path.join(result.outDir, 'README.md')),
      );
    else if (choice === reveal)
      await vscode.commands.executeCommand(
        'revealFileInOS',
        vscode.Uri.file(path.join(result.outDir, 'model.json')),
      );
  } catch (error) {
    log.error(`export of ${runId} failed: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Fine-Tune: ${errorMessage(error)}`);
  }
}

export function registerExportModelCommand(log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('fineTune.exportModel', (arg?: unknown) => exportModel(arg, log));
}
