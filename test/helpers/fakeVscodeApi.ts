/**
 * A small stand-in for the `vscode` module, enough to run host code (tree items, panel hosts, the training
 * controller, trust gating) in plain Node. It records what the code under test asks of VS Code — messages
 * shown, status bar text, Markdown segments — so tests can assert on it. `fakeVscode.ts` installs it as the
 * module `vscode`; this file is the module itself.
 */
import * as path from 'node:path';

type Listener<T> = (value: T) => unknown;

export class Disposable {
  constructor(private readonly onDispose: () => void = () => {}) {}
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  dispose(): void {
    this.onDispose();
  }
}

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => (this.listeners = this.listeners.filter((l) => l !== listener)));
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.join(base.fsPath, ...parts));
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

/** Records which parts were appended as Markdown and which as plain text (VS Code escapes the latter). */
export class MarkdownString {
  readonly parts: { kind: 'markdown' | 'text'; value: string }[] = [];
  isTrusted = false;
  constructor(
    value?: string,
    readonly supportThemeIcons = false,
  ) {
    if (value) this.parts.push({ kind: 'markdown', value });
  }
  appendMarkdown(value: string): this {
    this.parts.push({ kind: 'markdown', value });
    return this;
  }
  appendText(value: string): this {
    this.parts.push({ kind: 'text', value });
    return this;
  }
  /** As VS Code renders it: text parts with every Markdown/HTML-significant character escaped. */
  get value(): string {
    return this.parts
      .map((p) =>
        p.kind === 'markdown' ? p.value : p.value.replace(/[\\`*_{}[\]()#+\-.!<>&|~"']/g, (c) => `\\${c}`),
      )
      .join('');
  }
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}
export class ThemeColor {
  constructor(readonly id: string) {}
}
export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: unknown;
  contextValue?: string;
  command?: unknown;
  checkboxState?: number;
  resourceUri?: Uri;
  accessibilityInformation?: { label: string };
  constructor(
    public label: string,
    public collapsibleState = 0,
  ) {}
}
export class RelativePattern {
  constructor(
    readonly base: string | Uri,
    readonly pattern: string,
  ) {}
}
export class Range {
  constructor(
    readonly start: unknown,
    readonly end: unknown,
  ) {}
}
export class WorkspaceEdit {
  readonly edits: unknown[] = [];
  /** File renames, applied by `workspace.applyEdit` as VS Code does (refusing to overwrite unless asked). */
  readonly renames: { from: Uri; to: Uri; options?: { overwrite?: boolean } }[] = [];
  replace(uri: Uri, range: Range, text: string): void {
    this.edits.push({ uri, range, text });
  }
  renameFile(from: Uri, to: Uri, options?: { overwrite?: boolean }): void {
    this.renames.push({ from, to, options });
  }
}

export const TreeItemCollapsibleState = { None: 0, Collapsed: 1, Expanded: 2 };
export const TreeItemCheckboxState = { Unchecked: 0, Checked: 1 };
export const StatusBarAlignment = { Left: 1, Right: 2 };
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };
export const ViewColumn = { Active: -1, Beside: -2, One: 1 };
export const EndOfLine = { LF: 1, CRLF: 2 };

/** Everything the code under test showed or set, for assertions. */
export const recorded = {
  errors: [] as string[],
  warnings: [] as string[],
  infos: [] as string[],
  status: [] as string[],
  commands: [] as { id: string; args: unknown[] }[],
  appliedEdits: [] as WorkspaceEdit[],
  deletes: [] as { path: string; useTrash: boolean }[],
  shown: [] as string[],
};

/**
 * Answers the next warning/info/error message prompts get (else undefined: dismissed); `quickPick` picks
 * from a quick pick's items, `openDialog` is what the next open dialog returns (each used once).
 */
export const answers: {
  next?: string;
  quickPick?: (items: { label: string }[]) => unknown;
  openDialog?: Uri[];
} = {};

/** Quick picks and open dialogs shown, for assertions. */
export const prompts = {
  quickPicks: [] as { labels: string[]; placeHolder?: string }[],
  openDialogs: [] as { title?: string; defaultUri?: Uri }[],
};

function show(list: string[]) {
  return (message: string): Promise<string | undefined> => {
    list.push(message);
    const answer = answers.next;
    answers.next = undefined;
    return Promise.resolve(answer);
  };
}

function fileWatcher(): Record<string, unknown> {
  const none = (): Disposable => new Disposable();
  return { onDidChange: none, onDidCreate: none, onDidDelete: none, dispose: () => {} };
}

function logChannel(): Record<string, unknown> {
  const lines: string[] = [];
  const add =
    (level: string) =>
    (message: string): void =>
      void lines.push(`${level} ${message}`);
  return {
    lines,
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    debug: add('debug'),
    trace: add('trace'),
    appendLine: add(''),
    show: () => {},
    dispose: () => {},
  };
}

export const settings: Record<string, unknown> = {};
const trustGranted = new EventEmitter<void>();

export const workspace = {
  workspaceFolders: undefined as { uri: Uri; name: string; index: number }[] | undefined,
  isTrusted: true,
  onDidGrantWorkspaceTrust: trustGranted.event,
  /** Test control: what VS Code does when the user trusts the workspace. */
  grantTrust(): void {
    workspace.isTrusted = true;
    trustGranted.fire();
  },
  textDocuments: [] as unknown[],
  getConfiguration: (section?: string) => ({
    get: <T>(key: string, fallback?: T): T => {
      const full = section ? `${section}.${key}` : key;
      return (full in settings ? settings[full] : fallback) as T;
    },
  }),
  getWorkspaceFolder: (uri: Uri) =>
    workspace.workspaceFolders?.find((f) => uri.fsPath.startsWith(f.uri.fsPath + path.sep)),
  asRelativePath: (target: Uri | string) => (typeof target === 'string' ? target : target.fsPath),
  createFileSystemWatcher: fileWatcher,
  onDidChangeTextDocument: () => new Disposable(),
  onDidChangeWorkspaceFolders: () => new Disposable(),
  onDidChangeConfiguration: () => new Disposable(),
  findFiles: async () => [],
  /**
   * Applies a WorkspaceEdit's file renames on disk. Like VS Code, an existing target is never replaced
   * unless `overwrite` is set: the whole edit is refused (false) instead. Text edits are only recorded.
   */
  applyEdit: async (edit: WorkspaceEdit): Promise<boolean> => {
    const fsp = await import('node:fs/promises');
    recorded.appliedEdits.push(edit);
    for (const { to, options } of edit.renames) {
      const exists = await fsp.lstat(to.fsPath).then(
        () => true,
        () => false,
      );
      if (exists && !options?.overwrite) return false;
    }
    for (const { from, to } of edit.renames) {
      await fsp.mkdir(path.dirname(to.fsPath), { recursive: true });
      await fsp.rename(from.fsPath, to.fsPath);
    }
    return true;
  },
  fs: {
    readFile: async (uri: Uri) => (await import('node:fs/promises')).readFile(uri.fsPath),
    createDirectory: async (uri: Uri) => {
      await (await import('node:fs/promises')).mkdir(uri.fsPath, { recursive: true });
    },
    /**
     * Deletes like VS Code: `useTrash` moves the file or folder into `trash.dir` (test control; no dir:
     * this machine has no trash, and it fails as VS Code does then). Every delete is recorded.
     */
    delete: async (uri: Uri, options?: { recursive?: boolean; useTrash?: boolean }) => {
      const fsp = await import('node:fs/promises');
      recorded.deletes.push({ path: uri.fsPath, useTrash: options?.useTrash === true });
      if (options?.useTrash) {
        if (!trash.dir) throw new Error(`Unable to delete '${uri.fsPath}' using the trash`);
        await fsp.mkdir(trash.dir, { recursive: true });
        await fsp.rename(
          uri.fsPath,
          path.join(trash.dir, `${recorded.deletes.length}-${path.basename(uri.fsPath)}`),
        );
        return;
      }
      await fsp.rm(uri.fsPath, { recursive: options?.recursive === true });
    },
    writeFile: async (uri: Uri, data: Uint8Array) =>
      (await import('node:fs/promises')).writeFile(uri.fsPath, data),
  },
};

/** Where `workspace.fs.delete(…, { useTrash: true })` moves files; unset: the trash is unavailable. */
export const trash: { dir?: string } = {};

/** A webview panel as the host code sees it; tests read `html`/`posted` and `deliver` messages to it. */
export interface FakePanel {
  viewType: string;
  title: string;
  options: unknown;
  webview: {
    options: unknown;
    html: string;
    cspSource: string;
    asWebviewUri(uri: Uri): { toString(): string };
    onDidReceiveMessage: EventEmitter<unknown>['event'];
    postMessage(message: unknown): Promise<boolean>;
  };
  posted: unknown[];
  /** Delivers a message as if the webview had posted it; resolves once the host's handlers ran. */
  deliver(message: unknown): Promise<void>;
  reveal(): void;
  onDidDispose: EventEmitter<void>['event'];
  onDidChangeViewState: EventEmitter<unknown>['event'];
  dispose(): void;
}

export const panels: FakePanel[] = [];

export function createFakePanel(viewType: string, title: string, options?: unknown): FakePanel {
  const received = new EventEmitter<unknown>();
  const disposed = new EventEmitter<void>();
  const handlers: Promise<unknown>[] = [];
  const posted: unknown[] = [];
  const panel: FakePanel = {
    viewType,
    title,
    options,
    webview: {
      options: undefined,
      html: '',
      cspSource: 'https://fake.vscode-cdn.net',
      asWebviewUri: (uri) => ({ toString: () => `https://fake.vscode-cdn.net${uri.fsPath}` }),
      onDidReceiveMessage: (listener) =>
        received.event((message) => handlers.push(Promise.resolve(listener(message)))),
      postMessage: async (message) => {
        posted.push(message);
        return true;
      },
    },
    posted,
    deliver: async (message) => {
      handlers.length = 0;
      received.fire(message);
      await Promise.all(handlers);
    },
    reveal: () => {},
    onDidDispose: disposed.event,
    onDidChangeViewState: new EventEmitter<unknown>().event,
    dispose: () => disposed.fire(),
  };
  panels.push(panel);
  return panel;
}

/** Panel serializers the host registered, by view type (a window reload would call them). */
export const panelSerializers = new Map<string, unknown>();

export const window = {
  createWebviewPanel: (viewType: string, title: string, _show: unknown, options?: unknown) =>
    createFakePanel(viewType, title, options),
  registerWebviewPanelSerializer: (viewType: string, serializer: unknown) => {
    panelSerializers.set(viewType, serializer);
    return new Disposable(() => panelSerializers.delete(viewType));
  },
  activeTextEditor: undefined as unknown,
  visibleTextEditors: [] as unknown[],
  onDidChangeActiveTextEditor: () => new Disposable(),
  showErrorMessage: show(recorded.errors),
  showWarningMessage: show(recorded.warnings),
  showInformationMessage: show(recorded.infos),
  createOutputChannel: () => logChannel(),
  createStatusBarItem: () => {
    const item = {
      text: '',
      tooltip: '' as unknown,
      command: undefined as unknown,
      name: '',
      show: () => void recorded.status.push(item.text),
      hide: () => {},
      dispose: () => {},
    };
    return item;
  },
  showQuickPick: async (items: { label: string }[], options?: { placeHolder?: string }) => {
    const resolved = await Promise.resolve(items);
    prompts.quickPicks.push({ labels: resolved.map((i) => i.label), placeHolder: options?.placeHolder });
    const pick = answers.quickPick;
    answers.quickPick = undefined;
    return pick ? pick(resolved) : undefined;
  },
  showOpenDialog: async (options?: { title?: string; defaultUri?: Uri }) => {
    prompts.openDialogs.push({ title: options?.title, defaultUri: options?.defaultUri });
    const result = answers.openDialog;
    answers.openDialog = undefined;
    return result;
  },
  withProgress: async <R>(
    _options: unknown,
    task: (
      progress: { report(value: unknown): void },
      token: { onCancellationRequested(listener: () => void): Disposable },
    ) => Promise<R>,
  ): Promise<R> => task({ report: () => {} }, { onCancellationRequested: () => new Disposable() }),
  createTreeView: () => ({ message: undefined as string | undefined, dispose: () => {} }),
  /** Records the documents shown (tests read `recorded.shown`). */
  showTextDocument: async (uri: Uri) => void recorded.shown.push(uri.fsPath),
};

export const commands = {
  executeCommand: async (id: string, ...args: unknown[]) => {
    recorded.commands.push({ id, args });
    return undefined;
  },
  /** Handlers registered with registerCommand, so tests can run a command as VS Code would. */
  registered: new Map<string, (...args: unknown[]) => unknown>(),
  registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
    commands.registered.set(id, handler);
    return new Disposable(() => commands.registered.delete(id));
  },
};

export const env = { language: 'en' };

export { logChannel as createLogChannel };
