/**
 * The TARGET task of the sample: 32×32 seven-segment digits 0–4 (class folders zero … four), a different
 * task from the shapes the base model learned, built from the same low-level parts (strokes, corners,
 * edges between two colours). Thickness, segment gaps, line caps, slant, rotation (±12°), size,
 * position, colours and noise vary, so ~48 training images per class are too few to learn from scratch
 * without overfitting, while features pre-trained on shapes transfer.
 *
 *   node scripts/sample/digits.mjs            # writes samples/digits/data/target/<class>/<class>_<nnn>.png
 *   node scripts/sample/digits.mjs --perClass 60 --seed 7 --out <dir>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNoise, colourPair, createRng, parseArgs, rasterize, writePng } from './render.mjs';

export const IMAGE_SIZE = 32;
export const DIGIT_CLASSES = ['zero', 'one', 'two', 'three', 'four'];

/** Lit segments per digit (a top, b top-right, c bottom-right, d bottom, e bottom-left, f top-left, g middle). */
const SEGMENTS = {
  zero: 'abcdef',
  one: 'bc',
  two: 'abged',
  three: 'abgcd',
  four: 'fgbc',
};

const f = (v) => v.toFixed(2);

/** End points of each segment for a digit w wide and h high, centred on the origin. */
function segmentLines(w, h) {
  const [x0, x1, y0, y1, y2] = [-w / 2, w / 2, -h / 2, 0, h / 2];
  return {
    a: [x0, y0, x1, y0],
    b: [x1, y0, x1, y1],
    c: [x1, y1, x1, y2],
    d: [x0, y2, x1, y2],
    e: [x0, y1, x0, y2],
    f: [x0, y0, x0, y1],
    g: [x0, y1, x1, y1],
  };
}

/** Shortens a segment by `gap` at both ends: the small breaks that make it look seven-segment. */
function shorten([xa, ya, xb, yb], gap) {
  const len = Math.hypot(xb - xa, yb - ya);
  const ux = (xb - xa) / len;
  const uy = (yb - ya) / len;
  return [xa + ux * gap, ya + uy * gap, xb - ux * gap, yb - uy * gap];
}

/** The SVG of image `index` of digit class `className` (deterministic in seed and index). */
export function digitSvg(className, seed, index, size = IMAGE_SIZE) {
  const lit = SEGMENTS[className];
  if (lit == null) throw new Error(`unknown digit class ${className}`);
  const rng = createRng(`digits:${seed}:${className}:${index}`);
  const { fg, bg } = colourPair(rng);
  const h = rng.uniform(15, 25);
  const w = h * rng.uniform(0.45, 0.65);
  const thickness = rng.uniform(1.6, 3.6);
  const gap = rng.uniform(0, 1.3);
  const cap = rng.pick(['butt', 'round', 'square']);
  const lines = segmentLines(w, h);
  const body = [...lit]
    .map((s) => {
      const [x1, y1, x2, y2] = shorten(lines[s], gap);
      return `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}"/>`;
    })
    .join('');
  const mx = Math.min(w / 2 + thickness + 2, 16);
  const my = Math.min(h / 2 + thickness + 1, 16);
  const cx = rng.uniform(mx, 32 - mx);
  const cy = rng.uniform(my, 32 - my);
  const angle = rng.uniform(-12, 12);
  const slant = rng.uniform(-14, 4);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" fill="${bg}"/>` +
    `<g transform="translate(${f(cx)} ${f(cy)}) rotate(${f(angle)}) skewX(${f(slant)})" ` +
    `stroke="${fg}" stroke-width="${f(thickness)}" stroke-linecap="${cap}">${body}</g></svg>`;
  return { rng, svg };
}

export async function renderDigit(className, seed, index, size = IMAGE_SIZE) {
  const { rng, svg } = digitSvg(className, seed, index, size);
  return addNoise(await rasterize(svg, size), rng, rng.uniform(1, 4));
}

async function main() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const defaultOut = path.resolve(here, '../../samples/digits/data/target');
  const args = parseArgs(process.argv.slice(2), { out: defaultOut, perClass: 60, seed: 7 });
  fs.rmSync(args.out, { recursive: true, force: true });
  let bytes = 0;
  for (const className of DIGIT_CLASSES) {
    for (let i = 0; i < args.perClass; i++) {
      const file = path.join(args.out, className, `${className}_${String(i).padStart(3, '0')}.png`);
      await writePng(await renderDigit(className, args.seed, i), IMAGE_SIZE, file);
      bytes += fs.statSync(file).size;
    }
  }
  const kb = (bytes / 1024).toFixed(0);
  console.log(`wrote ${DIGIT_CLASSES.length}×${args.perClass} digit images (${kb} KB) to ${args.out}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
