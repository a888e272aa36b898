/** Tiny generated image-folder datasets and experiment files for engine tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { createRng } from '../../src/core/rng';

/**
 * `<dir>/<class>/<class>_<i>.png`: class k is a noisy image whose dominant colour channel is k % 3 and
 * whose brighter half is left/right by k's parity — learnable in a few epochs, not trivially.
 */
export async function makeDataset(
  dir: string,
  classes = 3,
  perClass = 12,
  size = 16,
  seed = 1,
): Promise<string> {
  const rng = createRng(seed);
  for (let k = 0; k < classes; k++) {
    const name = `class_${String.fromCharCode(97 + k)}`;
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = Buffer.alloc(size * size * 3);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const bright = x < size / 2 === (k % 2 === 0) ? 150 : 60;
          for (let c = 0; c < 3; c++) {
            const base = c === k % 3 ? bright + 60 : 40;
            pixels[(y * size + x) * 3 + c] = Math.max(
              0,
              Math.min(255, Math.round(base + rng.uniform(-50, 50))),
            );
          }
        }
      }
      await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
        .png()
        .toFile(path.join(dir, name, `${name}_${i}.png`));
    }
  }
  return dir;
}

/** Writes `<dir>/<name>.finetune.json` with the given settings merged over a small default. */
export function writeExperiment(dir: string, name: string, settings: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.finetune.json`);
  fs.writeFileSync(file, JSON.stringify({ name, ...settings }, null, 2));
  return file;
}
