/**
 * The experiment files of the workspace as the UI sees them: which one is active (the active editor's,
 * else the only one, else the user picks), a snapshot of one (validated config, problems, layer tree and
 * resolved layer states), and edits to it — always through WorkspaceEdits on the document, then saved, so
 * the file stays the single source of truth and every change is undoable.
 */
import * as path from 'node:path';
import { modify, parse, type Edit, type FormattingOptions } from 'jsonc-parser';
import * as vscode from 'vscode';
import type { LayerNode } from '../../protocol/layerTree';
import type { LayerEdit, ExperimentPanelState } from '../../protocol/webviewMessages';
import { parseExperimentTextAsync } from '../../core/config/loadExperiment';
import { READ_LIMITS, readTextFile } from '../../core/files/regularFile';
import { modelJsonFacts } from '../../core/model/modelJsonFacts';
import { isUserError } from '../../core/userError';
import type { ModelDescriber } from '../modelDescriber';
import { RESTRICTED_LAYERS_NOTE } from '../restrictedMode';
import { currentStates, layerEditTextEdits, layerOrder } from './layerEdits';
import { analyseCuts, defaultCutPath } from '../../core/portable/cutPoints';

export const EXPERIMENT_GLOB = '**/*.finetune.json';

export function isExperimentUri(uri: vscode.Uri | undefined): uri is vscode.Uri {
  return !!uri && uri.scheme === 'file' && uri.fsPath.endsWith('.finetune.json');
}

export class ExperimentService implements vscode.Disposable {
  private activeUri: vscode.Uri | undefined;
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly activeChanged = new vscode.EventEmitter<vscode.Uri | undefined>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Fires when an experiment file's content changes (typed, saved, edited by us or on disk). */
  readonly onDidChange = this.changed.event;
  /** Fires when the active experiment changes. */
  readonly onDidChangeActive = this.activeChanged.event;

  constructor(private readonly describer: ModelDescriber) {
    const editorUri = vscode.window.activeTextEditor?.document.uri;
    if (isExperimentUri(editorUri)) this.activeUri = editorUri;
    const watcher = vscode.workspace.createFileSystemWatcher(EXPERIMENT_GLOB);
    this.disposables.push(
      this.changed,
      this.activeChanged,
      watcher,
      watcher.onDidChange((uri) => this.changed.fire(uri)),
      watcher.onDidCreate((uri) => this.changed.fire(uri)),
      watcher.onDidDelete((uri) => {
        if (this.activeUri?.toString() === uri.toString()) this.setActive(undefined);
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (isExperimentUri(e.document.uri) && e.contentChanges.length > 0) this.changed.fire(e.document.uri);
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        const uri = editor?.document.uri;
        if (isExperimentUri(uri)) this.setActive(uri);
      }),
    );
  }

  get active(): vscode.Uri | undefined {
    return this.activeUri;
  }

  /** Re-renders every view of `uri` although its file did not change (Workspace Trust now lets its model be read). */
  notifyChanged(uri: vscode.Uri): void {
    this.changed.fire(uri);
  }

  setActive(uri: vscode.Uri | undefined): void {
    if (uri?.toString() === this.activeUri?.toString()) return;
    this.activeUri = uri;
    this.activeChanged.fire(uri);
  }

  /** The active experiment; else the only one in the workspace; else, when `ask`, a quick pick. */
  async resolveActive(ask: boolean): Promise<vscode.Uri | undefined> {
    const editorUri = vscode.window.activeTextEditor?.document.uri;
    if (isExperimentUri(editorUri)) {
      this.setActive(editorUri);
      return editorUri;
    }
    if (this.activeUri) return this.activeUri;
    const found = await vscode.workspace.findFiles(EXPERIMENT_GLOB, '**/node_modules/**', 200);
    if (found.length === 1) {
      this.setActive(found[0]);
      return found[0];
    }
    if (!ask || found.length === 0) return undefined;
    const pick = await vscode.window.showQuickPick(
      found.map((uri) => ({
        label: path.basename(uri.fsPath),
        description: vscode.workspace.asRelativePath(uri),
        uri,
      })),
      { placeHolder: 'Which experiment?' },
    );
    if (pick) this.setActive(pick.uri);
    return pick?.uri;
  }

  /**
   * The experiment's text: the open document's, else the file's — a regular file of at most a few MiB
   * (a `*.finetune.json` that is a link to /dev/zero or a FIFO is refused, not read forever).
   */
  async text(uri: vscode.Uri): Promise<string> {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open) return open.getText();
    if (uri.scheme === 'file') return readTextFile(uri.fsPath, { maxBytes: READ_LIMITS.smallJson });
    return Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
  }

  /** Everything the Layers view and the experiment panel show about one experiment file. */
  async snapshot(uri: vscode.Uri): Promise<ExperimentPanelState> {
    const text = await this.text(uri);
    const document = (() => {
      const value = parse(text, [], { allowTrailingComma: true }) as unknown;
      return value && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : {};
    })();
    const state: ExperimentPanelState = {
      experimentPath: uri.fsPath,
      document,
      errors: [],
      warnings: [],
      layerStates: {},
    };
    try {
      // The base model's input size from the cached model.json facts: read once per version of the
      // model file, not on every keystroke.
      const loaded = await parseExperimentTextAsync(
        text,
        uri.fsPath,
        async (modelJsonPath) => (await modelJsonFacts(modelJsonPath)).inputSize,
      );
      state.config = loaded.config;
      state.warnings = loaded.warnings;
    } catch (error) {
      state.errors = isUserError(error) ? error.message.split('\n') : [String(error)];
    }
    const baseModel =
      state.config?.baseModel ??
      (typeof document.baseModel === 'string'
        ? path.resolve(path.dirname(uri.fsPath), document.baseModel)
        : undefined);
    if (!baseModel) {
      state.layersError = 'Set "baseModel" to a TensorFlow.js model.json to see its layers.';
      return state;
    }
    try {
      const { layers, restricted } = await this.describer.describe(baseModel);
      state.layers = layers;
      if (restricted) state.warnings = [...state.warnings, RESTRICTED_LAYERS_NOTE];
      const layersSetting =
        document.layers && typeof document.layers === 'object'
          ? (document.layers as Record<string, never>)
          : {};
      const freezeUpTo = typeof document.freezeUpTo === 'string' ? document.freezeUpTo : undefined;
      state.layerStates = Object.fromEntries(
        currentStates({ freezeUpTo, layers: layersSetting }, layerOrder(layers)),
      );
      const head = document.head as { cutAt?: unknown } | undefined;
      state.cutAt = typeof head?.cutAt === 'string' ? head.cutAt : defaultCutPath(layers);
    } catch (error) {
      state.layersError = (error as Error).message;
    }
    return state;
  }

  /** The layer tree of a base model (cached by the describer until the model file changes). */
  async describeLayers(modelJsonPath: string): Promise<LayerNode[]> {
    return (await this.describer.describe(modelJsonPath)).layers;
  }

  async applyLayerEdit(uri: vscode.Uri, edit: LayerEdit): Promise<boolean> {
    const snapshot = await this.snapshot(uri);
    if (!snapshot.layers) {
      void vscode.window.showErrorMessage(
        `Fine-Tune: cannot edit layers — ${snapshot.layersError ?? 'the model has no layers'}`,
      );
      return false;
    }
    const layers = snapshot.layers;
    // Only cuts that work are offered; one that comes anyway (an old webview, a stale tree) is refused.
    if (edit.kind === 'setCut') {
      const cutProblem = analyseCuts(layers).problem(edit.path);
      if (cutProblem !== undefined) {
        void vscode.window.showErrorMessage(`Fine-Tune: head.cutAt "${edit.path}" ${cutProblem}`);
        return false;
      }
    }
    return this.applyTextEdits(uri, (text, formatting) => layerEditTextEdits(text, edit, layers, formatting));
  }

  /** Sets (or, with `undefined`, removes) one value by JSON path. */
  setValue(uri: vscode.Uri, jsonPath: (string | number)[], value: unknown): Promise<boolean> {
    return this.applyTextEdits(uri, (text, formatting) =>
      modify(text, jsonPath, value, { formattingOptions: formatting }),
    );
  }

  /** Edits the file with `compute`'s text edits as one undoable edit, then saves it. */
  applyEdits(
    uri: vscode.Uri,
    compute: (text: string, formatting: FormattingOptions) => Edit[],
  ): Promise<boolean> {
    return this.applyTextEdits(uri, compute);
  }

  private async applyTextEdits(
    uri: vscode.Uri,
    compute: (text: string, formatting: FormattingOptions) => Edit[],
  ): Promise<boolean> {
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const formatting: FormattingOptions = {
      tabSize: typeof editor?.options.tabSize === 'number' ? editor.options.tabSize : 2,
      insertSpaces: editor?.options.insertSpaces !== false,
      eol: document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n',
    };
    const edits = compute(document.getText(), formatting);
    if (edits.length === 0) return true;
    const workspaceEdit = new vscode.WorkspaceEdit();
    for (const e of edits) {
      workspaceEdit.replace(
        uri,
        new vscode.Range(document.positionAt(e.offset), document.positionAt(e.offset + e.length)),
        e.content,
      );
    }
    const applied = await vscode.workspace.applyEdit(workspaceEdit);
    // Saved at once: the file on disk is what the trainer, the CLI and other views read.
    if (applied) await document.save();
    return applied;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
