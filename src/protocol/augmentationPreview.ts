/**
 * Augmentation preview (issue 7): real training images of the workspace dataset before and after the
 * experiment's augmentation. The trainer computes it in a one-shot mode
 * (`--preview-augmentation <experiment> [--count N] [--seed N]`), the host relays it to the experiment panel.
 */

/** One training image as the model would see it (resized, pixelRange mapped back to 0..255) and augmented. */
export interface AugmentationPreviewImage {
  /** Path relative to the dataset folder. */
  file: string;
  className: string;
  /** `data:image/png;base64,…` */
  original: string;
  augmented: string;
}

/** Argument that makes the trainer answer one `augmentationPreview` message instead of training. */
export const TRAINER_PREVIEW_AUGMENTATION_ARG = '--preview-augmentation';
export const TRAINER_PREVIEW_COUNT_ARG = '--count';
export const TRAINER_PREVIEW_SEED_ARG = '--seed';

/** Images shown by default (a 4 × 3 grid), and the most the trainer makes in one answer. */
export const DEFAULT_PREVIEW_COUNT = 12;
export const MAX_PREVIEW_COUNT = 48;
