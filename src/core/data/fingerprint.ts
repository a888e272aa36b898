/**
 * A short identity of a dataset's contents, stored in run.json so that runs compared side by side can
 * show whether they trained on the same data. It is computed from the scan (paths, sizes, modification
 * times), not from the pixels, so it costs nothing extra; touching or replacing any image, adding or
 * removing one, or renaming a class changes it.
 */
import { createHash } from 'node:crypto';
import { compareCodePoints } from './codePointOrder';
import type { DatasetScan } from './scanDataset';

export function datasetFingerprint(scan: DatasetScan): string {
  const hash = createHash('sha256');
  // JSON per line: a path may contain tabs or newlines, and must not be able to imitate another line.
  hash.update(`classes ${JSON.stringify(scan.classNames)}\n`);
  const images = scan.images.slice().sort((a, b) => compareCodePoints(a.file, b.file));
  for (const image of images) {
    hash.update(`${JSON.stringify([image.file, image.size, image.mtimeMs])}\n`);
  }
  return hash.digest('hex');
}
