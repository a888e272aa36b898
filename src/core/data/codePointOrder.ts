/**
 * Plain Unicode code-point order for names and paths, so that class order is the same on every machine
 * and matches Python's `sorted(os.listdir(...))` (what Keras' image_dataset_from_directory uses).
 * JavaScript's default sort compares UTF-16 code units instead, which orders characters above U+FFFF
 * before U+E000–U+FFFF; `localeCompare` depends on the user's locale. Neither may decide which output
 * neuron means which class.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

/** A sorted copy; Array.prototype.sort is stable, so equal keys keep their input order. */
export function sortedByCodePoint<T>(items: readonly T[], key: (item: T) => string): T[] {
  return items.slice().sort((a, b) => compareCodePoints(key(a), key(b)));
}
