/**
 * "Fine-Tune: Export Model": a run's best model into a folder the user picks, as ONNX (model.onnx) or
 * TensorFlow.js (model.json + weights + predict.js), each with labels.json, preprocessing.json and a README.
 * From the palette it asks which run; from the Runs view it takes the clicked run; then the format.
 * Both formats are written by the bundled CLI in a child process (childExports.ts): the ONNX conversion needs
 * TensorFlow.js, which never loads in the host, and the TensorFlow.js export copies weight files that may
 * be GiBs — neither blocks the extension host's thread.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportTargetStateAsync } from '../../core/export/exportFolder';
import { exportOnnxInChild, exportTfjsInChild } from '../childExports';
import { ensureTrusted } from '../workspaceTrust';
import { listRunsAsync, type RunListing } from '../../core/runs/readRuns';
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
async function workspaceRuns(keep: (run: RunListing) => boolean | Promise<boolean>): Promise<RunListing[]> {
  const runs: RunListing[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    try {
      for (const run of await listRunsAsync(path.join(folder.uri.fsPath, RUNS_SUBDIR)))
        if (await keep(run)) runs.push(run);
    } catch {
      // an unreadable runs folder has no runs to offer
    }
  }
  return runs.sort((a, b) => ((a.record?.startedAt ?? '') < (b.record?.startedAt ?? '') ? 1 : -1));
}

/** The run the command is about: the argument's, else a quick pick of the workspace's runs. */
export async function pickRun(
  arg: unknown,
  options: { placeHolder: string; keep: (run: RunListing) => boolean | Promise<boolean>; none: string },
): Promise<string | undefined> {
  const given = runDirOfArgument(arg);
  if (given) return given;
  const runs = await workspaceRuns(options.keep);
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

export type ModelExportFormat = 'onnx' | 'tfjs';

const FORMAT_ITEMS: (vscode.QuickPickItem & { format: ModelExportFormat })[] = [
  {
    label: 'ONNX',
    description: 'model.onnx (opset 13)',
    detail:
      'For ONNX Runtime (Python, C#, C++, Java, JavaScript), TensorRT, OpenVINO and most deployment tools.',
    format: 'onnx',
  },
  {
    label: 'TensorFlow.js',
    description: 'model.json + weights + predict.js',
    detail: 'For Node.js and browsers with TensorFlow.js; the files the run saved, as they are.',
    format: 'tfjs',
  },
];

function formatOfArgument(value: unknown): ModelExportFormat | undefined {
  return value === 'onnx' || value === 'tfjs' ? value : undefined;
}

/**
 * Where the export goes, given the folder the user picked: the folder itself when it is new or empty (or,
 * confirmed, a previous export to replace); otherwise a new sub-folder named after the run — an export
 * never writes into, or deletes, a folder holding the user's own files.
 */
async function chooseTarget(
  picked: string,
  runId: string,
  format: ModelExportFormat,
): Promise<{ target: string; overwrite: boolean } | undefined> {
  let target = picked;
  let state = await exportTargetStateAsync(target);
  if (state.kind === 'foreign' || state.kind === 'file') {
    const stem = path.join(picked, `${runId}-${format}`);
    target = stem;
    for (
      let i = 2;
      !['absent', 'empty', 'previousExport'].includes((await exportTargetStateAsync(target)).kind);
      i++
    )
      target = `${stem}-${i}`;
    state = await exportTargetStateAsync(target);
  }
  if (state.kind === 'symlink') {
    void vscode.window.showErrorMessage(`Fine-Tune: ${target} is a symbolic link; pick a real folder.`);
    return undefined;
  }
  if (state.kind === 'previousExport') {
    const replace = 'Replace';
    const answer = await vscode.window.showWarningMessage(
      `${target} holds an earlier export. Replace it with ${runId}'s model?`,
      { modal: true },
      replace,
    );
    if (answer !== replace) return undefined;
    return { target, overwrite: true };
  }
  return { target, overwrite: false };
}

/**
 * The previous export a confirmed Replace moved aside goes to the trash, not away for good. Without a
 * trash (remote windows, some Linux desktops) the user chooses: delete it, or keep it where it is.
 */
async function trashReplacedExport(
  replaced: string,
  outDir: string,
  log: vscode.LogOutputChannel,
): Promise<void> {
  const uri = vscode.Uri.file(replaced);
  try {
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
    log.info(`the earlier export in ${outDir} was moved to the trash`);
    return;
  } catch (error) {
    log.warn(`could not move the earlier export ${replaced} to the trash: ${errorMessage(error)}`);
  }
  const remove = 'Delete Permanently';
  const answer = await vscode.window.showWarningMessage(
    `Fine-Tune: the earlier export in ${outDir} could not be moved to the trash. It is kept as ${replaced}.`,
    remove,
    'Keep It',
  );
  if (answer === remove) await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
}

export interface ExportModelDeps {
  log: vscode.LogOutputChannel;
  /** dist/cli.js: the ONNX export runs there (it loads the model with TensorFlow.js). */
  cliScript: string;
}

async function exportModel(arg: unknown, formatArg: unknown, deps: ExportModelDeps): Promise<void> {
  const { log } = deps;
  const runDir = await pickRun(arg, {
    placeHolder: 'Export the best model of which run?',
    keep: (run) =>
      fs.lstat(path.join(run.dir, 'model', 'model.json')).then(
        () => true,
        () => false,
      ),
    none: 'no run in this workspace has a saved model yet (a run saves its best model when an epoch ends).',
  });
  if (!runDir) return;
  const runId = path.basename(runDir);
  let format = formatOfArgument(formatArg);
  if (!format) {
    const pick = await vscode.window.showQuickPick(FORMAT_ITEMS, {
      placeHolder: `Export ${runId}'s best model as…`,
    });
    if (!pick) return;
    format = pick.format;
  }
  // ONNX reads the model with TensorFlow.js (in a child process): a model file of an untrusted folder is not parsed.
  if (format === 'onnx' && !(await ensureTrusted('exportOnnx', `${runId}'s model`))) return;
  const folders = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Export Here',
    title: `Export the best model of ${runId} (${format === 'onnx' ? 'ONNX' : 'TensorFlow.js'})`,
    // Not the workspace root: a folder with files in it gets a new sub-folder, but a clean start is clearer.
    defaultUri: vscode.Uri.file(os.homedir()),
  });
  const picked = folders?.[0]?.fsPath;
  if (!picked) return;
  const choice = await chooseTarget(picked, runId, format);
  if (!choice) return;
  try {
    let outDir: string;
    let summary: string;
    let files: string[];
    let replaced: string | undefined;
    if (format === 'onnx') {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Fine-Tune: exporting ${runId} to ONNX…` },
        () => exportOnnxInChild({ cliScript: deps.cliScript, runDir, ...choice }),
      );
      outDir = result.outDir;
      files = result.files;
      replaced = result.replacedTo;
      summary = `as ONNX (${(result.onnxBytes / 1024).toFixed(0)} KiB)`;
    } else {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Fine-Tune: exporting ${runId}…` },
        () => exportTfjsInChild({ cliScript: deps.cliScript, runDir, ...choice }),
      );
      outDir = result.outDir;
      files = result.files;
      replaced = result.replacedTo;
      summary = `(${result.imageSize.join('×')}, ${result.classes} classes)`;
    }
    if (replaced) await trashReplacedExport(replaced, outDir, log);
    log.info(
      `exported ${runId}'s best model (${format}) to ${outDir}: ${files.map((f) => path.basename(f)).join(', ')}`,
    );
    const openReadme = 'Open README';
    const reveal = 'Reveal';
    const answer = await vscode.window.showInformationMessage(
      `Fine-Tune: exported ${runId}'s best model ${summary} to ${outDir}.`,
      openReadme,
      reveal,
    );
    if (answer === openReadme)
      await vscode.commands.executeCommand(
        'markdown.showPreview',
        vscode.Uri.file(path.join(outDir, 'README.md')),
      );
    else if (answer === reveal)
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(files[0] ?? outDir));
  } catch (error) {
    log.error(`export of ${runId} (${format}) failed: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Fine-Tune: ${errorMessage(error)}`);
  }
}

/** `fineTune.exportModel [run] [format]`: from the palette (asks which run) or a run's context menu. */
export function registerExportModelCommand(deps: ExportModelDeps): vscode.Disposable {
  return vscode.commands.registerCommand('fineTune.exportModel', (arg?: unknown, format?: unknown) =>
    exportModel(arg, format, deps),
  );
}
