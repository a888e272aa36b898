/** Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned. */

export type Align = 'left' | 'right';

/** Numbers (1,234  0.5  -1e-3  12%), durations (5.0s  3m 05s  1h 02m), and the dash for "none". */
const NUMERIC = /^([+-]?\d[\d,]*(\.\d+)?(e[+-]?\d+)?%?|(\d+h )?(\d+m )?\d+(\.\d+)?[hms]|—)$/i;

/** A column is right-aligned when every cell in it looks like a number (or is a dash for "none"). */
function inferAlign(rows: readonly string[][], column: number): Align {
  const cells = rows.map((row) => row[column] ?? '');
  return cells.length > 0 && cells.every((cell) => NUMERIC.test(cell)) && cells.some((cell) => cell !== '—')
    ? 'right'
    : 'left';
}

/** Formats a header and rows as lines separated by two spaces per column; no trailing spaces. */
export function formatTable(
  columns: readonly string[],
  rows: readonly string[][],
  align?: readonly Align[],
): string {
  const widths = columns.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const aligns = columns.map((_, i) => align?.[i] ?? inferAlign(rows, i));
  const line = (cells: readonly string[]): string =>
    columns
      .map((_, i) => {
        const cell = cells[i] ?? '';
        return aligns[i] === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(columns), ...rows.map(line)].join('\n') + '\n';
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
