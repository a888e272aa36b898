/**
 * Downloads a catalogue model into a cache folder (the extension's global storage), verified, or not at
 * all: every file goes into a private staging folder; the model is checked (a LayersModel with a weights
 * manifest, safe shard names, the catalogue's parameter count, each weight group exactly the bytes its
 * manifest needs, SHA-256 where the catalogue pins one, and — through `verifyLoads` — that it loads);
 * only then is the staging folder renamed to `<cache>/<id>/`. A failed or cancelled download leaves
 * nothing behind, and a model in the cache is always complete.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CatalogueEntry } from './catalogue';
import { fetchBuffer, fetchStream, type FetchOptions } from './httpFetch';
import { BYTES_PER_DTYPE } from '../../core/model/weightBytes';

/** Written last into a verified model's folder; its presence marks the folder complete. */
export const VERIFIED_FILE = 'fine-tune-download.json';

const MAX_MODEL_JSON_BYTES = 20 * 1024 * 1024;

export interface DownloadProgress {
  /** File being fetched (a path relative to the model folder). */
  file: string;
  /** Bytes of every file so far. */
  received: number;
  /** Expected bytes of every file: the manifest's, else the catalogue's estimate. */
  total?: number;
}

export interface DownloadOptions {
  /** The cache folder; the model ends up in `<cacheDir>/<entry.id>/`. */
  cacheDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Idle timeout per request (default 30 s). */
  timeoutMs?: number;
  /** Extra check on the staged model.json before it enters the cache (e.g. loading it); throws to refuse. */
  verifyLoads?: (modelJsonPath: string) => Promise<void>;
}

export interface DownloadedModel {
  modelJson: string;
  dir: string;
  bytes: number;
  /** True when the model was already in the cache and nothing was downloaded. */
  cached: boolean;
}

interface VerifiedRecord {
  id: string;
  url: string;
  files: Record<string, { bytes: number; sha256: string }>;
  downloadedAt: string;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype?: string };
}

/** A shard path from a manifest, as a safe relative path (no absolute paths, no `..`, no URLs). */
function safeShardPath(shard: unknown): string {
  if (typeof shard !== 'string' || shard === '')
    throw new Error(`a weight path in model.json is not a name: ${JSON.stringify(shard)}`);
  const normalized = path.posix.normalize(shard.replace(/\\/g, '/'));
  if (
    normalized.startsWith('/') ||
    normalized === '..' ||
    normalized.startsWith('../') ||
    /^[a-z][a-z0-9+.-]*:/i.test(shard)
  ) {
    throw new Error(`model.json names a weight file outside its folder: ${shard}`);
  }
  return normalized;
}

/** The model in the cache, when a complete, verified copy of this entry is there. */
export async function cachedModel(
  entry: CatalogueEntry,
  cacheDir: string,
): Promise<DownloadedModel | undefined> {
  const dir = path.join(cacheDir, entry.id);
  try {
    const record = JSON.parse(
      await fs.promises.readFile(path.join(dir, VERIFIED_FILE), 'utf8'),
    ) as VerifiedRecord;
    if (record.url !== entry.url) return undefined;
    let bytes = 0;
    for (const [file, info] of Object.entries(record.files)) {
      // Sizes, not hashes: cheap enough for every use, and enough to notice a file removed or cut short.
      if ((await fs.promises.stat(path.join(dir, file))).size !== info.bytes) return undefined;
      bytes += info.bytes;
    }
    return { modelJson: path.join(dir, 'model.json'), dir, bytes, cached: true };
  } catch {
    return undefined;
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Downloads (or finds in the cache) the entry's model; see the file comment for what is verified. */
export async function downloadModel(
  entry: CatalogueEntry,
  options: DownloadOptions,
): Promise<DownloadedModel> {
  const existing = await cachedModel(entry, options.cacheDir);
  if (existing) return existing;

  await fs.promises.mkdir(options.cacheDir, { recursive: true });
  const staging = await fs.promises.mkdtemp(path.join(options.cacheDir, `.partial-${entry.id}-`));
  try {
    const fetchOptions: FetchOptions = { timeoutMs: options.timeoutMs, signal: options.signal };
    let received = 0;
    let total = entry.approxBytes;

    options.onProgress?.({ file: 'model.json', received, total });
    const { body: modelJsonBytes, url: modelJsonUrl } = await fetchBuffer(entry.url, {
      ...fetchOptions,
      maxBytes: MAX_MODEL_JSON_BYTES,
    });
    received += modelJsonBytes.length;
    let modelJson: {
      modelTopology?: unknown;
      weightsManifest?: { paths: unknown[]; weights: ManifestEntry[] }[];
    };
    try {
      modelJson = JSON.parse(modelJsonBytes.toString('utf8'));
    } catch (error) {
      throw new Error(`${entry.url} is not JSON (${(error as Error).message}): not a model.json`);
    }
    if (
      !modelJson ||
      typeof modelJson.modelTopology !== 'object' ||
      !Array.isArray(modelJson.weightsManifest)
    ) {
      throw new Error(`${entry.url} is not a TensorFlow.js LayersModel (no modelTopology / weightsManifest)`);
    }

    // What the manifest needs, before any weight is fetched: the parameter count and each group's bytes.
    const groups = modelJson.weightsManifest.map((group) => {
      if (!Array.isArray(group.paths) || !Array.isArray(group.weights))
        throw new Error(`${entry.url}: a weightsManifest group has no paths/weights`);
      const bytes = group.weights.reduce((sum, w) => {
        const count = w.shape.reduce((a, b) => a * b, 1);
        const dtype = w.quantization?.dtype ?? w.dtype;
        const per = BYTES_PER_DTYPE[dtype];
        if (per === undefined)
          throw new Error(`${entry.url}: weight ${w.name} has an unknown dtype ${dtype}`);
        return sum + count * per;
      }, 0);
      return { paths: group.paths.map(safeShardPath), bytes };
    });
    const parameters = modelJson.weightsManifest
      .flatMap((g) => g.weights)
      .reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
    if (entry.parameters !== undefined && parameters !== entry.parameters) {
      throw new Error(
        `${entry.url} lists ${parameters} parameters, but the catalogue expects ${entry.parameters} for ${entry.label}: not the expected model`,
      );
    }
    total = modelJsonBytes.length + groups.reduce((sum, g) => sum + g.bytes, 0);
    await fs.promises.writeFile(path.join(staging, 'model.json'), modelJsonBytes);

    for (const group of groups) {
      let groupBytes = 0;
      for (const shard of group.paths) {
        const target = path.join(staging, shard);
        await fs.promises.mkdir(path.dirname(target), { recursive: true });
        const handle = await fs.promises.open(target, 'w');
        // Chunks are written in order, without blocking the thread; the download waits for the last write.
        let writes: Promise<unknown> = Promise.resolve();
        try {
          await fetchStream(new URL(shard, modelJsonUrl).toString(), {
            ...fetchOptions,
            onData: (chunk) => {
              // More than the manifest describes is not this model's weights; stop before filling the disk.
              if (groupBytes + chunk.length > group.bytes)
                throw new Error(
                  `weight files ${group.paths.join(', ')} are larger than the ${group.bytes} bytes model.json describes: not this model's weights`,
                );
              writes = writes.then(() => handle.write(chunk));
              received += chunk.length;
              groupBytes += chunk.length;
              options.onProgress?.({ file: shard, received, total });
            },
          });
          await writes;
        } finally {
          await writes.catch(() => undefined);
          await handle.close();
        }
      }
      if (groupBytes !== group.bytes) {
        throw new Error(
          `weight files ${group.paths.join(', ')} hold ${groupBytes} bytes but model.json needs ${group.bytes}: the download is incomplete or not this model's weights`,
        );
      }
    }

    const files: VerifiedRecord['files'] = {};
    for (const file of ['model.json', ...groups.flatMap((g) => g.paths)]) {
      const abs = path.join(staging, file);
      files[file] = { bytes: (await fs.promises.stat(abs)).size, sha256: await sha256(abs) };
      const expected = entry.sha256?.[file];
      if (expected !== undefined && expected !== files[file].sha256) {
        throw new Error(`${file}: SHA-256 ${files[file].sha256} does not match the catalogue's ${expected}`);
      }
    }
    await options.verifyLoads?.(path.join(staging, 'model.json'));
    const record: VerifiedRecord = {
      id: entry.id,
      url: entry.url,
      files,
      downloadedAt: new Date().toISOString(),
    };
    await fs.promises.writeFile(path.join(staging, VERIFIED_FILE), `${JSON.stringify(record, null, 2)}\n`);

    // Into place: a stale or partial copy under the final name goes first.
    const dir = path.join(options.cacheDir, entry.id);
    await fs.promises.rm(dir, { recursive: true, force: true });
    await fs.promises.rename(staging, dir);
    return { modelJson: path.join(dir, 'model.json'), dir, bytes: received, cached: false };
  } finally {
    await fs.promises.rm(staging, { recursive: true, force: true });
  }
}
