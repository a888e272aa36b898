/**
 * Commands on runs (the Runs view's context menu, and Compare Runs in the palette): compare, rename, add
 * a note, delete, reveal the folder, re-run. Context-menu commands receive the clicked item and, with
 * multi-select, every selected item; each command says what it did not do (a running run cannot be
 * deleted or renamed) instead of failing silently.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatMetric } from '../../core/runs/compareRuns';
import { loadExperiment } from '../../core/config/loadExperiment';
import { readRunAsync, type RunListing } from '../../core/runs/readRuns';
import {
  configChanges,
  describeChanges,
  rerunExperimentText,
  rerunFilePathAsync,
} from '../../core/runs/rerunConfig';
import {
  MAX_DISPLAY_NAME_LENGTH,
  MAX_NOTE_LENGTH,
  notesLockedReason,
  runDisplayName,
  runNotesOf,
  updateRunNotesAsync,
} from '../../core/runs/runNotes';
import { errorMessage } from '../../core/userError';
import { isRunFolder } from '../panels/comparePanel';
import { RunItem } from '../views/runItem';
import { experimentFileProblem } from '../workspacePaths';
import type { RunsViewProvider } from '../views/runsView';

export interface RunCommandsContext {
  runs: RunsViewProvider;
  /** Opens the Compare Runs panel on these run folders. */
  compare(runDirs: string[]): void;
  startTraining(experiment: vscode.Uri): Promise<void>;
  log: vscode.LogOutputChannel;
}

/** The runs a context-menu command applies to: the selection it was invoked on, else the view's. */
function targetDirs(runs: RunsViewProvider, item?: unknown, items?: unknown): string[] {
  if (Array.isArray(items) && items.length > 0)
    return items.filter((i): i is RunItem => i instanceof RunItem).map((i) => i.run.dir);
  if (item instanceof RunItem) return [item.run.dir];
  if (typeof item === 'string') return [item];
  return runs.selectedRunDirs();
}

const notify = (message: string): Thenable<unknown> =>
  vscode.window.showInformationMessage(`Fine-Tune: ${message}`);
const warn = (message: string): Thenable<unknown> =>
  vscode.window.showWarningMessage(`Fine-Tune: ${message}`);

function describeForPick(run: RunListing): vscode.QuickPickItem & { dir: string } {
  const status = run.effectiveStatus;
  const best = run.record?.best?.val_accuracy;
  const started = Date.parse(run.record?.startedAt ?? '');
  return {
    dir: run.dir,
    label: runDisplayName(run),
    description: [
      status,
      typeof best === 'number' ? `best val_acc ${formatMetric(best, 3)}` : undefined,
      Number.isFinite(started) ? new Date(started).toLocaleString() : undefined,
    ]
      .filter(Boolean)
      .join(' · '),
    detail: run.id,
  };
}

/** Palette: pick the runs (the view's selection pre-picked); at least one. */
async function pickRuns(runs: RunsViewProvider, preselected: string[]): Promise<string[] | undefined> {
  const all = runs.allRuns();
  if (all.length === 0) {
    void notify('there are no runs to compare yet. Start one with "Fine-Tune: Start Training".');
    return undefined;
  }
  const items = all.map(describeForPick);
  const pick = vscode.window.createQuickPick<(typeof items)[number]>();
  pick.title = 'Compare Runs';
  pick.placeholder = 'Runs to compare (Space toggles, Enter opens them)';
  pick.canSelectMany = true;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  pick.items = items;
  pick.selectedItems = items.filter((i) => preselected.includes(i.dir));
  const chosen = await new Promise<string[] | undefined>((resolve) => {
    // Enter with nothing ticked compares the highlighted run (with the rest, if any were pre-picked).
    pick.onDidAccept(() =>
      resolve((pick.selectedItems.length > 0 ? pick.selectedItems : pick.activeItems).map((i) => i.dir)),
    );
    pick.onDidHide(() => resolve(undefined));
    pick.show();
  });
  pick.dispose();
  return chosen && chosen.length > 0 ? chosen : undefined;
}

async function rename(context: RunCommandsContext, dir: string): Promise<void> {
  const run = await readRunAsync(dir);
  const locked = notesLockedReason(run);
  if (locked) return void warn(locked);
  const recorded = run.record!.name;
  const value = await vscode.window.showInputBox({
    title: `Rename run ${run.id}`,
    value: runDisplayName(run),
    prompt: `Shown instead of the experiment name "${recorded}"; clear it to go back to that name. Stored in run.json as displayName.`,
    validateInput: (input) =>
      input.length > MAX_DISPLAY_NAME_LENGTH ? `At most ${MAX_DISPLAY_NAME_LENGTH} characters.` : undefined,
  });
  if (value === undefined) return;
  await updateRunNotesAsync(dir, { displayName: value });
  await context.runs.refreshRuns([dir]);
}

async function addNote(context: RunCommandsContext, dir: string): Promise<void> {
  const run = await readRunAsync(dir);
  const locked = notesLockedReason(run);
  if (locked) return void warn(locked);
  const current = runNotesOf(run.record).note;
  const value = await vscode.window.showInputBox({
    title: `${current ? 'Edit' : 'Add'} note: ${runDisplayName(run)}`,
    value: current ?? '',
    placeHolder:
      'What was tried, what was learned (e.g. "conv3 unfrozen: +2% val_acc, overfits after epoch 8")',
    prompt:
      'Shown in the Runs view and the Compare Runs panel; clear it to remove the note. Stored in run.json.',
    validateInput: (input) =>
      input.length > MAX_NOTE_LENGTH ? `At most ${MAX_NOTE_LENGTH} characters.` : undefined,
  });
  if (value === undefined) return;
  await updateRunNotesAsync(dir, { note: value });
  await context.runs.refreshRuns([dir]);
}

async function deleteRuns(context: RunCommandsContext, dirs: string[]): Promise<void> {
  const runs = await Promise.all(dirs.map((dir) => readRunAsync(dir)));
  const running = runs.filter((run) => run.effectiveStatus === 'running');
  // An empty folder is a run that is starting (its trainer has not written run.json yet) or not a run.
  const isRun = await Promise.all(runs.map((run) => isRunFolder(run.dir)));
  const notRuns = runs.filter((run, i) => run.effectiveStatus !== 'running' && !isRun[i]);
  const deletable = runs.filter((run) => !running.includes(run) && !notRuns.includes(run));
  const skipped = [
    ...running.map((run) => `${runDisplayName(run)} is running — stop it first`),
    ...notRuns.map((run) => `${run.id} has no run.json or metrics yet (starting?)`),
  ];
  if (deletable.length === 0) return void warn(`nothing deleted: ${skipped.join('; ')}.`);
  const names = deletable.map((run) => runDisplayName(run));
  const listed =
    names.slice(0, 10).join('\n') + (names.length > 10 ? `\n… and ${names.length - 10} more` : '');
  const message = deletable.length === 1 ? `Delete run "${names[0]}"?` : `Delete ${deletable.length} runs?`;
  const detail =
    `${deletable.length === 1 ? deletable[0].dir : listed}\n\n` +
    'The run folder (metrics, best model, summary) is moved to the trash.' +
    (skipped.length > 0 ? `\n\nNot deleted: ${skipped.join('; ')}.` : '');
  const choice = await vscode.window.showWarningMessage(message, { modal: true, detail }, 'Delete');
  if (choice !== 'Delete') return;

  const failed: { run: RunListing; reason: string }[] = [];
  for (const run of deletable) {
    // The folder may have gone while the dialog was open (deleted from a terminal).
    if (
      !(await fs.lstat(run.dir).then(
        () => true,
        () => false,
      ))
    )
      continue;
    try {
      await vscode.workspace.fs.delete(vscode.Uri.file(run.dir), { recursive: true, useTrash: true });
    } catch (error) {
      failed.push({ run, reason: errorMessage(error) });
    }
  }
  if (failed.length > 0) {
    // Remote and some Linux setups have no trash: say so, and only then offer to delete for good.
    const permanently = 'Delete Permanently';
    const again = await vscode.window.showWarningMessage(
      failed.length === 1
        ? 'The run folder could not be moved to the trash. Delete it permanently?'
        : `${failed.length} run folders could not be moved to the trash. Delete them permanently?`,
      { modal: true, detail: `${failed[0].reason}\n\n${failed.map((f) => f.run.dir).join('\n')}` },
      permanently,
    );
    if (again === permanently) {
      for (const { run } of failed) {
        try {
          await vscode.workspace.fs.delete(vscode.Uri.file(run.dir), { recursive: true, useTrash: false });
        } catch (error) {
          void vscode.window.showErrorMessage(
            `Fine-Tune: could not delete ${run.dir}: ${errorMessage(error)}`,
          );
        }
      }
    }
  }
  await context.runs.refreshRuns(deletable.map((run) => run.dir));
  if (skipped.length > 0) void warn(`not deleted: ${skipped.join('; ')}.`);
}

async function revealFolder(dir: string): Promise<void> {
  try {
    await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(dir));
  } catch {
    // No OS file manager (a remote window): show it in the Explorer instead.
    await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(dir));
  }
}

/**
 * Where a re-run file goes: next to the original experiment when that is an experiment file inside the
 * workspace (run.json is the repository's word), else in the workspace the runs belong to.
 */
function rerunFolder(run: RunListing, originalInWorkspace: boolean): string {
  const original = run.record?.experimentPath;
  if (original && originalInWorkspace) return path.dirname(original);
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(run.dir));
  // <base>/.finetune/runs/<id> → <base>
  return folder?.uri.fsPath ?? path.dirname(path.dirname(path.dirname(run.dir)));
}

/**
 * Same config again. The experiment file is trained as it is when it still resolves to the run's config
 * snapshot; otherwise (edited, deleted, now invalid) the snapshot is written to a new experiment file,
 * shown, and trained — never the edited file in the run's name.
 */
async function rerun(context: RunCommandsContext, dir: string): Promise<void> {
  const run = await readRunAsync(dir);
  const snapshot = run.record?.config;
  if (!run.record || !snapshot) {
    return void warn(
      `run ${run.id} has no readable configuration snapshot (${run.unreadable ?? 'run.json lacks "config"'}).`,
    );
  }
  const recorded = typeof run.record.experimentPath === 'string' ? run.record.experimentPath : undefined;
  // Only a *.finetune.json inside the workspace is trained as it is or written next to.
  const problem = recorded ? await experimentFileProblem(recorded) : 'no experiment file recorded';
  const original = problem ? undefined : recorded;
  let why: string;
  let originalLoads = false;
  if (original) {
    try {
      const changes = configChanges(snapshot, (await loadExperiment(original)).config);
      originalLoads = true;
      if (changes.length === 0) {
        context.log.info(`re-run of ${run.id}: ${original} is unchanged; training it`);
        await context.startTraining(vscode.Uri.file(original));
        return;
      }
      why = `${vscode.workspace.asRelativePath(original)} has changed since this run:\n${describeChanges(changes)}`;
    } catch (error) {
      why = `${vscode.workspace.asRelativePath(original)} no longer loads: ${errorMessage(error)}`;
    }
  } else {
    why = `Its experiment file cannot be used: ${problem}.`;
  }
  const target = await rerunFilePathAsync(rerunFolder(run, original !== undefined), snapshot.name);
  const write = `Write ${path.basename(target)} and Train`;
  const current = 'Train the Current File';
  const choice = await vscode.window.showWarningMessage(
    `Re-run "${runDisplayName(run)}" with its original configuration?`,
    {
      modal: true,
      detail: `${why}\n\nThe run's configuration snapshot can be written to a new experiment file and trained.`,
    },
    write,
    ...(originalLoads ? [current] : []),
  );
  if (choice === current && original) {
    await context.startTraining(vscode.Uri.file(original));
  } else if (choice === write) {
    await fs.writeFile(
      target,
      rerunExperimentText(snapshot, target, { runId: run.id, startedAt: run.record.startedAt }),
      { flag: 'wx' },
    );
    context.log.info(`re-run of ${run.id}: wrote ${target}`);
    const uri = vscode.Uri.file(target);
    await vscode.window.showTextDocument(uri, { preview: false });
    await context.startTraining(uri);
  }
}

/** Runs a per-run action, turning an exception into an error message that names the run. */
async function guarded(dir: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    void vscode.window.showErrorMessage(`Fine-Tune: ${path.basename(dir)}: ${errorMessage(error)}`);
  }
}

export function registerRunCommands(context: RunCommandsContext): vscode.Disposable[] {
  const { runs } = context;
  const first = (item: unknown, items: unknown): string | undefined => targetDirs(runs, item, items)[0];
  return [
    vscode.commands.registerCommand('fineTune.compareRuns', async (item?: unknown, items?: unknown) => {
      // From the view with several runs selected: compare them at once; otherwise ask (selection pre-picked).
      const selected = item === undefined ? runs.selectedRunDirs() : targetDirs(runs, item, items);
      const dirs = selected.length >= 2 && item !== undefined ? selected : await pickRuns(runs, selected);
      if (dirs) context.compare(dirs);
    }),
    vscode.commands.registerCommand(
      'fineTune.runs.compareSelected',
      async (item?: unknown, items?: unknown) => {
        const selected = targetDirs(runs, item, items);
        const dirs = selected.length >= 2 ? selected : await pickRuns(runs, selected);
        if (dirs) context.compare(dirs);
      },
    ),
    vscode.commands.registerCommand('fineTune.runs.rename', (item?: unknown, items?: unknown) => {
      const dir = first(item, items);
      return dir && guarded(dir, () => rename(context, dir));
    }),
    vscode.commands.registerCommand('fineTune.runs.addNote', (item?: unknown, items?: unknown) => {
      const dir = first(item, items);
      return dir && guarded(dir, () => addNote(context, dir));
    }),
    vscode.commands.registerCommand('fineTune.runs.delete', (item?: unknown, items?: unknown) => {
      const dirs = targetDirs(runs, item, items);
      return dirs.length > 0 && guarded(dirs[0], () => deleteRuns(context, dirs));
    }),
    vscode.commands.registerCommand('fineTune.runs.revealFolder', (item?: unknown, items?: unknown) => {
      const dir = first(item, items);
      return dir && guarded(dir, () => revealFolder(dir));
    }),
    vscode.commands.registerCommand('fineTune.runs.rerun', (item?: unknown, items?: unknown) => {
      const dir = first(item, items);
      return dir && guarded(dir, () => rerun(context, dir));
    }),
  ];
}
