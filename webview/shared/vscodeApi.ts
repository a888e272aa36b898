/**
 * The webview side of the host ↔ webview channel: typed post, the `ready` handshake, and persisted state
 * (restored after a window reload). In tests (headless Chromium, no VS Code) `acquireVsCodeApi` is
 * provided by the test page.
 */
interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface Channel<Out, State> {
  post(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

let api: VsCodeApi | undefined;

/**
 * Listens for host messages, then says `ready` (the host posts nothing before it). `acquireVsCodeApi`
 * may only be called once per page, so the handle is kept.
 */
export function connect<In, Out extends { type: string }, State = unknown>(
  onMessage: (message: In) => void,
): Channel<Out, State> {
  api ??= acquireVsCodeApi();
  const vscode = api;
  window.addEventListener('message', (event: MessageEvent) => onMessage(event.data as In));
  vscode.postMessage({ type: 'ready' });
  return {
    post: (message) => vscode.postMessage(message),
    getState: () => vscode.getState() as State | undefined,
    setState: (state) => vscode.setState(state),
  };
}
