/**
 * Everything a run needs before it trains, shared by runExperiment and the learning-rate finder so that
 * both see the very same model and data: the experiment file read and validated, the backend, the dataset
 * scanned and split, and the model after surgery (with the cpu fallback when the backend lacks a kernel
 * that training needs). Bad input throws a UserError here, before anything is written.
 */
import type { BackendChoice, ExperimentConfig } from '../protocol/experimentConfig';
import { currentBackend, hasKernel, initBackend, switchToCpu } from './backend/selectBackend';
import { loadExperiment } from '../core/config/loadExperiment';
import { datasetFingerprint } from '../core/data/fingerprint';
import { scanDataset, type DatasetScan } from '../core/data/scanDataset';
import { splitDataset, type DatasetSplit } from '../core/data/splitDataset';
import { buildTrainingModel, type TrainingModel } from './model/buildTrainingModel';
import { loadBaseModel } from './model/loadBaseModel';
import { seedMathRandom } from '../core/rng';
import { UserError } from '../core/userError';

export interface RunOverrides {
  epochs?: number;
  backend?: BackendChoice;
}

export interface PreparedRun {
  config: ExperimentConfig;
  scan: DatasetScan;
  split: DatasetSplit;
  model: TrainingModel;
  fingerprint: string;
  /** Channels of the model's image input. */
  channels: 1 | 3;
  /** For the run log and run.json (the experiment's, the dataset's, the model's). */
  warnings: string[];
  /** Set when the run fell back to the cpu backend, and why. */
  backendNote?: string;
}

export function applyOverrides(
  config: ExperimentConfig,
  overrides: RunOverrides | undefined,
): ExperimentConfig {
  return {
    ...config,
    training: {
      ...config.training,
      ...(overrides?.epochs !== undefined ? { epochs: overrides.epochs } : {}),
      ...(overrides?.backend !== undefined ? { backend: overrides.backend } : {}),
    },
  };
}

/** Loads the base model and performs the surgery, with Math.random seeded so fresh weights are reproducible. */
export async function prepareModel(
  config: ExperimentConfig,
  numClasses: number,
  file: string,
): Promise<TrainingModel> {
  const { model, inputShape } = await loadBaseModel(config.baseModel);
  const restore = seedMathRandom(`model:${config.training.seed}`);
  try {
    return buildTrainingModel(model, config, inputShape[2], numClasses, file);
  } finally {
    restore();
  }
}

/** A resumed run trains its own config snapshot on the backend it really ran on (same metrics need both). */
export interface RunSnapshot {
  config: ExperimentConfig;
  backend: BackendChoice;
}

/**
 * Reads the experiment (or takes a resumed run's snapshot), picks the backend, scans and splits the
 * dataset, builds the model.
 */
export async function prepareRun(
  file: string,
  overrides: RunOverrides | undefined,
  log: (level: 'info' | 'warn', message: string) => void,
  snapshot?: RunSnapshot,
): Promise<PreparedRun> {
  const loaded = snapshot ? { config: snapshot.config, warnings: [] } : await loadExperiment(file);
  const config = snapshot ? loaded.config : applyOverrides(loaded.config, overrides);
  const warnings = [...loaded.warnings];
  const selection = await initBackend(snapshot ? snapshot.backend : config.training.backend);
  selection.notes.forEach((note) => log('info', `backend ${note}`));
  if (selection.threads !== undefined)
    log('info', `backend ${selection.backend}: ${selection.threads} thread(s)`);
  // A software adapter: said in the run log and run.json (runExperiment logs every warning).
  if (selection.warning) warnings.push(selection.warning);

  const scan = await scanDataset(config.dataset.path);
  warnings.push(...scan.warnings);
  const split = splitDataset(scan, config.dataset.validationSplit, config.dataset.seed);
  warnings.push(...split.warnings);
  if (split.val.length === 0) {
    throw new UserError(
      `No validation images in ${config.dataset.path}: set dataset.validationSplit above 0 (e.g. 0.2) in ${file}, or give the dataset train/ and val/ folders. Overfitting cannot be seen without a validation set.`,
      file,
    );
  }

  let model = await prepareModel(config, scan.classNames.length, file);
  let backendNote: string | undefined;
  const missingKernels = model.backwardKernels.filter((k) => !hasKernel(k));
  if (missingKernels.length > 0) {
    backendNote = `the ${currentBackend()} backend lacks ${missingKernels.join(', ')}, needed to train this run's trainable convolutions: falling back to the cpu backend`;
    log('warn', backendNote);
    warnings.push(backendNote);
    model.dispose();
    await switchToCpu();
    model = await prepareModel(config, scan.classNames.length, file);
  }
  model.notes.forEach((note) => log('info', note));
  warnings.push(...model.warnings);

  return {
    config,
    scan,
    split,
    model,
    fingerprint: datasetFingerprint(scan),
    channels: model.model.inputs[0].shape[3] as 1 | 3,
    warnings,
    ...(backendNote ? { backendNote } : {}),
  };
}
