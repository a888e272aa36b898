/**
 * "Fine-Tune: Export Metrics": a run's epochs as `<run>/metrics.csv`, or as TensorBoard event files in
 * `<run>/tensorboard/{train,validation}/`, where `tensorboard --logdir .finetune/runs` finds every run.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MetricsFormat } from '../../core/export/exportMetrics';
import { exportMetricsInChild } from '../childExports';
import { errorMessage } from '../../core/userError';
import { quoteArg, shellKindOf } from '../../core/portable/shellQuote';
import { pickRun } from './exportModel';

async function exportRunMetrics(
  arg: unknown,
  log: vscode.LogOutputChannel,
  cliScript: string,
): Promise<void> {
  const runDir = await pickRun(arg, {
    placeHolder: 'Export the metrics of which run?',
    keep: (run) => run.metrics.length > 0,
    none: 'no run in this workspace has finished an epoch yet.',
  });
  if (!runDir) return;
  const format = await vscode.window.showQuickPick(
    [
      { label: 'CSV', description: 'metrics.csv in the run folder', format: 'csv' as MetricsFormat },
      {
        label: 'TensorBoard',
        description: 'event files in the run folder, for tensorboard --logdir .finetune/runs',
        format: 'tensorboard' as MetricsFormat,
      },
    ],
    { placeHolder: `Export ${path.basename(runDir)}'s metrics as` },
  );
  if (!format) return;
  try {
    // In the bundled CLI's process: metrics.jsonl is read and the files written off the host's thread.
    const result = await exportMetricsInChild({ cliScript, runDir, format: format.format });
    log.info(
      `exported ${result.epochs} epochs of ${path.basename(runDir)} as ${result.format}: ${result.files.join(', ')}`,
    );
    if (result.format === 'csv') {
      const open = 'Open';
      const choice = await vscode.window.showInformationMessage(
        `Fine-Tune: ${result.epochs} epochs written to ${result.path}.`,
        open,
      );
      if (choice === open) await vscode.window.showTextDocument(vscode.Uri.file(result.path));
    } else {
      // Quoted for the shell it is pasted into: a folder named $(…) must not run.
      const command = tensorboardCommand(path.dirname(runDir), vscode.env.shell, process.platform);
      const copy = 'Copy Command';
      const choice = await vscode.window.showInformationMessage(
        `Fine-Tune: TensorBoard event files written to ${result.path}. View them with: ${command}`,
        copy,
      );
      if (choice === copy) await vscode.env.clipboard.writeText(command);
    }
  } catch (error) {
    log.error(`metrics export of ${path.basename(runDir)} failed: ${errorMessage(error)}`);
    void vscode.window.showErrorMessage(`Fine-Tune: ${errorMessage(error)}`);
  }
}

/** `tensorboard --logdir <dir>` for the user's terminal shell (VS Code's `env.shell`), `dir` quoted for it. */
export function tensorboardCommand(logdir: string, shell: string, platform: string): string {
  return `tensorboard --logdir ${quoteArg(logdir, shellKindOf(shell, platform))}`;
}

export function registerExportMetricsCommand(
  log: vscode.LogOutputChannel,
  cliScript: string,
): vscode.Disposable {
  return vscode.commands.registerCommand('fineTune.exportMetrics', (arg?: unknown) =>
    exportRunMetrics(arg, log, cliScript),
  );
}
