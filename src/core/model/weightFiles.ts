/**
 * The weight files a model.json names, as paths inside its folder. Every reader of a manifest goes through
 * here — the trainer's model loader (engine/model/fileModelIO.ts), the activation cache's key
 * (engine/cache/cacheKey.ts) and the export (export/runModel.ts) — because a manifest of a cloned
 * repository may name `../../../../.ssh/id_rsa`, or a plain name that is a symbolic link to it (or sits
 * in a linked sub-folder): the trainer would load the key as weights (a frozen layer then carries it into
 * every export) and the export would copy it as weights.bin. So a shard must resolve inside the model
 * folder, through no link, to a regular file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../userError';

/** Whether `child` is `parent` or below it, by path text (no file system access). */
export function isPathInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * The absolute path of `shard` (as model.json's manifest writes it) inside `modelDir`; a UserError naming
 * `modelJson` when it leaves the folder, is or passes through a symbolic link, is missing or is not a
 * regular file.
 */
export function containedWeightFile(modelDir: string, shard: string, modelJson: string): string {
  const dir = path.resolve(modelDir);
  const abs = path.resolve(dir, shard);
  if (abs === dir || !isPathInside(abs, dir))
    throw new UserError(
      `Weight file ${shard} listed in ${modelJson} is outside the model folder.`,
      modelJson,
    );
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(abs);
  } catch {
    throw new UserError(
      `Weight file ${shard} listed in ${modelJson} is missing (looked for ${abs}). Copy the model's .bin files next to model.json.`,
      modelJson,
    );
  }
  if (!stat.isFile())
    throw new UserError(
      `Weight file ${abs} listed in ${modelJson} is ${stat.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; weights must be plain files in the model folder.`,
      modelJson,
    );
  // A shard in a sub-folder: no folder on the way may be a link out of the model folder.
  if (path.dirname(abs) !== dir) {
    let real: string;
    let realDir: string;
    try {
      real = fs.realpathSync(abs);
      realDir = fs.realpathSync(dir);
    } catch {
      throw new UserError(`Weight file ${abs} listed in ${modelJson} cannot be resolved.`, modelJson);
    }
    if (!isPathInside(real, realDir) || path.relative(realDir, real) !== path.relative(dir, abs))
      throw new UserError(
        `Weight file ${shard} listed in ${modelJson} is reached through a symbolic link; weights must be plain files in the model folder.`,
        modelJson,
      );
  }
  return abs;
}
