/**
 * Re-running a run with the same configuration. A run keeps the resolved config it trained with (the
 * snapshot in run.json); its experiment file may have been edited or deleted since. So a re-run trains
 * the experiment file only when that file still resolves to the snapshot, and otherwise writes the
 * snapshot out as a new experiment file (`<name>-rerun.finetune.json`) that the loader turns back into the
 * very same config. The dataset's files may still have changed: the new run records its own fingerprint,
 * which the compare panel lists next to the parameters.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import { diffParameters, type ParameterDiff } from './compareRuns';

/**
 * Keys that differ between the snapshot and the experiment file's current config. `training.backend` is
 * left out: runs started in VS Code take the backend from the `fineTune.backend` setting, the CLI from
 * `--backend`, so the recorded value says how the run was started rather than what it trained.
 */
export function configChanges(snapshot: ExperimentConfig, current: ExperimentConfig): ParameterDiff[] {
  return diffParameters([snapshot, current]).filter((diff) => diff.key !== 'training.backend');
}

/** `a.b: 1 → 2` lines, for telling the user what changed. */
export function describeChanges(changes: readonly ParameterDiff[], limit = 6): string {
  const show = (value: unknown): string =>
    value === undefined ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value);
  const lines = changes
    .slice(0, limit)
    .map((change) => `${change.key}: ${show(change.values[0])} → ${show(change.values[1])}`);
  if (changes.length > limit) lines.push(`… and ${changes.length - limit} more`);
  return lines.join('\n');
}

function rerunFileName(experimentName: string, i: number): string {
  const slug =
    experimentName
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, 60) || 'experiment';
  return `${slug}-rerun${i === 1 ? '' : `-${i}`}.finetune.json`;
}

/** A free `<name>-rerun.finetune.json` (then `-rerun-2`, …) in `dir`. */
export function rerunFilePath(dir: string, experimentName: string): string {
  for (let i = 1; ; i++) {
    const file = path.join(dir, rerunFileName(experimentName, i));
    if (!fs.existsSync(file)) return file;
  }
}

/** rerunFilePath without blocking the thread (the extension host). */
export async function rerunFilePathAsync(dir: string, experimentName: string): Promise<string> {
  for (let i = 1; ; i++) {
    const file = path.join(dir, rerunFileName(experimentName, i));
    const taken = await fs.promises.lstat(file).then(
      () => true,
      () => false,
    );
    if (!taken) return file;
  }
}

/** A path as the experiment file writes it: relative to the file's folder, with forward slashes. */
function relativeTo(file: string, target: string): string {
  const relative = path.relative(path.dirname(file), target);
  if (relative === '' || path.isAbsolute(relative)) return target;
  const posix = relative.split(path.sep).join('/');
  return posix.startsWith('.') ? posix : `./${posix}`;
}

/**
 * The text of an experiment file at `file` that resolves to `snapshot`: the same values, every default
 * spelled out, the base model and dataset paths made relative to the new file.
 */
export function rerunExperimentText(
  snapshot: ExperimentConfig,
  file: string,
  source: { runId: string; startedAt?: string },
): string {
  const config: ExperimentConfig = {
    ...snapshot,
    baseModel: relativeTo(file, snapshot.baseModel),
    dataset: { ...snapshot.dataset, path: relativeTo(file, snapshot.dataset.path) },
  };
  // A folder name may hold any character but a slash; a line break would end the comment.
  const oneLine = (text: string): string => text.replace(/[\r\n\u2028\u2029]+/g, ' ');
  const when = source.startedAt ? ` (started ${oneLine(source.startedAt)})` : '';
  return (
    `// Re-run of run ${oneLine(source.runId)}${when}: its configuration snapshot from run.json,\n` +
    `// with every default written out. Paths are relative to this file.\n` +
    `${JSON.stringify(config, null, 2)}\n`
  );
}
