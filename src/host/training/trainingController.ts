/**
 * Runs training from the command palette: one run at a time (a second start asks to queue or cancel),
 * a progress notification with Cancel, a status bar item (epoch, val_loss, backend) that opens the run's
 * panel, the Fine-Tune log channel, and the live link between the trainer process and the run's panel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendChoice } from '../../protocol/experimentConfig';
import { adapterLabel, backendWithAdapter, type GpuAdapterRecord } from '../../protocol/gpuAdapter';
import type { LayerNode } from '../../protocol/layerTree';
import type { TrainingEvent } from '../../protocol/trainingEvents';
import { boundedPipelineSettings, boundedTrainerMemoryMB } from '../settingBounds';
import type { ExperimentService } from '../experiments/experimentService';
import { TrainingPanel, type TrainingPanelContext } from '../panels/trainingPanel';
import { readRunAsync } from '../../core/runs/readRuns';
import { resumeProblemAsync } from '../../core/runs/resumable';
import { TrainerProcess, type TrainerExit } from '../trainerProcess';
import { ensureTrusted } from '../workspaceTrust';

interface ActiveRun {
  trainer: TrainerProcess;
  experiment: vscode.Uri;
  runDir?: string;
  /** The backend the run really uses (it may fall back from the one the trainer started with). */
  backend?: string;
  /** Backend webgpu: the GPU adapter. */
  adapter?: GpuAdapterRecord;
  epochs?: number;
  stopping: boolean;
}

function adapterTooltip(adapter: GpuAdapterRecord | undefined): string {
  return adapter ? `\nGPU adapter: ${adapterLabel(adapter)}` : '';
}

function describeEvent(event: TrainingEvent): string | undefined {
  switch (event.type) {
    case 'log':
      return event.message;
    case 'beforeFit':
      return `run ${event.runId} on ${event.backend}${event.adapter ? ` (adapter ${adapterLabel(event.adapter)})` : ''}: ${event.trainCount} training / ${event.valCount} validation images, ${event.classNames.length} classes, ${event.trainableParams} trainable / ${event.frozenParams} frozen parameters`;
    case 'afterEpoch': {
      const m = event.metrics;
      return `epoch ${m.epoch}: loss ${m.loss.toFixed(4)} acc ${m.accuracy.toFixed(3)} val_loss ${m.val_loss.toFixed(4)} val_acc ${m.val_accuracy.toFixed(3)} (${m.time_s.toFixed(1)} s)${event.isBest ? ' ★ best' : ''}${event.overfittingReason ? ` — ${event.overfittingReason}` : ''}`;
    }
    case 'afterFit':
      return `run ${event.runId} ${event.status}${event.endReason ? `: ${event.endReason}` : ''}${event.error ? ` — ${event.error}` : ''}`;
    default:
      return undefined;
  }
}

/** Gradual unfreezing in the run in progress: the pre-trained layers that train from `epoch` on. */
export interface LiveUnfreezing {
  experiment: vscode.Uri;
  epoch: number;
  trainable: string[];
}

export class TrainingController implements vscode.Disposable, TrainingPanelContext {
  private active: ActiveRun | undefined;
  /** Runs waiting their turn: an experiment to start, or (with `resume`) a run folder to continue. */
  private readonly queue: { experiment: vscode.Uri; resume?: string }[] = [];
  private readonly statusItem: vscode.StatusBarItem;
  private readonly ended = new vscode.EventEmitter<string | undefined>();
  /** Fires with the run folder when a run ends (any way). */
  readonly onDidEnd = this.ended.event;
  private readonly unfreezingChanged = new vscode.EventEmitter<LiveUnfreezing | undefined>();
  /** Fires when the running run's unfreezing phase changes, and with undefined when the run ends. */
  readonly onDidChangeUnfreezing = this.unfreezingChanged.event;

  constructor(
    readonly extensionUri: vscode.Uri,
    readonly log: vscode.LogOutputChannel,
    /** The trainer process's environment (the host adds where the native backends are installed). */
    private readonly trainerEnv: () => NodeJS.ProcessEnv = () => process.env,
    /** Lets the training panel apply advice to experiment files and read base models' layers. */
    readonly experiments?: ExperimentService,
  ) {
    this.statusItem = vscode.window.createStatusBarItem(
      'fineTune.status',
      vscode.StatusBarAlignment.Left,
      50,
    );
    this.statusItem.name = 'Fine-Tune training';
  }

  describeLayers(modelJsonPath: string): Promise<LayerNode[]> {
    return this.experiments
      ? this.experiments.describeLayers(modelJsonPath)
      : Promise.reject(new Error('no layer reader'));
  }

  get running(): boolean {
    return this.active !== undefined;
  }

  isLive(runDir: string): boolean {
    return this.active?.runDir === runDir;
  }

  stop(runDir?: string): void {
    if (!this.active || (runDir && this.active.runDir !== runDir)) return;
    this.active.stopping = true;
    this.log.info('stop requested: the run ends after the current batch');
    void this.active.trainer.stop();
  }

  /**
   * Resume Run: continues a stopped or crashed run in its own folder from its last epoch checkpoint. A run
   * that cannot be resumed (completed, still running, no checkpoint) is explained instead.
   */
  async resume(runDir: string): Promise<void> {
    const listing = await readRunAsync(runDir);
    const problem = await resumeProblemAsync(listing);
    if (problem || !listing.record) {
      void vscode.window.showInformationMessage(`Fine-Tune: ${problem ?? 'the run cannot be read'}`);
      return;
    }
    await this.start(vscode.Uri.file(listing.record.experimentPath), runDir);
  }

  async start(experiment: vscode.Uri, resume?: string): Promise<void> {
    // Every way to train (palette, buttons, panel, re-run, resume, queue) comes through here: Restricted Mode
    // stops it.
    if (!(await ensureTrusted('train', path.basename(experiment.fsPath)))) return;
    if (this.active) {
      const queue = 'Queue';
      const choice = await vscode.window.showWarningMessage(
        `A training run is in progress (${path.basename(this.active.experiment.fsPath)}). Queue ${path.basename(experiment.fsPath)} to start after it?`,
        queue,
        'Cancel',
      );
      if (choice === queue) {
        this.queue.push({ experiment, ...(resume ? { resume } : {}) });
        this.log.info(`queued ${experiment.fsPath} (${this.queue.length} waiting)`);
      }
      return;
    }
    await this.run(experiment, resume);
  }

  private async run(experiment: vscode.Uri, resume?: string): Promise<void> {
    const folder =
      vscode.workspace.getWorkspaceFolder(experiment)?.uri.fsPath ?? path.dirname(experiment.fsPath);
    const backend = vscode.workspace.getConfiguration('fineTune').get<BackendChoice>('backend', 'auto');
    // A resumed run stays where it is (its run.json names the backend it continues on).
    const runsDir = resume ? path.dirname(resume) : path.join(folder, '.finetune', 'runs');
    let trainer: TrainerProcess;
    const pipeline = boundedPipelineSettings(vscode.workspace.getConfiguration('fineTune'));
    this.setStatus('$(sync~spin) Fine-Tune: starting…', 'Starting the trainer process');
    try {
      trainer = await TrainerProcess.launch({
        trainerScript: vscode.Uri.joinPath(this.extensionUri, 'dist', 'trainer.js').fsPath,
        memoryLimitMB: boundedTrainerMemoryMB(vscode.workspace.getConfiguration('fineTune')),
        backend,
        ...(pipeline.trainerThreads ? { threads: pipeline.trainerThreads } : {}),
        cwd: folder,
        env: this.trainerEnv(),
      });
    } catch (error) {
      this.statusItem.hide();
      this.log.error(String(error));
      void vscode.window.showErrorMessage(`Fine-Tune: ${(error as Error).message}`);
      return;
    }
    const run: ActiveRun = { trainer, experiment, stopping: false };
    this.active = run;
    this.log.info(
      `trainer ${trainer.pid} ready on ${trainer.backend}${trainer.adapter ? ` (GPU adapter ${adapterLabel(trainer.adapter)})` : ''} for ${experiment.fsPath}`,
    );

    const exit = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Fine-Tune: ${path.basename(experiment.fsPath, '.finetune.json')}`,
        cancellable: true,
      },
      async (progress, token) => {
        token.onCancellationRequested(() => this.stop());
        let epochs = 0;
        let lastFraction = 0;
        trainer.onEvent((event) => {
          this.onEvent(run, event);
          if (event.type === 'beforeFit') {
            epochs = event.epochs;
            progress.report({ message: `epoch 1/${epochs} on ${event.backend}` });
          } else if (event.type === 'afterBatch' && epochs > 0) {
            const fraction = (event.epoch - 1 + event.batch / event.batches) / epochs;
            progress.report({
              increment: (fraction - lastFraction) * 100,
              message: `epoch ${event.epoch}/${epochs} · loss ${event.loss.toFixed(4)}`,
            });
            lastFraction = fraction;
          } else if (event.type === 'afterEpoch') {
            const m = event.metrics;
            progress.report({
              message: `epoch ${m.epoch}/${epochs} · val_loss ${m.val_loss.toFixed(4)} · val_acc ${m.val_accuracy.toFixed(3)}`,
            });
          }
        });
        trainer.start({
          experimentPath: experiment.fsPath,
          runsDir,
          ...(resume ? { resume } : {}),
          pipeline,
        });
        return trainer.finished;
      },
    );
    this.active = undefined;
    this.finish(run, exit);
    this.unfreezingChanged.fire(undefined);
    this.ended.fire(run.runDir);
    const next = this.queue.shift();
    if (next) await this.run(next.experiment, next.resume);
  }

  private onEvent(run: ActiveRun, event: TrainingEvent): void {
    const line = describeEvent(event);
    if (line) {
      if (event.type === 'log' && event.level === 'warn') this.log.warn(line);
      else if (event.type === 'log' && event.level === 'error') this.log.error(line);
      else this.log.info(line);
    }
    if (event.type === 'beforeFit') {
      run.runDir = event.runDir;
      run.backend = event.backend;
      run.adapter = event.adapter;
      run.epochs = event.epochs;
      this.statusItem.command = { title: 'Open run', command: 'fineTune.openRun', arguments: [event.runDir] };
      this.setStatus(
        `$(sync~spin) Fine-Tune: epoch 1/${event.epochs} · ${backendWithAdapter(event.backend, event.adapter)}`,
        `Run ${event.runId}: click to open its panel${adapterTooltip(event.adapter)}`,
      );
      if (vscode.workspace.getConfiguration('fineTune').get<boolean>('openPanelOnStart', true)) {
        TrainingPanel.show(event.runDir, this, true);
      }
      // A resumed run's panel may be open already: show its folder as the trainer left it (history cut
      // to the checkpoint, status running) before the live epochs arrive.
      TrainingPanel.forRun(event.runDir)?.refreshFromDisk();
    } else if (event.type === 'afterEpoch') {
      const m = event.metrics;
      this.setStatus(
        `$(sync~spin) Fine-Tune: epoch ${m.epoch}/${run.epochs ?? '?'} · val_loss ${m.val_loss.toFixed(4)} · ${backendWithAdapter(run.backend ?? run.trainer.backend, run.adapter)}`,
        `val_acc ${m.val_accuracy.toFixed(3)}, best epoch ${event.bestEpoch}${event.overfittingReason ? `\n${event.overfittingReason}` : ''}${adapterTooltip(run.adapter)}`,
      );
      if (event.overfittingReason) this.log.warn(event.overfittingReason);
    } else if (event.type === 'phase') {
      this.unfreezingChanged.fire({
        experiment: run.experiment,
        epoch: event.epoch,
        trainable: event.trainable,
      });
    }
    if (run.runDir) TrainingPanel.forRun(run.runDir)?.onEvent(event);
  }

  private finish(run: ActiveRun, exit: TrainerExit): void {
    const panel = run.runDir ? TrainingPanel.forRun(run.runDir) : undefined;
    if (exit.kind === 'done') {
      const r = exit.result;
      const icon =
        r.status === 'completed' ? '$(pass)' : r.status === 'stopped' ? '$(debug-stop)' : '$(error)';
      this.setStatus(`${icon} Fine-Tune: ${r.status}`, `Run ${r.runId}: click to open its panel`);
      if (r.status === 'failed')
        void vscode.window.showErrorMessage(`Fine-Tune: run ${r.runId} failed: ${r.error ?? 'see the log'}`);
    } else if (exit.kind === 'failed') {
      this.statusItem.hide();
      this.log.error(exit.error);
      void vscode.window.showErrorMessage(`Fine-Tune: ${exit.error}`, 'Open Experiment').then((choice) => {
        if (choice) void vscode.window.showTextDocument(run.experiment);
      });
    } else {
      this.setStatus('$(warning) Fine-Tune: crashed', 'The trainer process died; see the Fine-Tune log');
      this.log.error(`trainer crashed (${exit.signal ?? `exit code ${exit.code}`}): ${exit.stderrTail}`);
      panel?.refreshFromDisk();
      void vscode.window.showErrorMessage(`Fine-Tune: ${exit.message}`, 'Show Log').then((choice) => {
        if (choice) this.log.show();
      });
    }
  }

  private setStatus(text: string, tooltip: string): void {
    this.statusItem.text = text;
    this.statusItem.tooltip = tooltip;
    this.statusItem.show();
  }

  /** Window reload / VS Code exit: stop the run so it is recorded as stopped, never left running. */
  async shutdown(): Promise<void> {
    this.queue.length = 0;
    if (this.active) await this.active.trainer.stop(3000);
  }

  dispose(): void {
    this.active?.trainer.kill();
    this.statusItem.dispose();
    this.ended.dispose();
    this.unfreezingChanged.dispose();
  }
}
