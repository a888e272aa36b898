/**
 * Images the user marked as reviewed in the Data tab ("this one is fine"), kept in the workspace in
 * `.finetune/reviewed.json` so they are not shown again — in any run's panel, after a reload, for
 * everyone who shares the folder. Keyed by the dataset folder (relative to the workspace folder) and the
 * image's path in it. No vscode import (tested in plain Node); reads are bounded, writes atomic.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

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
      const stats = await fs.stat(this.file);
      if (!stats.isFile() || stats.size > MAX_REVIEWED_BYTES) return empty;
      text = await fs.readFile(this.file, 'utf8');
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
    const temp = `${this.file}.${process.pid}.${Date.now()}.tmp`;
    try {
      await fs.writeFile(temp, `${JSON.stringify(json, null, 2)}\n`);
      await fs.rename(temp, this.file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  }
}
