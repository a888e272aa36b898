/**
 * Which images the embedding map draws. Up to `maxPoints` every image; above it the flagged ones (label
 * issues, misclassified, duplicates — what the user came to look at) are always kept and the rest is a
 * seeded random sample, spread over the classes in proportion, so the map still shows every class's cloud.
 */
import { createRng, shuffled } from '../rng';

export const DEFAULT_MAX_POINTS = 2000;

/** Indices of the images to draw, ascending. */
export function sampleForMap(
  labels: ArrayLike<number>,
  flagged: ReadonlySet<number>,
  maxPoints = DEFAULT_MAX_POINTS,
  seed: number | string = 1,
): number[] {
  const n = labels.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const kept = [...flagged].filter((i) => i >= 0 && i < n).sort((a, b) => a - b);
  const room = Math.max(0, maxPoints - kept.length);
  if (room === 0) return kept.slice(0, maxPoints);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (flagged.has(i)) continue;
    const list = byClass.get(labels[i]) ?? [];
    list.push(i);
    byClass.set(labels[i], list);
  }
  const rest = n - kept.length;
  const chosen = [...kept];
  const rng = createRng(`map:${seed}`);
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  let left = room;
  classes.forEach((label, c) => {
    const members = byClass.get(label)!;
    // Proportional share, the rounding remainder to the last class; at least one per class with room.
    const share =
      c === classes.length - 1
        ? left
        : Math.min(left, Math.max(1, Math.round((members.length / rest) * room)));
    chosen.push(...shuffled(members, rng).slice(0, share));
    left -= Math.min(share, members.length);
  });
  return chosen.sort((a, b) => a - b).slice(0, maxPoints);
}
