/**
 * Host side of the Experiment panel (one per experiment file): the same layer tree as the sidebar and
 * every setting. The file is the single source of truth: edits from the panel become WorkspaceEdits, and
 * any change of the file (typed, from the sidebar, on disk) re-renders the panel.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type ExperimentPanelToHost, type HostToExperimentPanel } from '../../protocol/webviewMessages';
import { isExperimentPanelToHost } from '../../protocol/messageGuards';
import { AugmentationPreviewer, PreviewSupersededError } from '../augmentationPreviewer';
import type { ExperimentService } from '../experiments/experimentService';
import { WebviewPanelHost, webviewOptions } from './webviewPanelHost';

export const EXPERIMENT_VIEW_TYPE = 'fineTune.experiment';

export interface ExperimentPanelContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  experiments: ExperimentService;
  startTraining(uri: vscode.Uri): Promise<void>;
}

export class ExperimentPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, ExperimentPanel>();
  private readonly host: WebviewPanelHost<ExperimentPanelToHost, HostToExperimentPanel>;
  private readonly disposables: vscode.Disposable[] = [];
  private updateTimer: NodeJS.Timeout | undefined;
  /** Runs the trainer's one-shot augmentation preview; one per panel, the latest request wins. */
  private readonly previewer: AugmentationPreviewer;

  static show(uri: vscode.Uri, context: ExperimentPanelContext): ExperimentPanel {
    const existing = ExperimentPanel.panels.get(uri.toString());
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      EXPERIMENT_VIEW_TYPE,
      `Experiment: ${path.basename(uri.fsPath, '.finetune.json')}`,
      vscode.ViewColumn.Active,
      webviewOptions(context.extensionUri),
    );
    return new ExperimentPanel(panel, uri, context);
  }

  static revive(
    panel: vscode.WebviewPanel,
    uri: vscode.Uri,
    context: ExperimentPanelContext,
  ): ExperimentPanel {
    return new ExperimentPanel(panel, uri, context);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    readonly uri: vscode.Uri,
    private readonly context: ExperimentPanelContext,
  ) {
    ExperimentPanel.panels.set(uri.toString(), this);
    this.previewer = new AugmentationPreviewer(
      vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath,
      undefined,
      () => vscode.workspace.isTrusted,
    );
    this.host = new WebviewPanelHost({
      panel,
      extensionUri: context.extensionUri,
      bundle: 'experiment',
      title: panel.title,
      isMessage: isExperimentPanelToHost,
      log: context.log,
      onReady: () => void this.push('init'),
      onMessage: (message) => this.onMessage(message),
    });
    this.disposables.push(
      this.host,
      context.experiments.onDidChange((changed) => {
        if (changed.toString() !== uri.toString()) return;
        clearTimeout(this.updateTimer);
        this.updateTimer = setTimeout(() => void this.push('update'), 150);
      }),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) context.experiments.setActive(uri);
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private async push(type: 'init' | 'update'): Promise<void> {
    const state = await this.context.experiments.snapshot(this.uri);
    this.host.post({ type, state });
  }

  private async onMessage(message: ExperimentPanelToHost): Promise<void> {
    const experiments = this.context.experiments;
    switch (message.type) {
      case 'setValue':
        await experiments.setValue(this.uri, message.path, message.value);
        break;
      case 'layerEdit':
        await experiments.applyLayerEdit(this.uri, message.edit);
        break;
      case 'startTraining':
        await this.context.startTraining(this.uri);
        break;
      case 'previewAugmentation':
        await this.previewAugmentation(message.seed);
        break;
      default:
        break;
    }
  }

  /** The preview reads the file on disk, which every edit from the panel saves at once. */
  private async previewAugmentation(seed: number): Promise<void> {
    try {
      const images = await this.previewer.preview(this.uri.fsPath, seed);
      this.host.post({ type: 'augmentationPreview', seed, images });
    } catch (error) {
      if (error instanceof PreviewSupersededError) return;
      this.host.post({ type: 'augmentationPreview', seed, images: [], error: (error as Error).message });
    }
  }

  dispose(): void {
    clearTimeout(this.updateTimer);
    this.previewer.dispose();
    ExperimentPanel.panels.delete(this.uri.toString());
    this.disposables.forEach((d) => d.dispose());
  }
}
