/** `finetune scan <dataset-dir>`: the classes of a dataset folder, their image counts, and what was skipped. */
import * as path from 'node:path';
import { type DatasetScan, scanDataset } from '../../core/data/scanDataset';
import type { CliIO } from '../io';
import { formatCount, formatTable } from '../table';

/** How many file names to print before summarising the rest as a count. */
const MAX_LISTED_FILES = 20;

function countsTable(scan: DatasetScan): string {
  const names = [...scan.classNames, ...scan.emptyClasses];
  const counts = (name: string) => scan.countsByClass[name] ?? { train: 0, val: 0, test: 0, total: 0 };
  const label = (name: string) => (scan.emptyClasses.includes(name) ? `${name} (empty, left out)` : name);
  const sum = (key: 'train' | 'val' | 'test' | 'total') =>
    names.reduce((n, name) => n + counts(name)[key], 0);
  if (scan.layout === 'split') {
    const hasTest = sum('test') > 0;
    const columns = ['class', 'train', 'val', ...(hasTest ? ['test'] : []), 'total'];
    const row = (label: string, c: { train: number; val: number; test: number; total: number }) => [
      label,
      formatCount(c.train),
      formatCount(c.val),
      ...(hasTest ? [formatCount(c.test)] : []),
      formatCount(c.total),
    ];
    const rows = names.map((name) => row(label(name), counts(name)));
    rows.push(row('(all)', { train: sum('train'), val: sum('val'), test: sum('test'), total: sum('total') }));
    return formatTable(columns, rows);
  }
  const rows = names.map((name) => [label(name), formatCount(counts(name).total)]);
  rows.push(['(all)', formatCount(sum('total'))]);
  return formatTable(['class', 'images'], rows);
}

function listFiles(title: string, files: readonly string[]): string {
  if (files.length === 0) return '';
  const shown = files.slice(0, MAX_LISTED_FILES).map((f) => `  ${f}\n`);
  const more = files.length > MAX_LISTED_FILES ? `  … and ${files.length - MAX_LISTED_FILES} more\n` : '';
  return `\n${title} (${files.length}):\n${shown.join('')}${more}`;
}

export async function scanCommand(dir: string, options: { json?: boolean }, io: CliIO): Promise<number> {
  const scan = await scanDataset(path.resolve(io.cwd, dir));
  if (options.json) {
    io.out(JSON.stringify(scan, null, 2) + '\n');
    return 0;
  }
  const layout =
    scan.layout === 'split'
      ? 'split layout: the train/ and val/ folders are used as given'
      : 'one folder per class';
  io.out(
    `${scan.root}\n${scan.classNames.length} classes, ${formatCount(scan.images.length)} images (${layout})\n\n`,
  );
  io.out(countsTable(scan));
  io.out(listFiles('ignored files (not images)', scan.ignoredFiles));
  if (scan.warnings.length > 0) io.out('\n' + scan.warnings.map((w) => `warning: ${w}\n`).join(''));
  return 0;
}
