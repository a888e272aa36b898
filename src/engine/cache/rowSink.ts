/**
 * Where the activation cache's rows go while they are computed: memory, the cache folder's rows file
 * (a temporary folder until it is complete), or both. A disk that fails mid-way turns the file off and
 * keeps the reason; the rows in memory go on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../../core/userError';

/** The rows file of a cache folder: float32 rows, one per image, in meta.json's file order. */
export const ROWS = 'rows.f32';

/** Where rows go while they are computed: memory, a temporary file, or both. */
export class RowSink {
  private fd: number | undefined;
  private written = 0;
  private memory: Float32Array | undefined;
  diskError: string | undefined;

  constructor(
    readonly tempDir: string | undefined,
    floats: number,
    inMemory: boolean,
  ) {
    if (inMemory) this.memory = new Float32Array(floats);
    if (tempDir !== undefined) {
      try {
        fs.mkdirSync(tempDir, { recursive: true });
        this.fd = fs.openSync(path.join(tempDir, ROWS), 'w');
      } catch (error) {
        this.diskError = errorMessage(error);
      }
    }
  }

  append(rows: Float32Array): void {
    this.memory?.set(rows, this.written);
    this.written += rows.length;
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    } catch (error) {
      this.diskError = errorMessage(error);
      this.closeFile();
    }
  }

  get saving(): boolean {
    return this.fd !== undefined;
  }

  closeFile(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  rows(): Float32Array | undefined {
    return this.memory?.subarray(0, this.written);
  }
}
