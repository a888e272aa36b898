/**
 * Reading and writing TensorFlow.js LayersModels on the local disk without tfjs-node (which is optional)
 * and without the network. Saving is atomic: weights go to a fresh file first, then model.json is
 * replaced by rename, so at every instant model.json points at a complete weights file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic, writeFileDurably } from '../../core/atomicFile';
import { UserError } from '../../core/userError';
import { layersModelTopology, readModelJson } from '../../core/model/modelJson';
import { BYTES_PER_DTYPE } from '../../core/model/weightBytes';

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
    for (const shard of group.paths) {
      const shardPath = path.resolve(dir, shard);
      try {
        groupBuffers.push(fs.readFileSync(shardPath));
      } catch {
        throw new UserError(
          `Weight file ${shard} listed in ${modelJsonPath} is missing (looked for ${shardPath}). Copy the model's .bin files next to model.json.`,
          modelJsonPath,
        );
      }
    }
    const groupBytes = groupBuffers.reduce((n, b) => n + b.length, 0);
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
      const weightsName = `weights-${Date.now().toString(36)}-${process.pid}.bin`;
      const weightData = artifacts.weightData;
      const bytes =
        weightData == null
          ? new Uint8Array(0)
          : new Uint8Array(
              Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : weightData,
            );
      writeFileDurably(path.join(dir, weightsName), bytes);
      const modelJson: ModelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${weightsName}`], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      writeFileAtomic(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      for (const entry of fs.readdirSync(dir)) {
        if (entry !== weightsName && /^weights-.*\.bin$/.test(entry))
          fs.rmSync(path.join(dir, entry), { force: true });
      }
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
