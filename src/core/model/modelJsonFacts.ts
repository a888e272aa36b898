/**
 * What the extension host needs from a model.json — its input size (for an experiment that leaves out
 * `dataset.imageSize`) and its layer tree as JSON (Restricted Mode's Layers view) — read asynchronously
 * with the byte cap of readModelJsonAsync and parsed once per version of the file. The Layers view and the
 * experiment panel take a snapshot of the experiment on every keystroke; a 60 MiB model.json parsed each
 * time would stall the editor, so the facts are cached by the file's identity (device, inode, size,
 * modification time) and a changed file is read again.
 */
import * as fs from 'node:fs';
import type { LayerNode } from '../../protocol/layerTree';
import { errorMessage } from '../userError';
import { modelInputSizeOf } from '../config/modelInputShape';
import { readModelJsonAsync } from './modelJson';
import { layerTreeOfModelJson } from './topologyLayerTree';

export interface ModelJsonFacts {
  /** [height, width] of the image input, when the topology says. */
  inputSize?: [number, number];
  /** The layer tree read from the topology (names, classes, nesting; no shapes). */
  layers?: LayerNode[];
  /** Why the file or its layers could not be read (missing, too large, not a LayersModel…). */
  error?: string;
}

/** Model files whose facts are kept (each a small summary, not the parsed JSON). */
const CACHED_FILES = 16;

const cache = new Map<string, { key: string; facts: Promise<ModelJsonFacts> }>();
let reads = 0;

async function versionKey(modelJsonPath: string): Promise<string | undefined> {
  try {
    const stat = await fs.promises.stat(modelJsonPath);
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return undefined;
  }
}

async function readFacts(modelJsonPath: string): Promise<ModelJsonFacts> {
  reads++;
  let json: Awaited<ReturnType<typeof readModelJsonAsync>>;
  try {
    json = await readModelJsonAsync(modelJsonPath);
  } catch (error) {
    return { error: errorMessage(error) };
  }
  const facts: ModelJsonFacts = {};
  try {
    facts.inputSize = modelInputSizeOf(json);
  } catch {
    // no size in the topology: the experiment must set dataset.imageSize
  }
  try {
    facts.layers = layerTreeOfModelJson(json, modelJsonPath);
  } catch (error) {
    facts.error = errorMessage(error);
  }
  return facts;
}

/** The facts of a model.json, read once per version of the file (see the file comment). Never throws. */
export async function modelJsonFacts(modelJsonPath: string): Promise<ModelJsonFacts> {
  const key = await versionKey(modelJsonPath);
  if (key === undefined) return readFacts(modelJsonPath); // missing: readModelJsonAsync says so in words
  const cached = cache.get(modelJsonPath);
  if (cached?.key === key) return cached.facts;
  const facts = readFacts(modelJsonPath);
  cache.delete(modelJsonPath);
  cache.set(modelJsonPath, { key, facts });
  while (cache.size > CACHED_FILES) cache.delete(cache.keys().next().value as string);
  return facts;
}

/** How many model.json files were read and parsed (not answered from the cache), for tests. */
export function modelJsonFactsReads(): number {
  return reads;
}
