/**
 * What the two sample generators (shapes.mjs, digits.mjs) share: a seeded random source, colour pairs
 * with enough contrast, SVG → RGB pixels through sharp (shapes only, no fonts: every glyph is geometry),
 * light pixel noise, and PNG output. Everything random flows from one seed so the images are reproducible.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';

// One sharp pipeline per image is cheap but libvips' own thread pool only slows 32×32 work down.
sharp.concurrency(1);

export function createRng(seed) {
  const prng = seedrandom.alea(String(seed));
  const next = () => prng.quick();
  const rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
    /** Standard normal (Box–Muller). */
    normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
  };
  return rng;
}

function hslToRgb(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

const luminance = ([r, g, b]) => (0.299 * r + 0.587 * g + 0.114 * b) / 255;
const hex = (rgb) => `#${rgb.map((c) => c.toString(16).padStart(2, '0')).join('')}`;

/**
 * A foreground and a background colour whose luminance differs by at least `minContrast`, so the figure
 * is always visible; hue and saturation are free, and either may be the lighter one.
 */
export function colourPair(rng, minContrast = 0.3) {
  for (;;) {
    const bg = hslToRgb(rng.uniform(0, 360), rng.uniform(0, 0.8), rng.uniform(0.05, 0.95));
    const fg = hslToRgb(rng.uniform(0, 360), rng.uniform(0, 1), rng.uniform(0.05, 0.95));
    if (Math.abs(luminance(fg) - luminance(bg)) >= minContrast) return { fg: hex(fg), bg: hex(bg) };
  }
}

/** Renders an SVG document to `size`×`size` RGB bytes (row-major, 3 bytes a pixel). */
export async function rasterize(svg, size) {
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(size, size, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new Error(
      `rasterize: expected ${size}×${size}×3, got ${info.width}×${info.height}×${info.channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Adds Gaussian noise of standard deviation `sigma` (in 0..255 units) in place, clamped to 0..255. */
export function addNoise(pixels, rng, sigma) {
  for (let i = 0; i < pixels.length; i++) {
    pixels[i] = Math.max(0, Math.min(255, Math.round(pixels[i] + sigma * rng.normal())));
  }
  return pixels;
}

/**
 * 64-colour palette PNGs: about 650 bytes per noisy 32×32 image instead of 1.9 KB as 24-bit RGB, which
 * keeps the committed dataset small. The quantisation error is itself noise-like (RMS ≈ 3.5 of 255), so
 * the light noise survives it.
 */
const PNG_OPTIONS = { palette: true, colours: 64, dither: 0, compressionLevel: 9 };

export async function writePng(pixels, size, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 3 } })
    .png(PNG_OPTIONS)
    .toFile(file);
}

/** `--name value` pairs from argv, with defaults; numbers stay numbers. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in defaults) || i + 1 >= argv.length) {
      throw new Error(
        `unknown or incomplete option ${argv[i]}; options: ${Object.keys(defaults).join(', ')}`,
      );
    }
    out[key] = typeof defaults[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return out;
}
