/**
 * Drawing a Grad-CAM map over its image, without TensorFlow.js: bilinear upsampling of the coarse map
 * (e.g. 4 × 4 or 7 × 7) to the picture's size, a colour map, and alpha blending into RGB pixels. Also
 * the share of the heat in each quadrant, which the tests (and a caption) read.
 */

/** Bilinear resize of a `h × w` map to `height × width`, sampling at pixel centres (edges clamp). */
export function upsample(
  map: ArrayLike<number>,
  h: number,
  w: number,
  height: number,
  width: number,
): Float32Array {
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / height - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / width - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
      const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * A colour for a heat value in [0, 1]: dark blue → cyan → yellow → red (a "jet"-like map with softened
 * ends, readable on light and dark themes).
 */
export function heatColour(value: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, Number.isFinite(value) ? value : 0));
  const stops: [number, [number, number, number]][] = [
    [0, [30, 30, 160]],
    [0.35, [0, 190, 230]],
    [0.65, [250, 230, 40]],
    [1, [220, 20, 20]],
  ];
  for (let i = 1; i < stops.length; i++) {
    const [p1, c1] = stops[i];
    const [p0, c0] = stops[i - 1];
    if (v <= p1) {
      const t = (v - p0) / (p1 - p0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + (c1[k] - c0[k]) * t)) as [number, number, number];
    }
  }
  return stops[stops.length - 1][1];
}

/**
 * Blends the heat (one value in [0, 1] per pixel) over RGB pixels; hotter pixels get more colour, so
 * cold regions keep the image visible. Returns new RGB bytes.
 */
export function blendHeat(
  rgb: Uint8Array | Uint8ClampedArray,
  heat: ArrayLike<number>,
  maxAlpha = 0.6,
): Uint8Array {
  if (rgb.length !== heat.length * 3) {
    throw new Error(
      `Expected ${heat.length * 3} RGB bytes for ${heat.length} heat values, got ${rgb.length}.`,
    );
  }
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < heat.length; i++) {
    const v = Math.min(1, Math.max(0, Number.isFinite(heat[i]) ? heat[i] : 0));
    const alpha = maxAlpha * (0.25 + 0.75 * v);
    const colour = heatColour(v);
    for (let k = 0; k < 3; k++) {
      out[i * 3 + k] = Math.round(rgb[i * 3 + k] * (1 - alpha) + colour[k] * alpha);
    }
  }
  return out;
}

/** Share of the total heat in each quadrant: [top-left, top-right, bottom-left, bottom-right]. */
export function quadrantShares(
  map: ArrayLike<number>,
  h: number,
  w: number,
): [number, number, number, number] {
  const sums: [number, number, number, number] = [0, 0, 0, 0];
  let total = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.max(0, map[y * w + x]);
      // A middle row or column (odd sizes) is shared half and half.
      const rowParts = y * 2 + 1 === h ? [0.5, 0.5] : y * 2 < h ? [1, 0] : [0, 1];
      const colParts = x * 2 + 1 === w ? [0.5, 0.5] : x * 2 < w ? [1, 0] : [0, 1];
      sums[0] += v * rowParts[0] * colParts[0];
      sums[1] += v * rowParts[0] * colParts[1];
      sums[2] += v * rowParts[1] * colParts[0];
      sums[3] += v * rowParts[1] * colParts[1];
      total += v;
    }
  }
  return total > 0 ? (sums.map((s) => s / total) as [number, number, number, number]) : [0, 0, 0, 0];
}
