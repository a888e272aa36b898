/**
 * Host side of the LR finder panel (one per experiment file): the sweep's loss against the learning rate,
 * the suggestion, and one click to write it to the experiment's training.learningRate — through the
 * ExperimentService, so it is an ordinary undoable edit and every other view follows. The result lives
 * only in the panel (and its saved webview state, from which the serializer reopens it after a reload).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LrFinderResult } from '../../protocol/lrFinder';
import {
  type HostToLrFinderPanel,
  type LrFinderPanelState,
  type LrFinderPanelToHost,
} from '../../protocol/webviewMessages';
import { isLrFinderPanelToHost } from '../../protocol/messageGuards';
import { parseExperimentTextAsync } from '../../core/config/loadExperiment';
import { modelJsonFacts } from '../../core/model/modelJsonFacts';
import type { ExperimentService } from '../experiments/experimentService';
import { WebviewPanelHost, webviewOptions } from './webviewPanelHost';

export const LR_FINDER_VIEW_TYPE = 'fineTune.lrFinder';

export interface LrFinderPanelContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  experiments: ExperimentService;
  /** Runs the sweep again (the Find Learning Rate command on this file). */
  findAgain(uri: vscode.Uri): void;
}

/** A saved state the serializer can trust enough to redraw (it comes back from the webview). */
export function isSavedLrFinderState(v: unknown): v is Pick<LrFinderPanelState, 'experimentPath' | 'result'> {
  if (typeof v !== 'object' || v === null) return false;
  const state = v as { experimentPath?: unknown; result?: { points?: unknown; suggestion?: unknown } };
  return (
    typeof state.experimentPath === 'string' &&
    state.experimentPath.endsWith('.finetune.json') &&
    typeof state.result === 'object' &&
    state.result !== null &&
    Array.isArray(state.result.points) &&
    typeof state.result.suggestion === 'number'
  );
}

export class LrFinderPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, LrFinderPanel>();
  private readonly host: WebviewPanelHost<LrFinderPanelToHost, HostToLrFinderPanel>;
  private readonly disposables: vscode.Disposable[] = [];
  private updateTimer: NodeJS.Timeout | undefined;

  /** Shows the result in the experiment's panel (opened, or revealed and redrawn). */
  static show(uri: vscode.Uri, result: LrFinderResult, context: LrFinderPanelContext): LrFinderPanel {
    const existing = LrFinderPanel.panels.get(uri.toString());
    if (existing) {
      existing.result = result;
      existing.panel.reveal();
      void existing.push();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      LR_FINDER_VIEW_TYPE,
      `LR Finder: ${path.basename(uri.fsPath, '.finetune.json')}`,
      vscode.ViewColumn.Active,
      webviewOptions(context.extensionUri),
    );
    return new LrFinderPanel(panel, uri, result, context);
  }

  static revive(
    panel: vscode.WebviewPanel,
    uri: vscode.Uri,
    result: LrFinderResult,
    context: LrFinderPanelContext,
  ): LrFinderPanel {
    return new LrFinderPanel(panel, uri, result, context);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    readonly uri: vscode.Uri,
    private result: LrFinderResult,
    private readonly context: LrFinderPanelContext,
  ) {
    LrFinderPanel.panels.set(uri.toString(), this);
    this.host = new WebviewPanelHost({
      panel,
      extensionUri: context.extensionUri,
      bundle: 'lrFinder',
      title: panel.title,
      isMessage: isLrFinderPanelToHost,
      log: context.log,
      onReady: () => void this.push(),
      onMessage: (message) => this.onMessage(message),
    });
    this.disposables.push(
      this.host,
      // The file is the truth: whatever changes its learning rate (this panel, the experiment panel,
      // typing, undo), the panel shows the value now in it.
      context.experiments.onDidChange((changed) => {
        if (changed.toString() !== uri.toString()) return;
        clearTimeout(this.updateTimer);
        this.updateTimer = setTimeout(
          () => void this.currentLr().then((value) => this.host.post({ type: 'currentLr', value })),
          150,
        );
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** training.learningRate as the file says now (defaults applied); undefined while the file is invalid. */
  private async currentLr(): Promise<number | undefined> {
    try {
      const text = await this.context.experiments.text(this.uri);
      const loaded = await parseExperimentTextAsync(
        text,
        this.uri.fsPath,
        async (modelJsonPath) => (await modelJsonFacts(modelJsonPath)).inputSize,
      );
      return loaded.config.training.learningRate;
    } catch {
      return undefined;
    }
  }

  private async push(): Promise<void> {
    const currentLr = await this.currentLr();
    const state: LrFinderPanelState = {
      experimentPath: this.uri.fsPath,
      result: this.result,
      ...(currentLr !== undefined ? { currentLr } : {}),
    };
    this.host.post({ type: 'init', state });
  }

  private async onMessage(message: LrFinderPanelToHost): Promise<void> {
    switch (message.type) {
      case 'useLearningRate': {
        const applied = await this.context.experiments.setValue(
          this.uri,
          ['training', 'learningRate'],
          message.value,
        );
        if (!applied) throw new Error(`could not edit ${path.basename(this.uri.fsPath)}`);
        // The panel confirms it by itself: the file changes, and the button then says the rate is in use.
        this.context.log.info(`training.learningRate = ${message.value} in ${this.uri.fsPath} (LR finder)`);
        break;
      }
      case 'findAgain':
        this.context.findAgain(this.uri);
        break;
      default:
        break;
    }
  }

  dispose(): void {
    clearTimeout(this.updateTimer);
    if (LrFinderPanel.panels.get(this.uri.toString()) === this)
      LrFinderPanel.panels.delete(this.uri.toString());
    this.disposables.forEach((d) => d.dispose());
  }
}
