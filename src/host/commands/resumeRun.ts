/**
 * `Fine-Tune: Resume Run` — continues a stopped or crashed run from its last epoch checkpoint, in its own
 * folder (Runs view context menu, or the palette with a pick of the runs that can be resumed).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRunsAsync } from '../../core/runs/readRuns';
import { resumeProblemAsync } from '../../core/runs/resumable';
import type { TrainingController } from '../training/trainingController';
import { RunItem } from '../views/runItem';
import type { RunsViewProvider } from '../views/runsView';

/** Run folders of the workspace that can be resumed now, newest first. */
async function resumableRuns(): Promise<{ dir: string; id: string; name: string; status: string }[]> {
  const found: { dir: string; id: string; name: string; status: string }[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    let runs: Awaited<ReturnType<typeof listRunsAsync>>;
    try {
      runs = await listRunsAsync(path.join(folder.uri.fsPath, '.finetune', 'runs'));
    } catch {
      continue; // an unreadable runs folder has nothing to resume
    }
    for (const run of runs) {
      if ((await resumeProblemAsync(run)) !== undefined) continue;
      found.push({
        dir: run.dir,
        id: run.id,
        name: run.record?.name ?? run.id,
        status: `${run.effectiveStatus} after epoch ${run.metrics.length}`,
      });
    }
  }
  return found;
}

export function registerResumeRunCommand(
  training: TrainingController,
  runs: RunsViewProvider,
): vscode.Disposable {
  return vscode.commands.registerCommand('fineTune.runs.resume', async (arg?: string | RunItem) => {
    let dir: string | undefined =
      typeof arg === 'string' ? arg : arg instanceof RunItem ? arg.run.dir : runs.selectedRunDirs()[0];
    if (!dir) {
      const candidates = await resumableRuns();
      if (candidates.length === 0) {
        void vscode.window.showInformationMessage(
          'Fine-Tune: no run to resume — only stopped, crashed or failed runs with an epoch checkpoint can be resumed.',
        );
        return;
      }
      const pick = await vscode.window.showQuickPick(
        candidates.map((c) => ({ label: c.name, description: c.status, detail: c.id, dir: c.dir })),
        { placeHolder: 'Resume which run? It continues from its last completed epoch.' },
      );
      dir = pick?.dir;
    }
    if (dir) await training.resume(dir);
  });
}
