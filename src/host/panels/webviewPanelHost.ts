/**
 * What every Fine-Tune webview panel shares: the strict-CSP HTML shell with a fresh nonce, resources only
 * from dist/webview, the ready handshake, and validation of every message from the webview before it
 * reaches the handler.
 *
 * The handshake: a webview that has not loaded yet would lose what is posted to it, so messages posted
 * before its first `ready` are queued; at `ready` they are delivered in order, then `onReady` posts the
 * complete state, which supersedes them where they overlap (the panels' reducers take the newest).
 */
import * as vscode from 'vscode';
import { renderWebviewHtml } from './webviewHtml';

export interface PanelHostOptions<In> {
  panel: vscode.WebviewPanel;
  extensionUri: vscode.Uri;
  /** webview/<bundle>/main.ts → dist/webview/<bundle>.js */
  bundle: string;
  title: string;
  isMessage: (value: unknown) => value is In;
  onMessage: (message: In) => void | Promise<void>;
  /** Called on every `ready` (first load and each reload of the webview): post the complete state. */
  onReady: () => void;
  log?: vscode.LogOutputChannel;
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  };
}

/**
 * The most messages kept for a webview that is not ready: beyond it the oldest go, which loses nothing
 * the complete state posted at `ready` does not carry (a long run's batches while the panel loads).
 */
export const MAX_QUEUED_MESSAGES = 1000;

export class WebviewPanelHost<In extends { type: string }, Out> implements vscode.Disposable {
  private ready = false;
  private queue: Out[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly options: PanelHostOptions<In>) {
    const { panel, extensionUri, bundle } = options;
    panel.webview.options = webviewOptions(extensionUri);
    const asset = (file: string): string =>
      panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file)).toString();
    panel.webview.html = renderWebviewHtml({
      title: options.title,
      cspSource: panel.webview.cspSource,
      scriptUri: asset(`${bundle}.js`),
      styleUris: [asset('codicon.css'), asset(`${bundle}.css`)],
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage(async (message: unknown) => {
        if (!options.isMessage(message)) {
          options.log?.warn(
            `Ignored a malformed message from the ${bundle} webview: ${JSON.stringify(message)?.slice(0, 200)}`,
          );
          return;
        }
        if (message.type === 'ready') {
          this.ready = true;
          const queued = this.queue;
          this.queue = [];
          for (const early of queued) void panel.webview.postMessage(early);
          options.onReady();
          return;
        }
        try {
          await options.onMessage(message);
        } catch (error) {
          options.log?.error(`${bundle} webview action failed: ${(error as Error).message}`);
          void vscode.window.showErrorMessage(`Fine-Tune: ${(error as Error).message}`);
        }
      }),
    );
  }

  post(message: Out): void {
    if (this.ready) {
      void this.options.panel.webview.postMessage(message);
      return;
    }
    this.queue.push(message);
    if (this.queue.length > MAX_QUEUED_MESSAGES) this.queue.shift();
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
