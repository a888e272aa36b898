/**
 * Data insight (issue 15): seeing the data through the model. Shared by the engine
 * (src/engine/insight/), the CLI (`finetune label-issues`, `finetune explain`), the trainer's one-shot
 * modes (`--analyze-data`, `--explain`) and the training panel's Data tab.
 *
 *   - label issues: images whose folder (label) is probably wrong, by confident learning on out-of-sample
 *     probabilities from K-fold training of the experiment's head on the frozen features;
 *   - near-duplicates across the training/validation split (a leak that inflates val_accuracy);
 *   - the validation set's top losses under a run's saved model;
 *   - an embedding map (PCA of the features at the cut);
 *   - Grad-CAM heatmaps for one image and class.
 */

/** One image whose label is probably wrong (DESIGN.md "CLI": file, label, suggested, score). */
export interface LabelIssue {
  /** Path relative to dataset.path, '/' separators. */
  file: string;
  /** Its folder: the given label. */
  label: string;
  /** The class the out-of-sample probabilities put it in. */
  suggested: string;
  /** How likely the label is wrong, 0…1, the list's order (1 − self-confidence by default). */
  score: number;
  /** p̂(label | image) out of sample. */
  selfConfidence: number;
  /** p̂(suggested | image) out of sample. */
  suggestedProbability: number;
  split: 'train' | 'val';
  /**
   * Among the images confident learning estimates to be mislabelled (true), or listed because the
   * out-of-sample model classifies it as another class (false).
   */
  confident: boolean;
}

/** A validation image that also is (nearly) a training image. */
export interface DuplicatePair {
  /** The training image (path relative to dataset.path). */
  train: string;
  trainLabel: string;
  /** The validation image. */
  val: string;
  valLabel: string;
  /** Cosine similarity of their features at the cut (1 for identical files). */
  similarity: number;
  /** Same bytes. */
  identical: boolean;
}

/** A validation image as the run's saved model classified it, largest loss first. */
export interface TopLoss {
  file: string;
  label: string;
  predicted: string;
  /** p(predicted | image). */
  probability: number;
  /** p(label | image). */
  labelProbability: number;
  /** −log p(label | image). */
  loss: number;
}

export interface EmbeddingPoint {
  file: string;
  x: number;
  y: number;
  /** Class index of its label (classNames order). */
  label: number;
  /** Class index of the out-of-sample prediction. */
  predicted: number;
  /** A label issue or one side of a duplicate pair. */
  flagged: boolean;
  split: 'train' | 'val';
}

export interface EmbeddingMap {
  points: EmbeddingPoint[];
  /** Images the map could draw; more than points.length when it was sampled. */
  total: number;
  sampled: boolean;
  /** Share of the variance the two axes explain. */
  explained: [number, number];
  /** The layer whose output was projected (the cut). */
  layer: string;
  method: 'pca';
}

export interface DataInsightReport {
  experimentName: string;
  /** Absolute dataset folder the analysis read. */
  datasetPath: string;
  /** Class folders directly in it, or under train/ and val/ (DESIGN.md "Dataset folders"). */
  layout: 'flat' | 'split';
  /** Fingerprint of the dataset as analysed (run.json's datasetFingerprint is comparable). */
  datasetFingerprint: string;
  classNames: string[];
  images: { train: number; val: number; skipped: number };
  folds: number;
  rankBy: 'self_confidence' | 'normalized_margin';
  /** How the K models were trained: on cached activations of the frozen layers, or whole (fine-tuned K times). */
  mode: 'cached activations' | 'images in memory' | 'images streamed';
  /** Accuracy of the out-of-sample predictions against the given labels. */
  outOfSampleAccuracy: number;
  /** Per-class thresholds of confident learning (mean self-confidence). */
  thresholds: number[];
  /** How many images confident learning estimates to be mislabelled (the first that many issues). */
  estimatedIssues: number;
  /** Every label issue found, most likely first. */
  issues: LabelIssue[];
  duplicates: DuplicatePair[];
  duplicateThreshold: number;
  /** Present when the analysis was made for a run with a saved model. */
  topLosses?: TopLoss[];
  /** The run whose model the top losses come from. */
  runId?: string;
  embedding?: EmbeddingMap;
  /** Small previews (`data:image/…;base64,…`) of the images the gallery shows, by file. */
  thumbnails?: Record<string, string>;
  backend: string;
  seconds: number;
  /** What the user should know about how the figures were made. */
  notes: string[];
}

/** Progress of `--analyze-data`: stage and, for stages with steps, how far. */
export interface DataInsightProgress {
  stage: 'preparing' | 'training folds' | 'features' | 'top losses' | 'thumbnails';
  /** 1-based step and steps of the stage, when it has steps (folds, batches). */
  step?: number;
  steps?: number;
  message?: string;
}

/** Grad-CAM of one image for one class, drawn over the image. */
export interface GradCamResult {
  /** Path as requested (relative to dataset.path for the panel, as given for the CLI). */
  file: string;
  classIndex: number;
  className: string;
  /** p(class | image) under the run's model. */
  probability: number;
  /** The predicted class and its probability. */
  predicted: string;
  predictedProbability: number;
  /** The spatial layer whose activations were weighted. */
  layer: string;
  /** [rows, cols] of that layer's map. */
  mapSize: [number, number];
  /** PNG overlay `data:image/png;base64,…`. */
  overlay: string;
  /** Heat share per quadrant: top-left, top-right, bottom-left, bottom-right. */
  quadrants: [number, number, number, number];
}

/** `--analyze-data <experiment> [--run <runDir>] [--folds K] [--cache-dir D]`: a one-shot trainer mode. */
export const TRAINER_ANALYZE_DATA_ARG = '--analyze-data';
export const TRAINER_RUN_ARG = '--run';
export const TRAINER_FOLDS_ARG = '--folds';
/** `--explain <runDir> --image <file relative to dataset.path> [--class k]`: Grad-CAM, one image. */
export const TRAINER_EXPLAIN_ARG = '--explain';
export const TRAINER_IMAGE_ARG = '--image';
export const TRAINER_CLASS_ARG = '--class';

/** How many issues, top losses and duplicate pairs the panel's gallery lists (and has thumbnails for). */
export const GALLERY_LIMITS = { issues: 100, topLosses: 50, duplicates: 50 } as const;
/** Longest side of a gallery thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 96;
