/**
 * Durable, atomic file writes (temp file + fsync + rename): a reader — or a crash — sees the old content
 * or the new, never half of it. No TensorFlow.js import, so the extension host can use it too.
 */
import * as fs from 'node:fs';

export function writeFileDurably(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileDurably(tmp, data);
  fs.renameSync(tmp, file);
}
