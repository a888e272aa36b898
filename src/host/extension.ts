/**
 * Extension host entry point: wires the views, panels, commands and the training controller. Activation
 * stays cheap — no TensorFlow.js here (the build fails if the bundle contains it); model reading and
 * training happen in child processes (dist/trainer.js).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type {
  ComparePanelSavedState,
  ExperimentPanelState,
  LayerEdit,
  TrainingPanelState,
} from '../protocol/webviewMessages';
import { ExperimentService } from './experiments/experimentService';
import { ModelDescriber } from './modelDescriber';
import { EXPERIMENT_VIEW_TYPE, ExperimentPanel, type ExperimentPanelContext } from './panels/experimentPanel';
import { TRAINING_VIEW_TYPE, TrainingPanel } from './panels/trainingPanel';
import {
  COMPARE_VIEW_TYPE,
  ComparePanel,
  isRunFolder,
  type ComparePanelContext,
} from './panels/comparePanel';
import { registerRunCommands } from './commands/runCommands';
import { TrainingController } from './training/trainingController';
import { onTrustGranted } from './workspaceTrust';
import { experimentFileProblem, isInWorkspace } from './workspacePaths';
import { registerResumeRunCommand } from './commands/resumeRun';
import { LayersViewProvider, type LayerItem } from './views/layersView';
import { DatasetsViewProvider, registerDatasetCommands } from './views/datasetsView';
import { RunItem } from './views/runItem';
import { RunsViewProvider } from './views/runsView';
import { registerNewExperimentCommand } from './commands/newExperiment';
import { registerDownloadModelCommand } from './commands/downloadModel';
import { registerExportMetricsCommand } from './commands/exportMetrics';
import { registerExportModelCommand } from './commands/exportModel';
import { registerInstallBackendCommand, trainerEnvironment } from './commands/installBackend';
import { registerFindLearningRateCommand } from './commands/findLearningRate';
import { registerFindLabelIssuesCommand } from './commands/findLabelIssues';
import { registerSweepCommands } from './sweeps/sweepCommands';

let controller: TrainingController | undefined;

/** Finds a run folder by id under the workspace folders' .finetune/runs. */
async function findRunDir(runId: string): Promise<string | undefined> {
  // A run id is a folder name: a restored state naming `../../x` does not leave the runs folder.
  if (runId !== path.basename(runId) || runId.startsWith('.')) return undefined;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const dir = path.join(folder.uri.fsPath, '.finetune', 'runs', runId);
    if (
      await fs.lstat(path.join(dir, 'run.json')).then(
        () => true,
        () => false,
      )
    )
      return dir;
  }
  return undefined;
}

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const cliScript = vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath;
  const log = vscode.window.createOutputChannel('Fine-Tune', { log: true });
  const describer = new ModelDescriber(
    vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath,
    undefined,
    // Restricted Mode: models are not read (TensorFlow.js would run on the workspace's files).
    () => vscode.workspace.isTrusted,
  );
  const experiments = new ExperimentService(describer);
  // Trainers get FINETUNE_NATIVE_PATH: where the on-demand native backends are installed.
  controller = new TrainingController(
    context.extensionUri,
    log,
    () => trainerEnvironment(context),
    experiments,
  );
  const training = controller;
  TrainingPanel.configureDataInsight({
    extensionUri: context.extensionUri,
    log,
    trainerEnv: () => trainerEnvironment(context),
  });
  const layers = new LayersViewProvider(experiments, training);
  const datasets = new DatasetsViewProvider(experiments);
  const runs = new RunsViewProvider();
  const panelContext: ExperimentPanelContext = {
    extensionUri: context.extensionUri,
    log,
    experiments,
    startTraining: (uri) => training.start(uri),
  };
  const compareContext: ComparePanelContext = {
    extensionUri: context.extensionUri,
    log,
    describer,
    openRun: (runDir) => void vscode.commands.executeCommand('fineTune.openRun', runDir),
  };

  const activeExperiment = async (): Promise<vscode.Uri | undefined> => {
    const uri = await experiments.resolveActive(true);
    if (!uri) {
      const create = 'New Experiment';
      const choice = await vscode.window.showInformationMessage(
        'No *.finetune.json experiment file in this workspace.',
        create,
      );
      if (choice === create) await vscode.commands.executeCommand('fineTune.newExperiment');
    }
    return uri;
  };
  const editActive = async (edit: LayerEdit): Promise<void> => {
    const uri = layers.experimentUri ?? (await activeExperiment());
    if (uri) await experiments.applyLayerEdit(uri, edit);
  };

  context.subscriptions.push(
    log,
    experiments,
    training,
    layers,
    datasets,
    runs,
    training.onDidEnd(() => runs.refresh()),
    onTrustGranted(() => {
      // What Restricted Mode held back (the model's layers) is read now, without a reload.
      void layers.refresh();
      if (experiments.active) experiments.notifyChanged(experiments.active);
    }),
    registerNewExperimentCommand(context, experiments, describer),
    registerDatasetCommands(context, datasets, experiments),
    registerExportModelCommand({ log, cliScript }),
    registerExportMetricsCommand(log, cliScript),
    registerInstallBackendCommand(context, log),
    registerFindLearningRateCommand({
      extensionUri: context.extensionUri,
      log,
      experiments,
      resolveExperiment: activeExperiment,
      isTraining: () => training.running,
      trainerEnv: () => trainerEnvironment(context),
    }),
    registerDownloadModelCommand(context, experiments, describer, log),
    registerFindLabelIssuesCommand(experiments, training),
    ...registerSweepCommands({
      extensionUri: context.extensionUri,
      log,
      experiments,
      runs,
      env: () => trainerEnvironment(context),
      compare: (runDirs, sweep) => ComparePanel.show(runDirs, compareContext, sweep),
    }),
    vscode.commands.registerCommand('fineTune.startTraining', async (uri?: vscode.Uri) => {
      const target = uri instanceof vscode.Uri ? uri : await activeExperiment();
      if (target) await training.start(target);
    }),
    vscode.commands.registerCommand('fineTune.stopTraining', () => {
      if (!training.running)
        void vscode.window.showInformationMessage('Fine-Tune: no training run in progress.');
      else training.stop();
    }),
    vscode.commands.registerCommand('fineTune.openExperiment', async (uri?: vscode.Uri) => {
      const target = uri instanceof vscode.Uri ? uri : await activeExperiment();
      if (target) ExperimentPanel.show(target, panelContext);
    }),
    vscode.commands.registerCommand(
      'fineTune.openRun',
      (arg?: string | RunItem, options?: { preserveFocus?: boolean }) => {
        const dir =
          typeof arg === 'string' ? arg : arg instanceof RunItem ? arg.run.dir : runs.selectedRunDirs()[0];
        if (dir) TrainingPanel.show(dir, training, options?.preserveFocus === true);
      },
    ),
    vscode.commands.registerCommand('fineTune.runs.refresh', () => runs.refresh()),
    registerResumeRunCommand(training, runs),
    ...registerRunCommands({
      runs,
      log,
      compare: (runDirs) => ComparePanel.show(runDirs, compareContext),
      startTraining: (uri) => training.start(uri),
    }),
    vscode.commands.registerCommand('fineTune.freezeUpTo', async (item?: LayerItem) => {
      if (item?.node) return editActive({ kind: 'freezeUpTo', path: item.node.path });
      if (!layers.experimentUri) await activeExperiment();
      await layers.refresh();
      const pick = await vscode.window.showQuickPick(
        layers.allPaths().map((l) => ({ label: l.path, description: l.className })),
        { placeHolder: 'Freeze this layer and every layer before it' },
      );
      if (pick) await editActive({ kind: 'freezeUpTo', path: pick.label });
    }),
    vscode.commands.registerCommand('fineTune.unfreezeAll', () => editActive({ kind: 'unfreezeAll' })),
    vscode.commands.registerCommand('fineTune.layers.unfreezeFrom', (item: LayerItem) =>
      editActive({ kind: 'unfreezeFrom', path: item.node.path }),
    ),
    vscode.commands.registerCommand('fineTune.layers.toggleReinit', (item: LayerItem) =>
      editActive({ kind: 'setReinit', path: item.node.path, reinit: item.state !== 'reinit' }),
    ),
    vscode.commands.registerCommand('fineTune.layers.setCut', (item: LayerItem) =>
      editActive({ kind: 'setCut', path: item.node.path }),
    ),
    vscode.commands.registerCommand('fineTune.layers.refresh', () => layers.refresh()),
    vscode.window.registerWebviewPanelSerializer(TRAINING_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: TrainingPanelState | undefined) => {
        const runDir = typeof state?.runId === 'string' ? await findRunDir(state.runId) : undefined;
        if (runDir) TrainingPanel.revive(panel, runDir, training);
        else panel.dispose();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(COMPARE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: ComparePanelSavedState | undefined) => {
        const named = Array.isArray(state?.runDirs)
          ? state.runDirs.filter((dir): dir is string => typeof dir === 'string')
          : [];
        const found = await Promise.all(
          named.map(async (dir) => (await isRunFolder(dir)) && (await isInWorkspace(dir))),
        );
        const dirs = named.filter((_, i) => found[i]);
        if (dirs.length > 0) ComparePanel.revive(panel, dirs, compareContext);
        else panel.dispose();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(EXPERIMENT_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: ExperimentPanelState | undefined) => {
        if (
          typeof state?.experimentPath === 'string' &&
          (await experimentFileProblem(state.experimentPath)) === undefined
        ) {
          ExperimentPanel.revive(panel, vscode.Uri.file(state.experimentPath), panelContext);
        } else panel.dispose();
      },
    }),
  );
  log.info(`Fine-Tune Studio activated in ${(performance.now() - started).toFixed(1)} ms`);
}

export async function deactivate(): Promise<void> {
  // Window reload / VS Code exit: the run is stopped cleanly and recorded as stopped, never left running.
  await controller?.shutdown();
}
