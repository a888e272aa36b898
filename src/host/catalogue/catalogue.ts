/**
 * The pre-trained model catalogue (modelCatalogue.json, bundled into the extension): what each entry
 * promises — where the model.json is, the input size and pixel range the model was trained with, the layer
 * to cut at, and what the download must match. No vscode import, so it is unit-tested in plain Node.
 */
import catalogueFile from './modelCatalogue.json';

export interface CatalogueEntry {
  /** Folder name in the cache; letters, digits, `.`, `_`, `-`. */
  id: string;
  label: string;
  description: string;
  publisher: string;
  /** The model.json; weight shards are resolved relative to it. */
  url: string;
  /** [height, width] the model was trained with. */
  imageSize: [number, number];
  /** Pixels 0..255 are mapped to this range before the model sees them. */
  pixelRange: [number, number];
  /** The layer whose output feeds a new head (written to `head.cutAt`). */
  cutAt?: string;
  /** Exact parameter count the weights manifest must list. */
  parameters?: number;
  /** Download size for progress, when the server does not say. */
  approxBytes?: number;
  /** Expected SHA-256 (hex) per file name, where known. */
  sha256?: Record<string, string>;
  license?: string;
}

function fail(index: number, message: string): never {
  throw new Error(`model catalogue entry ${index}: ${message}`);
}

function isNumberPair(value: unknown): value is [number, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((n) => typeof n === 'number' && Number.isFinite(n))
  );
}

/** Checks every entry of a catalogue document; throws naming the first bad entry and field. */
export function validateCatalogue(document: unknown): CatalogueEntry[] {
  const models = (document as { models?: unknown })?.models;
  if (!Array.isArray(models)) throw new Error('model catalogue: "models" must be an array');
  const ids = new Set<string>();
  return models.map((raw, index) => {
    const entry = raw as Partial<CatalogueEntry>;
    if (typeof entry.id !== 'string' || !/^[A-Za-z0-9._-]+$/.test(entry.id) || entry.id.startsWith('.'))
      fail(index, 'id must be a plain folder name');
    if (ids.has(entry.id)) fail(index, `duplicate id ${entry.id}`);
    ids.add(entry.id);
    for (const key of ['label', 'description', 'publisher', 'url'] as const) {
      if (typeof entry[key] !== 'string' || entry[key] === '')
        fail(index, `${key} must be a non-empty string`);
    }
    let url: URL;
    try {
      url = new URL(entry.url!);
    } catch {
      fail(index, `url is not a URL: ${entry.url}`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(index, 'url must be http(s)');
    if (!url.pathname.endsWith('.json')) fail(index, 'url must point at a model.json');
    if (!isNumberPair(entry.imageSize) || !entry.imageSize.every((n) => Number.isInteger(n) && n > 0))
      fail(index, 'imageSize must be [height, width], positive whole numbers');
    if (!isNumberPair(entry.pixelRange) || entry.pixelRange[0] === entry.pixelRange[1])
      fail(index, 'pixelRange must be two different numbers');
    if (entry.cutAt !== undefined && (typeof entry.cutAt !== 'string' || entry.cutAt === ''))
      fail(index, 'cutAt must be a layer name');
    for (const key of ['parameters', 'approxBytes'] as const) {
      const n = entry[key];
      if (n !== undefined && !(Number.isSafeInteger(n) && n > 0))
        fail(index, `${key} must be a positive integer`);
    }
    if (entry.sha256 !== undefined) {
      for (const [file, hash] of Object.entries(entry.sha256)) {
        if (!/^[0-9a-f]{64}$/.test(hash)) fail(index, `sha256 of ${file} must be 64 lowercase hex digits`);
      }
    }
    return entry as CatalogueEntry;
  });
}

/** The catalogue shipped with the extension. */
export function bundledCatalogue(): CatalogueEntry[] {
  return validateCatalogue(catalogueFile);
}
