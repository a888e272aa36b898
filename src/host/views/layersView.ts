/**
 * The Layers view: the active experiment's base model as a tree, one native checkbox per layer
 * (checked = frozen). A click edits the experiment file (LayerEdit → WorkspaceEdit); the tree re-renders
 * from the file, so typing in the file updates it too. Checkbox state is managed by us, not propagated
 * by VS Code, because the file decides what a parent click means.
 */
import * as vscode from 'vscode';
import type { LayerState } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import type { ExperimentPanelState } from '../../protocol/webviewMessages';
import { analyseCuts, type CutAnalysis } from '../../core/portable/cutPoints';
import { planLeavesFromTree, unfreezeTimeline } from '../../core/portable/unfreezePlan';
import type { ExperimentService } from '../experiments/experimentService';
import { RESTRICTED_LAYERS_NOTE } from '../restrictedMode';
import type { LiveUnfreezing } from '../training/trainingController';

export class LayerItem extends vscode.TreeItem {
  constructor(
    readonly node: LayerNode,
    readonly state: LayerState | 'mixed',
    readonly isCut: boolean,
    readonly afterCut: boolean,
    /** Gradual unfreezing during a run: "training now" or "waits for epoch N". */
    readonly unfreezing?: string,
    /** A head cut here works (cutPoints.ts); "Set As Head Cut" is offered only then. */
    readonly cuttable = true,
  ) {
    super(
      node.name,
      node.children ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    this.id = node.path;
    this.checkboxState =
      state === 'frozen' ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked;
    // Restricted Mode reads layers from model.json as text: no shapes then.
    const shape = node.outputShape.length > 0 ? JSON.stringify(node.outputShape).replace(/null/g, '?') : '';
    const params = node.trainableParams + node.nonTrainableParams;
    const marks = [
      isCut ? '✂ head cut' : '',
      state === 'reinit' ? '↻ re-init' : '',
      afterCut ? 'replaced by head' : '',
      unfreezing ?? '',
    ]
      .filter(Boolean)
      .join(' · ');
    this.description = `${node.className}${shape ? ` ${shape}` : ''}${params > 0 ? ` · ${params.toLocaleString('en-US')} params` : ''}${marks ? ` · ${marks}` : ''}`;
    this.iconPath = new vscode.ThemeIcon(
      state === 'reinit'
        ? 'refresh'
        : isCut
          ? 'scissors'
          : node.children
            ? 'symbol-namespace'
            : afterCut
              ? 'circle-slash'
              : 'symbol-field',
    );
    // `.cuttable`: package.json offers "Set As Head Cut" only on these.
    this.contextValue = `${node.children ? 'fineTune.layerBlock' : 'fineTune.layer'}${cuttable ? '.cuttable' : ''}`;
    const stateText =
      state === 'mixed'
        ? 'partly frozen'
        : state === 'frozen'
          ? 'frozen'
          : state === 'reinit'
            ? 're-initialised (fresh weights)'
            : 'trainable';
    const tooltip = new vscode.MarkdownString(undefined, false);
    tooltip.appendMarkdown('**');
    tooltip.appendText(node.path);
    tooltip.appendMarkdown('**\n\n');
    tooltip.appendText(
      `${node.className}, output ${shape || 'shape unknown (Restricted Mode)'}\n${node.trainableParams.toLocaleString('en-US')} trainable + ${node.nonTrainableParams.toLocaleString('en-US')} non-trainable params\nState: ${stateText}${isCut ? '\nThe new head starts after this layer.' : ''}${afterCut ? '\nAfter the head cut: replaced by the new head.' : ''}${unfreezing ? `\nGradual unfreezing in the run in progress: ${unfreezing}.` : ''}`,
    );
    this.tooltip = tooltip;
    this.accessibilityInformation = { label: `${node.path}, ${stateText}` };
  }
}

export class LayersViewProvider implements vscode.TreeDataProvider<LayerItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private snapshot: ExperimentPanelState | undefined;
  private uri: vscode.Uri | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  readonly view: vscode.TreeView<LayerItem>;
  private leafOrder: string[] = [];
  private cuts: CutAnalysis | undefined;
  /** The run in progress unfreezes layers gradually: which train now. */
  private live: LiveUnfreezing | undefined;

  constructor(
    private readonly experiments: ExperimentService,
    training?: { onDidChangeUnfreezing: vscode.Event<LiveUnfreezing | undefined> },
  ) {
    this.view = vscode.window.createTreeView('fineTune.layers', {
      treeDataProvider: this,
      manageCheckboxStateManually: true,
      showCollapseAll: true,
    });
    this.disposables.push(
      this.view,
      this.changeEmitter,
      this.view.onDidChangeCheckboxState((e) => void this.onCheckbox(e)),
      experiments.onDidChangeActive(() => void this.refresh()),
      experiments.onDidChange((uri) => {
        if (uri.toString() === this.uri?.toString()) void this.refresh();
      }),
    );
    if (training) {
      this.disposables.push(
        training.onDidChangeUnfreezing((live) => {
          this.live = live;
          this.changeEmitter.fire();
        }),
      );
    }
    void this.refresh();
  }

  get experimentUri(): vscode.Uri | undefined {
    return this.uri;
  }

  async refresh(): Promise<void> {
    this.uri = this.experiments.active ?? (await this.experiments.resolveActive(false));
    this.snapshot = this.uri ? await this.experiments.snapshot(this.uri) : undefined;
    this.leafOrder = [];
    const visit = (nodes: LayerNode[]): void =>
      nodes.forEach((n) => (n.children ? visit(n.children) : this.leafOrder.push(n.path)));
    visit(this.snapshot?.layers ?? []);
    this.cuts = this.snapshot?.layers ? analyseCuts(this.snapshot.layers) : undefined;
    this.view.message = !this.uri
      ? 'Open a *.finetune.json experiment (or run "Fine-Tune: New Experiment") to see its layers.'
      : this.snapshot?.layersError
        ? this.snapshot.layersError
        : !vscode.workspace.isTrusted
          ? RESTRICTED_LAYERS_NOTE
          : undefined;
    this.view.description = this.uri ? vscode.workspace.asRelativePath(this.uri) : undefined;
    this.changeEmitter.fire();
  }

  getTreeItem(item: LayerItem): vscode.TreeItem {
    return item;
  }

  getChildren(parent?: LayerItem): LayerItem[] {
    const nodes = parent ? (parent.node.children ?? []) : (this.snapshot?.layers ?? []);
    return nodes.map((node) => this.item(node));
  }

  getParent(item: LayerItem): LayerItem | undefined {
    const parentPath = item.node.path.split('/').slice(0, -1).join('/');
    if (!parentPath) return undefined;
    const find = (nodes: LayerNode[]): LayerNode | undefined => {
      for (const n of nodes) {
        if (n.path === parentPath) return n;
        const inner = n.children ? find(n.children) : undefined;
        if (inner) return inner;
      }
      return undefined;
    };
    const node = find(this.snapshot?.layers ?? []);
    return node ? this.item(node) : undefined;
  }

  private item(node: LayerNode): LayerItem {
    const states = this.snapshot?.layerStates ?? {};
    let state: LayerState | 'mixed';
    if (node.children) {
      const leaves = this.leafOrder.filter((p) => p.startsWith(`${node.path}/`)).map((p) => states[p]);
      state = leaves.every((s) => s === 'frozen')
        ? 'frozen'
        : leaves.some((s) => s === 'frozen')
          ? 'mixed'
          : 'trainable';
    } else {
      state = states[node.path] ?? 'trainable';
    }
    const cut = this.snapshot?.cutAt;
    const cutIndex = cut
      ? Math.max(...this.leafOrder.map((p, i) => (p === cut || p.startsWith(`${cut}/`) ? i : -1)))
      : -1;
    const myIndex = node.children
      ? this.leafOrder.findIndex((p) => p.startsWith(`${node.path}/`))
      : this.leafOrder.indexOf(node.path);
    const afterCut = cutIndex >= 0 && myIndex > cutIndex;
    return new LayerItem(
      node,
      state,
      node.path === cut,
      afterCut,
      this.unfreezingMark(node),
      this.cuts?.isValid(node.path) ?? false,
    );
  }

  /** During a run of this experiment with gradual unfreezing: does this layer train yet? */
  private unfreezingMark(node: LayerNode): string | undefined {
    const snapshot = this.snapshot;
    const gu = snapshot?.config?.training.gradualUnfreezing;
    if (!this.live || !gu || !snapshot?.layers || this.live.experiment.toString() !== this.uri?.toString())
      return undefined;
    const timeline = unfreezeTimeline(
      planLeavesFromTree(snapshot.layers, snapshot.layerStates, snapshot.cutAt, snapshot.config?.training),
      gu,
      snapshot.config?.training.epochs ?? 0,
    );
    const paths = node.children ? this.leafOrder.filter((p) => p.startsWith(`${node.path}/`)) : [node.path];
    const planned = paths.filter((p) => timeline.blocks.some((b) => b.includes(p)));
    if (planned.length === 0) return undefined;
    const training = planned.filter((p) => this.live!.trainable.includes(p));
    if (training.length === planned.length) return 'training now';
    if (training.length > 0) return 'partly training now';
    const starts = planned.map((p) => timeline.startEpoch[p]).filter((e) => e !== undefined);
    return starts.length > 0 ? `waits for epoch ${Math.min(...starts)}` : 'stays frozen in this run';
  }

  private async onCheckbox(e: vscode.TreeCheckboxChangeEvent<LayerItem>): Promise<void> {
    if (!this.uri) return;
    for (const [item, checkbox] of e.items) {
      await this.experiments.applyLayerEdit(this.uri, {
        kind: 'setFrozen',
        path: item.node.path,
        frozen: checkbox === vscode.TreeItemCheckboxState.Checked,
      });
    }
    // The file change triggers a refresh; refresh anyway so a no-op click re-syncs the checkbox.
    await this.refresh();
  }

  /** Leaf and block paths in tree order, for "Freeze Layers Up To…". */
  allPaths(): { path: string; className: string }[] {
    const out: { path: string; className: string }[] = [];
    const visit = (nodes: LayerNode[]): void =>
      nodes.forEach((n) => {
        out.push({ path: n.path, className: n.className });
        if (n.children) visit(n.children);
      });
    visit(this.snapshot?.layers ?? []);
    return out;
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
