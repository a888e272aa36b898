/**
 * Reading and writing TensorFlow.js LayersModels on the local disk without tfjs-node (which is optional)
 * and without the network. Saving is atomic: weights go to a fresh file first, then model.json is
 * replaced by rename, so at every instant model.json points at a complete weights file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { stagedBinaryName, writeFileAtomic, writeFileDurably } from '../../core/atomicFile';
import { UserError } from '../../core/userError';
import { layersModelTopology, readModelJson } from '../../core/model/modelJson';
import { BYTES_PER_DTYPE } from '../../core/model/weightBytes';
import { containedWeightFile } from '../../core/model/weightFiles';
import { isFileReadError, READ_LIMITS, readRegularFileSync } from '../../core/files/regularFile';

interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest?: WeightsGroup[];
  trainingConfig?: unknown;
  userDefinedMetadata?: tf.io.ModelArtifacts['userDefinedMetadata'];
}

function expectedBytes(spec: tf.io.WeightsManifestEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  return count * (BYTES_PER_DTYPE[dtype] ?? 4);
}

/** Reads model.json (core/model/modelJson.ts) and its weight shards; every problem is a UserError naming the file. */
export function readModelArtifacts(modelJsonPath: string): tf.io.ModelArtifacts {
  const json = readModelJson(modelJsonPath) as ModelJson;
  // Not a Sequential/functional model (a graph model): said here, not deep inside tfjs' deserialiser.
  layersModelTopology(json, modelJsonPath);
  const dir = path.dirname(modelJsonPath);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest ?? []) {
    const groupBuffers: Buffer[] = [];
    for (const shard of Array.isArray(group.paths) ? group.paths : []) {
      // Inside the model folder, a plain file (no link): a manifest must not make the trainer read
      // ~/.ssh/id_rsa into a layer's weights, which a frozen layer would then carry into every export.
      const shardPath = containedWeightFile(dir, String(shard), modelJsonPath);
      try {
        groupBuffers.push(readRegularFileSync(shardPath, { maxBytes: READ_LIMITS.weights, noFollow: true }));
      } catch (error) {
        if (isFileReadError(error) && error.reason !== 'missing')
          throw new UserError(
            `Weight file ${shard} listed in ${modelJsonPath} is unreadable (${error.reason}).`,
            modelJsonPath,
          );
        throw new UserError(
          `Weight file ${shard} listed in ${modelJsonPath} is missing (looked for ${shardPath}). Copy the model's .bin files next to model.json.`,
          modelJsonPath,
        );
      }
    }
    const groupBytes = groupBuffers.reduce((n, b) => n + b.length, 0);
    if (!Array.isArray(group.weights))
      throw new UserError(`${modelJsonPath} has a weights group without a "weights" list.`, modelJsonPath);
    const needed = group.weights.reduce((n, w) => n + expectedBytes(w), 0);
    if (groupBytes < needed) {
      throw new UserError(
        `Weight files ${group.paths.join(', ')} of ${modelJsonPath} hold ${groupBytes} bytes but the manifest needs ${needed}: a shard is truncated. Re-export or re-download the model.`,
        modelJsonPath,
      );
    }
    specs.push(...group.weights);
    buffers.push(Buffer.concat(groupBuffers).subarray(0, needed));
  }
  const all = Buffer.concat(buffers);
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    trainingConfig: json.trainingConfig as tf.io.ModelArtifacts['trainingConfig'],
    userDefinedMetadata: json.userDefinedMetadata,
    weightSpecs: specs,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

/** IOHandler that loads from model.json on disk (for tf.loadLayersModel). */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  return { load: async () => readModelArtifacts(modelJsonPath) };
}

/**
 * IOHandler that saves into `dir` atomically: a new uniquely named weights file, then model.json swapped
 * in by rename, then older weights files removed.
 */
export function atomicDirSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts) => {
      fs.mkdirSync(dir, { recursive: true });
      const weightData = artifacts.weightData;
      const bytes =
        weightData == null
          ? new Uint8Array(0)
          : new Uint8Array(
              Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : weightData,
            );
      writeModelFolder(
        dir,
        {
          modelTopology: artifacts.modelTopology,
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
          ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
        },
        artifacts.weightSpecs ?? [],
        bytes,
      );
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: bytes.length,
        },
      };
    },
  };
}

/**
 * The model folder's files in the order that keeps it loadable at every instant: a new uniquely named
 * weights file, then model.json (naming it) renamed over the old one, then older weights files removed.
 */
function writeModelFolder(
  dir: string,
  json: Omit<ModelJson, 'weightsManifest'>,
  specs: tf.io.WeightsManifestEntry[],
  bytes: Uint8Array,
): void {
  const weightsName = stagedBinaryName('weights');
  writeFileDurably(path.join(dir, weightsName), bytes);
  const modelJson: ModelJson = {
    ...json,
    weightsManifest: [{ paths: [`./${weightsName}`], weights: specs }],
  };
  writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson));
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name !== weightsName && /^weights-.*\.bin$/.test(entry.name))
      fs.rmSync(path.join(dir, entry.name), { force: true });
  }
}

/** A tensor's values as a checkpoint holds them (checkpoint.ts SavedTensor). */
export interface WeightValues {
  shape: number[];
  dtype: string;
  data: Float32Array | Int32Array | Uint8Array;
}

/**
 * Replaces the weights of a model folder this run saved with `weights` (getWeights order, which is the
 * manifest's), keeping its topology — how Resume puts the checkpoint's best epoch back into model/.
 * Returns false, writing nothing, when the folder's manifest does not describe exactly these tensors.
 */
export function rewriteModelWeights(dir: string, weights: readonly WeightValues[]): boolean {
  let json: ModelJson;
  try {
    json = readModelJson(path.join(dir, 'model.json')) as ModelJson;
  } catch {
    return false;
  }
  const specs = (json.weightsManifest ?? []).flatMap((group) =>
    Array.isArray(group.weights) ? group.weights : [],
  );
  const fits =
    specs.length === weights.length &&
    specs.every(
      (spec, i) =>
        !spec.quantization &&
        spec.dtype === weights[i].dtype &&
        spec.shape.join() === weights[i].shape.join(),
    );
  if (!fits) return false;
  const bytes = Buffer.concat(
    weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)),
  );
  const { weightsManifest: _old, ...rest } = json;
  writeModelFolder(dir, rest, specs, bytes);
  return true;
}
