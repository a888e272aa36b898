/**
 * Extension host entry point. Activation stays cheap: no TensorFlow.js here (the build fails if the
 * bundle contains it); training happens in the trainer child process (dist/trainer.js).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendChoice } from '../protocol/experimentConfig';
import type { TrainingEvent } from '../protocol/trainingEvents';
import { TrainerProcess } from './trainerProcess';

let activeTrainer: TrainerProcess | undefined;

function describeEvent(event: TrainingEvent): string | undefined {
  switch (event.type) {
    case 'log':
      return event.message;
    case 'beforeFit':
      return `run ${event.runId} on ${event.backend}: ${event.trainCount} training / ${event.valCount} validation images, ${event.classNames.length} classes`;
    case 'afterEpoch': {
      const m = event.metrics;
      return `epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(3)} val_loss ${m.val_loss.toFixed(4)} val_acc ${m.val_accuracy.toFixed(3)}${event.isBest ? ' (best)' : ''}${event.overfittingReason ? ` — ${event.overfittingReason}` : ''}`;
    }
    case 'afterFit':
      return `run ${event.runId} ${event.status}${event.endReason ? `: ${event.endReason}` : ''}${event.error ? ` — ${event.error}` : ''}`;
    default:
      return undefined;
  }
}

async function pickExperiment(): Promise<vscode.Uri | undefined> {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && active.fsPath.endsWith('.finetune.json')) return active;
  const found = await vscode.workspace.findFiles('**/*.finetune.json', '**/node_modules/**', 50);
  if (found.length === 1) return found[0];
  if (found.length === 0) {
    void vscode.window.showErrorMessage('No *.finetune.json experiment file in this workspace.');
    return undefined;
  }
  const choice = await vscode.window.showQuickPick(
    found.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri })),
    { placeHolder: 'Which experiment?' },
  );
  return choice?.uri;
}

async function startTraining(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<void> {
  if (activeTrainer) {
    void vscode.window.showWarningMessage(
      'A training run is already in progress. Stop it first (Fine-Tune: Stop Training).',
    );
    return;
  }
  const experiment = await pickExperiment();
  if (!experiment) return;
  const folder =
    vscode.workspace.getWorkspaceFolder(experiment)?.uri.fsPath ?? path.dirname(experiment.fsPath);
  const backend = vscode.workspace.getConfiguration('fineTune').get<BackendChoice>('backend', 'auto');
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Fine-Tune', cancellable: true },
    async (progress, token) => {
      progress.report({ message: 'starting the trainer…' });
      let trainer: TrainerProcess;
      try {
        trainer = await TrainerProcess.launch({
          trainerScript: context.asAbsolutePath('dist/trainer.js'),
          backend,
          cwd: folder,
        });
      } catch (error) {
        log.error(String(error));
        void vscode.window.showErrorMessage(`Fine-Tune: ${(error as Error).message}`);
        return;
      }
      activeTrainer = trainer;
      log.info(`trainer ${trainer.pid} ready on ${trainer.backend}`);
      token.onCancellationRequested(() => void trainer.stop());
      trainer.onEvent((event) => {
        const line = describeEvent(event);
        if (line && event.type === 'log' && event.level !== 'info') log.warn(line);
        else if (line) log.info(line);
        if (event.type === 'beforeEpoch') progress.report({ message: `epoch ${event.epoch}` });
        if (event.type === 'afterEpoch') {
          const m = event.metrics;
          progress.report({
            message: `epoch ${m.epoch}: val_loss ${m.val_loss.toFixed(4)}, val_acc ${m.val_accuracy.toFixed(3)}`,
          });
        }
      });
      trainer.start({ experimentPath: experiment.fsPath, runsDir: path.join(folder, '.finetune', 'runs') });
      const exit = await trainer.finished;
      activeTrainer = undefined;
      if (exit.kind === 'done') {
        const r = exit.result;
        const text = `Run ${r.runId} ${r.status}${r.error ? `: ${r.error}` : ''}`;
        void (r.status === 'failed'
          ? vscode.window.showErrorMessage(text)
          : vscode.window.showInformationMessage(text));
      } else if (exit.kind === 'failed') {
        log.error(exit.error);
        void vscode.window.showErrorMessage(`Fine-Tune: ${exit.error}`);
      } else {
        log.error(`trainer crashed (code ${exit.code}, signal ${exit.signal}): ${exit.stderrTail}`);
        void vscode.window.showErrorMessage(
          `Fine-Tune: the trainer crashed (${exit.signal ?? `exit code ${exit.code}`}). See the Fine-Tune log.`,
        );
      }
    },
  );
}

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Fine-Tune', { log: true });
  context.subscriptions.push(
    log,
    vscode.commands.registerCommand('fineTune.startTraining', () => startTraining(context, log)),
    vscode.commands.registerCommand('fineTune.stopTraining', async () => {
      if (!activeTrainer) {
        void vscode.window.showInformationMessage('No training run in progress.');
        return;
      }
      await activeTrainer.stop();
    }),
    { dispose: () => activeTrainer?.kill() },
  );
}

export function deactivate(): Promise<void> | undefined {
  // Window reload / VS Code exit: ask the run to stop so it is recorded as stopped, not left running.
  return activeTrainer?.stop(3000).then(() => undefined);
}
