/**
 * CSV as Fine-Tune Studio writes it (RFC 4180): comma separated, CRLF line ends, fields with commas,
 * quotes or line breaks quoted. Numbers keep full precision; missing and non-finite values are empty
 * cells. Text that starts like a spreadsheet formula (=, +, -, @, tab, CR) is prefixed with an apostrophe,
 * so opening the file in a spreadsheet cannot run it: run names, notes and parameter values come from
 * files a cloned repository may contain. One escaper for every CSV we write (metrics export, the compare
 * panel's tables).
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows of fields as a CSV file's text, each line ended by CRLF. */
export function csvText(rows: readonly (readonly unknown[])[]): string {
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
