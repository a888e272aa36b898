/**
 * The learning-rate finder's last answer for an experiment, remembered in `<.finetune>/lr-finder/` so a run
 * that diverges can say which rate to use ("…; the learning-rate finder suggested 0.003 for this
 * experiment"), and the advice with it. One small JSON file per experiment file; it counts only while the
 * experiment still trains the same model on the same data — everything but the settings the sweep does
 * not depend on (learning rate, epochs, schedule, early stopping, overfitting patience, backend, name) must
 * be as it was, and the dataset's fingerprint too.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExperimentConfig } from '../protocol/experimentConfig';
import { writeFileAtomic } from './atomicFile';
import { READ_LIMITS, readTextFile, readTextFileSync } from './files/regularFile';

/** The folder's name beside `runs/` and `cache/` in `.finetune/`. */
export const LR_FINDER_DIR_NAME = 'lr-finder';

export interface LrFinderRecord {
  format: 1;
  experimentPath: string;
  /** The settings the sweep depends on (see the file comment), as JSON. */
  configKey: string;
  datasetFingerprint: string;
  suggestion: number;
  minLossLr: number;
  /** ISO time of the sweep. */
  at: string;
}

/** `.finetune/lr-finder` for a runs folder `.finetune/runs` (its sibling, as the activation cache is). */
export function lrFinderDirBeside(runsDir: string): string {
  return path.join(path.dirname(path.resolve(runsDir)), LR_FINDER_DIR_NAME);
}

function recordFile(dir: string, experimentPath: string): string {
  const hash = createHash('sha256').update(path.resolve(experimentPath)).digest('hex').slice(0, 16);
  return path.join(dir, `${hash}.json`);
}

/** The settings a learning-rate sweep depends on. */
export function sweepConfigKey(config: ExperimentConfig): string {
  const {
    learningRate: _lr,
    epochs: _epochs,
    schedule: _schedule,
    earlyStopping: _es,
    overfitPatience: _patience,
    backend: _backend,
    ...training
  } = config.training;
  const { name: _name, ...rest } = config;
  return JSON.stringify({ ...rest, training });
}

export function writeLrFinderRecord(
  dir: string,
  entry: Omit<LrFinderRecord, 'format' | 'configKey' | 'at'> & { config: ExperimentConfig },
): void {
  const { config, ...fields } = entry;
  const record: LrFinderRecord = {
    format: 1,
    ...fields,
    experimentPath: path.resolve(fields.experimentPath),
    configKey: sweepConfigKey(config),
    at: new Date().toISOString(),
  };
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(recordFile(dir, record.experimentPath), JSON.stringify(record, null, 2));
}

/** The suggestion of the last sweep for this experiment, when it still applies (see the file comment). */
export function readLrFinderSuggestion(
  dir: string,
  experimentPath: string,
  config: ExperimentConfig,
  datasetFingerprint: string,
): number | undefined {
  let text: string;
  try {
    text = readTextFileSync(recordFile(dir, experimentPath), { maxBytes: READ_LIMITS.smallJson });
  } catch {
    return undefined;
  }
  return suggestionThatApplies(text, experimentPath, config, datasetFingerprint);
}

/**
 * readLrFinderSuggestion for the extension host: asynchronous and bounded like its other reads of workspace
 * files (a record that is a FIFO or a link to /dev/zero is no suggestion, never a hang).
 */
export async function readLrFinderSuggestionAsync(
  dir: string,
  experimentPath: string,
  config: ExperimentConfig,
  datasetFingerprint: string,
): Promise<number | undefined> {
  let text: string;
  try {
    text = await readTextFile(recordFile(dir, experimentPath), { maxBytes: READ_LIMITS.smallJson });
  } catch {
    return undefined;
  }
  return suggestionThatApplies(text, experimentPath, config, datasetFingerprint);
}

function suggestionThatApplies(
  text: string,
  experimentPath: string,
  config: ExperimentConfig,
  datasetFingerprint: string,
): number | undefined {
  let record: Partial<LrFinderRecord>;
  try {
    record = JSON.parse(text) as Partial<LrFinderRecord>;
  } catch {
    return undefined;
  }
  const fits =
    record.format === 1 &&
    record.experimentPath === path.resolve(experimentPath) &&
    record.configKey === sweepConfigKey(config) &&
    record.datasetFingerprint === datasetFingerprint &&
    typeof record.suggestion === 'number' &&
    Number.isFinite(record.suggestion) &&
    record.suggestion > 0;
  return fits ? record.suggestion : undefined;
}
