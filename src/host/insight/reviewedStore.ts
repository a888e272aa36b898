/**
 * Images the user marked as reviewed in the Data tab ("this one is fine"), kept in the workspace in
 * `.finetune/reviewed.json` so they are not shown again — in any run's panel, after a reload, for
 * everyone who shares the folder. Keyed by the dataset folder (relative to the workspace folder) and the
 * image's path in it. No vscode import (tested in plain Node); reads are bounded (regular files only, no
 * link), writes atomic through an O_EXCL temp file.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicAsync } from '../../core/atomicFile';
import { readTextFile } from '../../core/files/regularFile';

export const REVIEWED_FILE = path.join('.finetune', 'reviewed.json');
/** A reviewed.json larger than this is not read (it would be tens of thousands of entries). */
export const MAX_REVIEWED_BYTES = 8 * 2 ** 20;

interface ReviewedJson {
  version: 1;
  /** dataset folder (relative, '/') → image path → when it was marked. */
  datasets: Record<string, Record<string, string>>;
}

export class ReviewedStore {
  private readonly file: string;

  /** `workspaceFolder`: the folder whose `.finetune/` holds the file. */
  constructor(private readonly workspaceFolder: string) {
    this.file = path.join(workspaceFolder, REVIEWED_FILE);
  }

  private datasetKey(datasetDir: string): string {
    return path.relative(this.workspaceFolder, datasetDir).split(path.sep).join('/') || '.';
  }

  private async read(): Promise<ReviewedJson> {
    const empty: ReviewedJson = { version: 1, datasets: Object.create(null) as ReviewedJson['datasets'] };
    let text: string;
    try {
      // A regular file only, opened non-blocking, not through a link, with a byte cap: a cloned
      // repository's reviewed.json may be a link to /dev/zero or a FIFO.
      text = await readTextFile(this.file, { maxBytes: MAX_REVIEWED_BYTES, noFollow: true });
    } catch {
      return empty;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      const datasets = (parsed as { datasets?: unknown })?.datasets;
      if (typeof datasets !== 'object' || datasets === null || Array.isArray(datasets)) return empty;
      // Only string entries count: the file is workspace content, anyone may have edited it.
      const clean = Object.create(null) as ReviewedJson['datasets'];
      for (const [key, images] of Object.entries(datasets as Record<string, unknown>)) {
        if (typeof images !== 'object' || images === null || Array.isArray(images)) continue;
        const kept = Object.create(null) as Record<string, string>;
        for (const [file, at] of Object.entries(images as Record<string, unknown>))
          if (typeof at === 'string') kept[file] = at;
        clean[key] = kept;
      }
      return { version: 1, datasets: clean };
    } catch {
      return empty;
    }
  }

  /** The reviewed images of a dataset folder. */
  async reviewed(datasetDir: string): Promise<Set<string>> {
    const json = await this.read();
    return new Set(Object.keys(json.datasets[this.datasetKey(datasetDir)] ?? {}));
  }

  async mark(datasetDir: string, file: string, at = new Date()): Promise<void> {
    const json = await this.read();
    const key = this.datasetKey(datasetDir);
    const images = json.datasets[key] ?? (Object.create(null) as Record<string, string>);
    images[file] = at.toISOString();
    json.datasets[key] = images;
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    // An O_EXCL | O_NOFOLLOW temp file renamed over the old one: never written through a planted link.
    await writeFileAtomicAsync(this.file, `${JSON.stringify(json, null, 2)}\n`);
  }
}
