/**
 * Every class must have training images before a run starts. A class the model is asked to output but
 * never sees in training gets no gradient — a `train/` + `val/` dataset whose `train/` class folders are
 * empty would "train" zero batches and save an untrained model as the best. Refused here, naming the
 * folder to fill, before any run folder exists (prepareRun.ts); the Datasets view only warns.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../core/userError';
import type { DatasetScan } from '../../core/data/scanDataset';
import type { DatasetSplit } from '../../core/data/splitDataset';

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Throws a UserError when the split leaves a class (or the whole training set) without images. */
export function assertEveryClassTrains(
  scan: DatasetScan,
  split: DatasetSplit,
  experimentFile?: string,
): void {
  const trainCount = scan.classNames.map(() => 0);
  for (const image of split.train) trainCount[image.classIndex] += 1;
  const missing = scan.classNames.filter((_, k) => trainCount[k] === 0);
  if (missing.length === 0) return;

  if (scan.layout === 'split') {
    const trainDir = path.join(scan.root, 'train');
    if (split.train.length === 0) {
      const folders = fs.existsSync(trainDir)
        ? fs
            .readdirSync(trainDir, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => e.name)
        : [];
      const elsewhere = scan.classNames
        .map((c) => scan.countsByClass[c])
        .reduce((n, c) => n + c.val + c.test, 0);
      throw new UserError(
        `No training images in ${trainDir}: ${
          folders.length > 0
            ? `its class folders (${folders.join(', ')}) hold no images`
            : 'it has no class folders'
        }, while val/ and test/ hold ${plural(elsewhere, 'image')}. Put each class's training images in ${path.join(trainDir, '<class>')}/ — a run on no training images would save an untrained model.`,
        experimentFile ?? trainDir,
      );
    }
    const described = missing.map((c) => {
      const counts = scan.countsByClass[c];
      const where = [
        counts.val > 0 ? `${counts.val} in val/` : '',
        counts.test > 0 ? `${counts.test} in test/` : '',
      ]
        .filter(Boolean)
        .join(', ');
      const onlyTest = counts.val === 0 && counts.test > 0;
      return onlyTest
        ? `"${c}" exists only under ${path.join(scan.root, 'test', c)} (${where})`
        : `"${c}" has no training images in ${path.join(trainDir, c)} (${where})`;
    });
    throw new UserError(
      `Every class needs training images: class ${described.join('; class ')}. Add training images to ${path.join(trainDir, '<class>')}/, or remove the class's folders everywhere.`,
      experimentFile ?? trainDir,
    );
  }

  // Flat layout: the stratified split keeps at least one training image per class, so this only happens
  // if that guarantee breaks.
  throw new UserError(
    `dataset.validationSplit leaves class ${missing.map((c) => `"${c}" (${path.join(scan.root, c)})`).join(', ')} without a training image: add images to ${missing.length === 1 ? 'that folder' : 'those folders'}, or lower dataset.validationSplit.`,
    experimentFile ?? scan.root,
  );
}
