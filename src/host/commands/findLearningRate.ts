/**
 * `Fine-Tune: Find Learning Rate`: a short sweep on the active experiment in a trainer process
 * (`--find-lr`), with a cancellable progress notification, then the LR finder panel.
 *
 * It may run while a training run is in progress. The sweep reads the experiment and the dataset and
 * writes nothing but the shared activation cache (whose folders appear atomically and tolerate two
 * processes computing the same key), so the two cannot interfere; they only share the CPU, which the
 * notification says. Refusing would force a wait of a whole run for a minute's worth of planning. One
 * sweep at a time, though: a second request says which sweep is running.
 */
import { experimentFileProblem } from '../workspacePaths';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LrFinderCancelled, runLrFinder, type LrFinderRun } from '../lrFinderProcess';
import type { ExperimentService } from '../experiments/experimentService';
import {
  LR_FINDER_VIEW_TYPE,
  LrFinderPanel,
  isSavedLrFinderState,
  type LrFinderPanelContext,
} from '../panels/lrFinderPanel';
import { ensureTrusted } from '../workspaceTrust';
import { boundedPipelineSettings, boundedTrainerMemoryMB } from '../settingBounds';

export const FIND_LEARNING_RATE_COMMAND = 'fineTune.findLearningRate';

export interface FindLearningRateContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  experiments: ExperimentService;
  /** The experiment to sweep when the command gets none: the active one (offering to create one). */
  resolveExperiment(): Promise<vscode.Uri | undefined>;
  /** A training run is in progress (the sweep then shares the CPU with it). */
  isTraining(): boolean;
  /** The trainer's environment (where the native backends are installed). */
  trainerEnv(): NodeJS.ProcessEnv;
}

let running: { experiment: vscode.Uri; run: LrFinderRun } | undefined;

export function registerFindLearningRateCommand(context: FindLearningRateContext): vscode.Disposable {
  const panelContext: LrFinderPanelContext = {
    extensionUri: context.extensionUri,
    log: context.log,
    experiments: context.experiments,
    findAgain: (uri) => void vscode.commands.executeCommand(FIND_LEARNING_RATE_COMMAND, uri),
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand(FIND_LEARNING_RATE_COMMAND, async (uri?: vscode.Uri) => {
      const experiment = uri instanceof vscode.Uri ? uri : await context.resolveExperiment();
      if (experiment) await findLearningRate(experiment, context, panelContext);
    }),
    // After a window reload the panel redraws the result it saved (the sweep is not run again).
    vscode.window.registerWebviewPanelSerializer(LR_FINDER_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        if (
          isSavedLrFinderState(state) &&
          (await experimentFileProblem(state.experimentPath)) === undefined
        ) {
          LrFinderPanel.revive(panel, vscode.Uri.file(state.experimentPath), state.result, panelContext);
        } else panel.dispose();
      },
    }),
    // Closing the window ends a sweep at once: it has nothing to save.
    { dispose: () => running?.run.cancel(0) },
  );
}

async function findLearningRate(
  experiment: vscode.Uri,
  context: FindLearningRateContext,
  panelContext: LrFinderPanelContext,
): Promise<void> {
  const name = path.basename(experiment.fsPath, '.finetune.json');
  if (!(await ensureTrusted('train', path.basename(experiment.fsPath)))) return;
  if (running) {
    void vscode.window.showInformationMessage(
      `Fine-Tune: the learning-rate finder is already running on ${path.basename(running.experiment.fsPath)}.`,
    );
    return;
  }
  // The trainer reads the file from disk: the sweep is for the experiment as the editor shows it.
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === experiment.toString());
  if (open?.isDirty) await open.save();

  const folder =
    vscode.workspace.getWorkspaceFolder(experiment)?.uri.fsPath ?? path.dirname(experiment.fsPath);
  const settings = vscode.workspace.getConfiguration('fineTune');
  const log = context.log;
  let latest: { step: number; steps: number; lr: number; loss: number } | undefined;
  let preparing = 'preparing the model and the data…';
  const run = runLrFinder({
    trainerScript: vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath,
    experimentPath: experiment.fsPath,
    // The cache training runs use: a run after the sweep finds the frozen layers' output computed.
    cacheDir: path.join(folder, '.finetune', 'cache'),
    // A run of this experiment that diverges names the suggestion (lrFinderRecord.ts).
    recordDir: path.join(folder, '.finetune', 'lr-finder'),
    cwd: folder,
    env: context.trainerEnv(),
    memoryLimitMB: boundedTrainerMemoryMB(settings),
    threads: boundedPipelineSettings(settings).trainerThreads,
    onProgress: (p) => (latest = p),
    onLog: (level, message) => {
      log[level](`LR finder: ${message}`);
      // Decoding and caching can take a while on a large dataset: say what is happening.
      if (level === 'info' && /…$/.test(message)) preparing = message;
    },
  });
  running = { experiment, run };
  log.info(`LR finder: sweeping ${experiment.fsPath}`);
  const sharing = context.isTraining() ? ' (sharing the CPU with the training run)' : '';

  try {
    const result = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Fine-Tune: finding the learning rate for ${name}${sharing}`,
        cancellable: true,
      },
      async (progress, token) => {
        token.onCancellationRequested(() => run.cancel());
        // A few updates a second at most, whatever the pace of the steps.
        let shown = 0;
        let shownPreparing = '';
        const timer = setInterval(() => {
          if (!latest) {
            if (preparing !== shownPreparing) progress.report({ message: (shownPreparing = preparing) });
            return;
          }
          if (latest.step === shown) return;
          progress.report({
            increment: ((latest.step - shown) / latest.steps) * 100,
            message: `step ${latest.step}/${latest.steps} · lr ${latest.lr.toExponential(1)} · loss ${latest.loss.toFixed(3)}`,
          });
          shown = latest.step;
        }, 250);
        try {
          return await run.result;
        } finally {
          clearInterval(timer);
          running = undefined;
        }
      },
    );
    log.info(
      `LR finder: ${result.points.length}/${result.steps} steps on ${result.backend} in ${result.seconds.toFixed(1)} s; suggestion ${result.suggestion.toExponential(2)}, lowest loss at ${result.minLossLr.toExponential(2)}${result.stoppedEarly ? ' (stopped early: the loss blew up)' : ''}`,
    );
    LrFinderPanel.show(experiment, result, panelContext);
  } catch (error) {
    if (error instanceof LrFinderCancelled) {
      log.info('LR finder: cancelled');
      return;
    }
    const message = (error as Error).message;
    log.error(`LR finder: ${message}`);
    const showLog = 'Show Log';
    const choice = await vscode.window.showErrorMessage(`Fine-Tune: ${message}`, showLog);
    if (choice === showLog) log.show();
  }
}
