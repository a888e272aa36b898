/**
 * Train/validation split. A dataset in the 'split' layout brings its own (train/ and val/; test/ is kept
 * out of training and validation). Otherwise each class is split on its own (stratified), so that the
 * validation set has the classes in the same proportions as the data — with few images per class a
 * plain random split can leave a class out of validation entirely.
 */
import { createRng, shuffled } from '../rng';
import { UserError } from '../userError';
import { compareCodePoints } from './codePointOrder';
import type { DatasetScan, ImageRef } from './scanDataset';

export interface DatasetSplit {
  /** Both sorted by file; the trainer shuffles per epoch. */
  train: ImageRef[];
  val: ImageRef[];
  warnings: string[];
}

export function splitDataset(scan: DatasetScan, validationSplit: number, seed: number): DatasetSplit {
  if (scan.layout === 'split') return givenSplit(scan);
  if (!Number.isFinite(validationSplit) || validationSplit < 0 || validationSplit >= 1) {
    throw new UserError(
      `dataset.validationSplit must be a number from 0 (no validation set) to below 1; got ${validationSplit}. ` +
        `0.2 keeps a fifth of each class for validation.`,
    );
  }
  const warnings: string[] = [];
  const train: ImageRef[] = [];
  const val: ImageRef[] = [];
  scan.classNames.forEach((className, classIndex) => {
    // Sorting first makes the result independent of the order the file system listed the files in.
    const own = scan.images
      .filter((i) => i.classIndex === classIndex)
      .sort((a, b) => compareCodePoints(a.file, b.file));
    // One generator per class, seeded by its name: adding images to one class leaves the others' split as it was.
    const order = shuffled(own, createRng(`split:${seed}:${className}`));
    const valCount = validationCount(own.length, validationSplit);
    if (validationSplit > 0 && valCount === 0) {
      warnings.push(
        `Class "${className}" has only ${own.length} image(s), too few to put one in the validation set; ` +
          `add images so its validation accuracy can be measured.`,
      );
    }
    val.push(...order.slice(0, valCount));
    train.push(...order.slice(valCount));
  });
  return { train: byFile(train), val: byFile(val), warnings };
}

/**
 * round(n × split), but at least one when there is a split and two images (else a class would be
 * missing from validation), and never all of them (else it would be missing from training).
 */
function validationCount(n: number, validationSplit: number): number {
  if (validationSplit <= 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * validationSplit)));
}

function givenSplit(scan: DatasetScan): DatasetSplit {
  const train = scan.images.filter((i) => i.split === 'train');
  const val = scan.images.filter((i) => i.split === 'val');
  const warnings: string[] = [];
  if (val.length === 0) {
    warnings.push(
      `${scan.root}/val holds no images: there is no validation set, so overfitting cannot be seen.`,
    );
  }
  return { train: byFile(train), val: byFile(val), warnings };
}

function byFile(images: ImageRef[]): ImageRef[] {
  return images.sort((a, b) => compareCodePoints(a.file, b.file));
}
