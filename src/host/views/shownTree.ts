/**
 * What a tree view shows of its items, as one string: two readings of the disk that look the same give
 * the same string. The Runs view re-reads run folders on every file event, on a timer and on a safety-net
 * listing; telling VS Code "the tree changed" when nothing the user sees changed re-renders the rows, and a
 * re-render lands on whatever the user is doing with them — a context menu being opened on a selection, a
 * click on an inline action (whose command then gets no item: microsoft/vscode#144250).
 */
import type * as vscode from 'vscode';

/** A tree item and the items shown below it. */
export interface ShownNode {
  readonly item: vscode.TreeItem;
  readonly children?: readonly ShownNode[];
}

const textOf = (value: string | vscode.MarkdownString | vscode.TreeItemLabel | undefined): unknown =>
  value === undefined || typeof value === 'string' ? value : 'value' in value ? value.value : value;

function iconOf(icon: vscode.TreeItem['iconPath']): unknown {
  if (icon === undefined || typeof icon === 'string') return icon;
  if ('id' in icon) return [icon.id, (icon as vscode.ThemeIcon).color?.id];
  return 'fsPath' in icon ? icon.toString() : [String(icon.light), String(icon.dark)];
}

/** Everything of each item that reaches the screen, a menu or a click, in order. */
export function shownTree(nodes: readonly ShownNode[]): string {
  const describe = (node: ShownNode): unknown => {
    const item = node.item;
    return [
      item.id,
      textOf(item.label),
      item.description,
      textOf(item.tooltip),
      iconOf(item.iconPath),
      item.contextValue,
      item.collapsibleState,
      item.command ? [item.command.command, item.command.arguments] : undefined,
      item.accessibilityInformation?.label,
      item.resourceUri?.toString(),
      node.children?.map(describe),
    ];
  };
  return JSON.stringify(nodes.map(describe));
}
