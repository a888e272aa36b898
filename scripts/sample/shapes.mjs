/**
 * The SOURCE task of the sample: 32×32 RGB images of eight kinds of geometric shape, drawn as SVG
 * geometry (no fonts) and rasterised with sharp. Size, position, rotation, stroke width, colours and
 * noise vary per image; image i of seed s is always the same picture.
 *
 * pretrain.mjs generates these in memory. To look at some:
 *   node scripts/sample/shapes.mjs --out /tmp/shapes --perClass 20 --seed 1
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNoise, colourPair, createRng, parseArgs, rasterize, writePng } from './render.mjs';

export const IMAGE_SIZE = 32;
export const SHAPE_CLASSES = [
  'circle',
  'square',
  'triangle',
  'cross',
  'ring',
  'star',
  'horizontal-bars',
  'diagonal-line',
];

const f = (v) => v.toFixed(2);

function polygon(points) {
  return points.map(([x, y]) => `${f(x)},${f(y)}`).join(' ');
}

function regularPolygon(corners, radius) {
  return Array.from({ length: corners }, (_, k) => {
    const a = (2 * Math.PI * k) / corners - Math.PI / 2;
    return [radius * Math.cos(a), radius * Math.sin(a)];
  });
}

/** Paint attributes for a figure that is either filled or outlined with a random stroke. */
function fillOrOutline(rng, colour) {
  return rng.chance(0.5)
    ? `fill="${colour}"`
    : `fill="none" stroke="${colour}" stroke-width="${f(rng.uniform(1.5, 3.2))}" stroke-linejoin="miter"`;
}

/**
 * Each drawer returns the SVG elements of one shape centred on the origin plus its radius (half the
 * extent), so the caller can place it fully inside the frame.
 */
const DRAW = {
  circle: (rng, c) => {
    const r = rng.uniform(5, 12);
    return { r, body: `<circle r="${f(r)}" fill="${c}"/>` };
  },
  ring: (rng, c) => {
    const r = rng.uniform(6, 12.5);
    const w = rng.uniform(1.5, 3.5);
    return { r: r + w / 2, body: `<circle r="${f(r)}" fill="none" stroke="${c}" stroke-width="${f(w)}"/>` };
  },
  square: (rng, c) => {
    const h = rng.uniform(4.5, 9.5);
    return {
      r: h * Math.SQRT2,
      body: `<rect x="${f(-h)}" y="${f(-h)}" width="${f(2 * h)}" height="${f(2 * h)}" ${fillOrOutline(rng, c)}/>`,
    };
  },
  triangle: (rng, c) => {
    const r = rng.uniform(6.5, 13);
    return { r, body: `<polygon points="${polygon(regularPolygon(3, r))}" ${fillOrOutline(rng, c)}/>` };
  },
  cross: (rng, c) => {
    const r = rng.uniform(6, 13);
    const w = rng.uniform(2, 4.5);
    const bar = (x, y, bw, bh) => `<rect x="${f(x)}" y="${f(y)}" width="${f(bw)}" height="${f(bh)}"/>`;
    return { r, body: `<g fill="${c}">${bar(-r, -w / 2, 2 * r, w)}${bar(-w / 2, -r, w, 2 * r)}</g>` };
  },
  star: (rng, c) => {
    const outer = rng.uniform(7.5, 13.5);
    const inner = outer * rng.uniform(0.38, 0.5);
    const points = Array.from({ length: 10 }, (_, k) => {
      const a = (Math.PI * k) / 5 - Math.PI / 2;
      const radius = k % 2 === 0 ? outer : inner;
      return [radius * Math.cos(a), radius * Math.sin(a)];
    });
    return { r: outer, body: `<polygon points="${polygon(points)}" fill="${c}"/>` };
  },
  'horizontal-bars': (rng, c) => {
    const bars = 2 + rng.int(3);
    const thickness = rng.uniform(1.5, 3);
    const gap = rng.uniform(2, 4);
    const half = rng.uniform(6, 12);
    const height = bars * thickness + (bars - 1) * gap;
    const rects = Array.from(
      { length: bars },
      (_, k) =>
        `<rect x="${f(-half)}" y="${f(-height / 2 + k * (thickness + gap))}" width="${f(2 * half)}" height="${f(thickness)}"/>`,
    ).join('');
    return { r: Math.hypot(half, height / 2), body: `<g fill="${c}">${rects}</g>` };
  },
  'diagonal-line': (rng, c) => {
    const r = rng.uniform(8, 15);
    const w = rng.uniform(1.5, 4);
    const cap = rng.pick(['butt', 'round']);
    return {
      r: r * Math.SQRT1_2 + w,
      body: `<line x1="${f(-r)}" y1="0" x2="${f(r)}" y2="0" stroke="${c}" stroke-width="${f(w)}" stroke-linecap="${cap}"/>`,
    };
  },
};

/** Rotation in degrees: free for symmetric figures, near horizontal for bars, near ±45° for lines. */
function rotationFor(className, rng) {
  if (className === 'horizontal-bars') return rng.uniform(-12, 12);
  if (className === 'diagonal-line') return rng.pick([45, 135]) + rng.uniform(-15, 15);
  return rng.uniform(0, 360);
}

/** The SVG of image `index` of class `className` (deterministic in seed and index). */
export function shapeSvg(className, seed, index, size = IMAGE_SIZE) {
  const draw = DRAW[className];
  if (draw == null) throw new Error(`unknown shape class ${className}`);
  const rng = createRng(`shapes:${seed}:${className}:${index}`);
  const { fg, bg } = colourPair(rng);
  const { r, body } = draw(rng, fg);
  const margin = Math.min(r + 1, 16);
  const cx = rng.uniform(margin, 32 - margin);
  const cy = rng.uniform(margin, 32 - margin);
  const angle = rotationFor(className, rng);
  return {
    rng,
    svg:
      `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 32 32">` +
      `<rect width="32" height="32" fill="${bg}"/>` +
      `<g transform="translate(${f(cx)} ${f(cy)}) rotate(${f(angle)})">${body}</g></svg>`,
  };
}

/** RGB bytes of one shape image, with light noise. */
export async function renderShape(className, seed, index, size = IMAGE_SIZE) {
  const { rng, svg } = shapeSvg(className, seed, index, size);
  return addNoise(await rasterize(svg, size), rng, rng.uniform(2, 8));
}

/**
 * `count` images, classes balanced and interleaved (label = i mod 8), as one Uint8Array of
 * count×size×size×3 bytes plus an Int32Array of labels.
 */
export async function generateShapes(count, seed, size = IMAGE_SIZE) {
  const images = new Uint8Array(count * size * size * 3);
  const labels = new Int32Array(count);
  const batch = 32;
  for (let start = 0; start < count; start += batch) {
    const indices = Array.from({ length: Math.min(batch, count - start) }, (_, k) => start + k);
    const rendered = await Promise.all(
      indices.map((i) => renderShape(SHAPE_CLASSES[i % SHAPE_CLASSES.length], seed, i, size)),
    );
    indices.forEach((i, k) => {
      images.set(rendered[k], i * size * size * 3);
      labels[i] = i % SHAPE_CLASSES.length;
    });
  }
  return { images, labels, classes: SHAPE_CLASSES };
}

async function main() {
  const args = parseArgs(process.argv.slice(2), { out: '', perClass: 20, seed: 1 });
  if (!args.out)
    throw new Error('usage: node scripts/sample/shapes.mjs --out <dir> [--perClass N] [--seed S]');
  for (const className of SHAPE_CLASSES) {
    for (let i = 0; i < args.perClass; i++) {
      const pixels = await renderShape(className, args.seed, i);
      await writePng(
        pixels,
        IMAGE_SIZE,
        path.join(args.out, className, `${className}_${String(i).padStart(3, '0')}.png`),
      );
    }
  }
  console.log(`wrote ${SHAPE_CLASSES.length}×${args.perClass} shape images to ${args.out}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
