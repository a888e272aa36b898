/**
 * Paths that files of the workspace name — run.json's `experimentPath` and `config.dataset.path`, an
 * experiment's `dataset.path`, a webview's restored state — are the repository's say, not the user's. Before
 * the host edits, opens or scans what such a path names, it checks here that the path (with every symbolic
 * link resolved) lies inside a folder of the open workspace. The checks are asynchronous (fs.promises) so a
 * slow or hostile disk never blocks the extension host.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** True when `child` is `parent` or inside it (both absolute, already resolved). */
export function isInsideFolder(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return (
    relative === '' ||
    (!relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative))
  );
}

/** The real paths of the open workspace's local folders (a folder that cannot be resolved is left out). */
async function workspaceRoots(): Promise<string[]> {
  const roots = await Promise.all(
    (vscode.workspace.workspaceFolders ?? [])
      .filter((folder) => folder.uri.scheme === 'file')
      .map((folder) => fs.realpath(folder.uri.fsPath).catch(() => undefined)),
  );
  return roots.filter((root): root is string => root !== undefined);
}

/** The real path of `file`, or undefined when it does not exist (or cannot be resolved). */
async function realPathOf(file: string): Promise<string | undefined> {
  return fs.realpath(path.resolve(file)).catch(() => undefined);
}

/** Where `file` (links resolved) is: inside a folder of the open workspace, outside, or not there at all. */
export async function workspaceLocation(file: string): Promise<'inside' | 'outside' | 'missing'> {
  const real = await realPathOf(file);
  if (!real) return 'missing';
  return (await workspaceRoots()).some((root) => isInsideFolder(real, root)) ? 'inside' : 'outside';
}

/** Whether `file` (links resolved) is inside a folder of the open workspace; false when it does not exist. */
export async function isInWorkspace(file: string): Promise<boolean> {
  const real = await realPathOf(file);
  if (!real) return false;
  return (await workspaceRoots()).some((root) => isInsideFolder(real, root));
}

/**
 * Why `file` may not be edited or started as a workspace file of this kind, or undefined when it may: it
 * must be a regular file whose name ends with `suffix`, inside the workspace (links resolved, so a run.json
 * or a sweep's state.json naming a link to ~/.bashrc is refused too).
 */
export async function workspaceFileProblem(
  file: string,
  suffix: string,
  kind: string,
): Promise<string | undefined> {
  const real = await realPathOf(file);
  if (!real) return `${file} does not exist`;
  if (!real.endsWith(suffix)) return `${file} is not a *${suffix} ${kind}`;
  const stat = await fs.stat(real).catch(() => undefined);
  if (!stat?.isFile()) return `${file} is not a regular file`;
  if (!(await workspaceRoots()).some((root) => isInsideFolder(real, root)))
    return `${file} is outside the workspace`;
  return undefined;
}

/** workspaceFileProblem for an experiment file (`*.finetune.json`). */
export function experimentFileProblem(file: string): Promise<string | undefined> {
  return workspaceFileProblem(file, '.finetune.json', 'experiment file');
}

/** workspaceFileProblem for a sweep file (`*.sweep.json`). */
export function sweepFileProblem(file: string): Promise<string | undefined> {
  return workspaceFileProblem(file, '.sweep.json', 'sweep file');
}

/**
 * The real path of `relativeFile` inside `folder`, when both lie inside the workspace and the file is a
 * regular file inside the folder (links resolved); undefined otherwise.
 */
export async function fileInWorkspaceFolder(
  folder: string,
  relativeFile: string,
): Promise<string | undefined> {
  const realFolder = await realPathOf(folder);
  if (!realFolder || !(await workspaceRoots()).some((root) => isInsideFolder(realFolder, root)))
    return undefined;
  const real = await realPathOf(path.resolve(realFolder, relativeFile));
  if (!real || real === realFolder || !isInsideFolder(real, realFolder)) return undefined;
  const stat = await fs.stat(real).catch(() => undefined);
  return stat?.isFile() ? real : undefined;
}
