/**
 * Where an image goes when its label is fixed: into the class folder of another class, keeping the
 * split folder in the split layout (`train/cat/x.png` → `train/dog/x.png`) and its file name — with
 * `-2`, `-3`… added when that name is taken, so a move never overwrites another image. Pure (the caller
 * says which names are taken); paths are relative to the dataset folder with '/' separators.
 */

/** A class name that is safe to use as one folder name (it came from a folder, but a message is input). */
export function isFolderName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\0]/.test(name) &&
    !name.startsWith('.')
  );
}

/**
 * A relative path inside the dataset folder: no absolute path, no empty, `.` or `..` segment, no
 * backslash or NUL (the scan writes '/' separators).
 */
export function isInsidePath(file: string): boolean {
  if (file.length === 0 || file.length > 4096 || /[\\\0]/.test(file) || file.startsWith('/')) return false;
  return file.split('/').every((part) => part.length > 0 && part !== '.' && part !== '..');
}

const SPLITS = new Set(['train', 'val', 'test']);

/** The class folder part of `file`: its first segment, or the split and the class in the split layout. */
export function classFolderOf(file: string, layout: 'flat' | 'split'): { prefix: string; className: string } {
  const parts = file.split('/');
  if (layout === 'split' && parts.length >= 3 && SPLITS.has(parts[0])) {
    return { prefix: `${parts[0]}/`, className: parts[1] };
  }
  return { prefix: '', className: parts[0] };
}

/** `x.png`, `x-2.png`, `x-3.png`, … (a dotfile or a name without extension gets the suffix at the end). */
export function candidateName(name: string, n: number): string {
  if (n <= 1) return name;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-${n}${name.slice(dot)}` : `${name}-${n}`;
}

export const MAX_NAME_TRIES = 1000;

/**
 * The path `file` gets in class `toClass`: `<split/>toClass/<its name>`, the first of the candidate names
 * that `taken` says is free. Undefined when the image already is in that class or no name is free.
 */
export async function moveTarget(
  file: string,
  toClass: string,
  layout: 'flat' | 'split',
  taken: (candidate: string) => boolean | Promise<boolean>,
): Promise<string | undefined> {
  if (!isInsidePath(file) || !isFolderName(toClass)) return undefined;
  const { prefix, className } = classFolderOf(file, layout);
  if (className === toClass) return undefined;
  const name = file.slice(file.lastIndexOf('/') + 1);
  for (let n = 1; n <= MAX_NAME_TRIES; n++) {
    const candidate = `${prefix}${toClass}/${candidateName(name, n)}`;
    if (!(await taken(candidate))) return candidate;
  }
  return undefined;
}
