/**
 * Workspace Trust (package.json `capabilities.untrustedWorkspaces`: limited). A cloned repository is
 * untrusted until the user says otherwise, and what Fine-Tune does with a workspace splits cleanly:
 * - reading text — experiment files, run folders, folder listings of datasets — works in Restricted Mode;
 * - running TensorFlow.js and the native image decoder on the workspace's model and image files (training,
 *   reading a model's layers in the trainer process) needs trust, because those parsers run on files an
 *   attacker may have crafted.
 * Blocked actions say why and offer to manage trust; granting trust re-enables them without a reload.
 */
import * as vscode from 'vscode';
import { restrictedModeMessage, type TrustedAction } from './restrictedMode';

export const MANAGE_TRUST = 'Manage Workspace Trust';

/** True in a trusted workspace; otherwise explains (with a button to manage trust) and returns false. */
export async function ensureTrusted(action: TrustedAction, target?: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const choice = await vscode.window.showWarningMessage(
    `Fine-Tune: ${restrictedModeMessage(action, target)}`,
    MANAGE_TRUST,
  );
  if (choice === MANAGE_TRUST) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/** Runs `listener` when the user trusts the workspace (views re-read what Restricted Mode held back). */
export function onTrustGranted(listener: () => void): vscode.Disposable {
  return vscode.workspace.onDidGrantWorkspaceTrust(listener);
}
