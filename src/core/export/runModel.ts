/**
 * The best model a run saved (`<run>/model/`) and what is needed to feed it: class names, image size,
 * pixel range and channels. Read from the files alone (no TensorFlow.js), so the extension host can
 * export a model and the CLI can check its input before loading TensorFlow.js.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunListing } from '../runs/readRuns';
import { readRun } from '../runs/readRuns';
import { UserError } from '../userError';
import { isFileReadError, READ_LIMITS, readTextFileSync } from '../files/regularFile';
import { containedWeightFile } from '../model/weightFiles';

/** model.json and labels.json of a run's model: files the run wrote, so never links, and bounded. */
const MODEL_JSON_READ = { maxBytes: READ_LIMITS.modelJson, noFollow: true };
const LABELS_READ = { maxBytes: READ_LIMITS.smallJson, noFollow: true };

/** model.json of a run's model folder, parsed; a UserError when it is not a readable JSON file. */
export function readRunModelJson(modelJson: string): ModelJsonShape {
  let text: string;
  try {
    text = readTextFileSync(modelJson, MODEL_JSON_READ);
  } catch (error) {
    throw new UserError(
      isFileReadError(error) && error.reason === 'missing'
        ? `${modelJson} is missing.`
        : `${modelJson} is unreadable (${isFileReadError(error) ? error.reason : String(error)}).`,
      modelJson,
    );
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as ModelJsonShape;
  } catch (error) {
    throw new UserError(`${modelJson} is not valid JSON (${(error as Error).message}).`, modelJson);
  }
}

export interface RunModel {
  runId: string;
  runDir: string;
  /** The run's experiment name, when run.json has it. */
  name?: string;
  modelDir: string;
  modelJson: string;
  /** Weight files model.json lists, as absolute paths, in manifest order. */
  weightFiles: string[];
  classNames: string[];
  /** [height, width] */
  imageSize: [number, number];
  pixelRange: [number, number];
  channels: 1 | 3;
  bestEpoch?: number;
  valAccuracy?: number;
}

export interface ModelJsonShape {
  modelTopology?: unknown;
  weightsManifest?: { paths?: unknown }[];
}

/** [h, w, c] from the first layer that declares batch_input_shape (our saved models start with one). */
function inputShapeOf(topology: unknown): number[] | undefined {
  let found: number[] | undefined;
  const visit = (node: unknown, depth: number): void => {
    if (found || depth > 32 || node === null || typeof node !== 'object') return;
    const shape = (node as Record<string, unknown>).batch_input_shape;
    if (Array.isArray(shape) && shape.length === 4) {
      found = shape.slice(1).map(Number);
      return;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) visit(child, depth + 1);
  };
  visit(topology, 0);
  return found;
}

function isPair(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && value.every((n) => typeof n === 'number');
}

function isSymbolicLink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A run's saved best model, checked for the files it needs. Throws a UserError saying what is missing. */
export function readRunModel(run: string | RunListing): RunModel {
  const listing = typeof run === 'string' ? readRun(run) : run;
  const modelDir = path.join(listing.dir, 'model');
  const modelJson = path.join(modelDir, 'model.json');
  // The run wrote model/ itself: a link there points somewhere the run did not write.
  if (isSymbolicLink(modelDir))
    throw new UserError(`${modelDir} is a symbolic link, not the model folder a run writes.`, modelDir);
  if (!fs.existsSync(modelJson)) {
    throw new UserError(
      `Run ${listing.id} has no saved model (${modelJson} is missing): a run saves its best model when its first epoch ends.`,
      modelJson,
    );
  }
  const parsed = readRunModelJson(modelJson);
  const weightFiles: string[] = [];
  for (const group of Array.isArray(parsed.weightsManifest) ? parsed.weightsManifest : []) {
    for (const shard of Array.isArray(group.paths) ? group.paths : []) {
      weightFiles.push(containedWeightFile(modelDir, String(shard), modelJson));
    }
  }

  const labelsFile = path.join(modelDir, 'labels.json');
  let classNames: string[] | undefined;
  try {
    const labels = JSON.parse(readTextFileSync(labelsFile, LABELS_READ)) as unknown;
    if (Array.isArray(labels) && labels.every((l) => typeof l === 'string')) classNames = labels;
  } catch {
    // fall back to run.json below
  }
  const recorded: unknown = listing.record?.classNames;
  if (!classNames && Array.isArray(recorded) && recorded.every((l) => typeof l === 'string'))
    classNames = recorded as string[];
  if (!classNames || classNames.length === 0) {
    throw new UserError(`Run ${listing.id} has no class names (${labelsFile} is missing).`, labelsFile);
  }

  const shape = inputShapeOf(parsed.modelTopology);
  const config = listing.record?.config;
  const imageSize: [number, number] | undefined = isPair(config?.dataset?.imageSize)
    ? config.dataset.imageSize
    : shape && shape[0] > 0 && shape[1] > 0
      ? [shape[0], shape[1]]
      : undefined;
  if (!imageSize) {
    throw new UserError(
      `Cannot tell the image size of run ${listing.id}'s model: neither run.json nor model.json gives it.`,
      modelJson,
    );
  }
  const pixelRange: [number, number] = isPair(config?.dataset?.pixelRange)
    ? config.dataset.pixelRange
    : [0, 1];
  return {
    runId: listing.id,
    runDir: listing.dir,
    // run.json is hand-editable: what goes into READMEs and file names is checked for its type here.
    name: typeof listing.record?.name === 'string' ? listing.record.name : undefined,
    modelDir,
    modelJson,
    weightFiles,
    classNames,
    imageSize,
    pixelRange,
    channels: shape?.[2] === 1 ? 1 : 3,
    bestEpoch: Number.isSafeInteger(listing.record?.bestEpoch) ? listing.record?.bestEpoch : undefined,
    valAccuracy: Number.isFinite(listing.record?.best?.val_accuracy)
      ? listing.record?.best?.val_accuracy
      : undefined,
  };
}
