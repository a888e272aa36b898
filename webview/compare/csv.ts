/**
 * CSV exports of the compare panel, written by the one escaper of src/core/portable/csv.ts (RFC 4180,
 * full-precision numbers rather than the displayed ones, text that starts like a spreadsheet formula
 * prefixed with an apostrophe).
 */
import { csvText } from '../../src/core/portable/csv';
import type { ComparePanelState } from '../../src/protocol/webviewMessages';
import { cellValue, TABLE_COLUMNS, wallTimes, type CellValue } from './model';

/**
 * The runs table as shown: rows in the shown order, the shown parameter columns; plus the run id, folder
 * and note, which the table only shows on hover.
 */
export function tableCsv(
  data: ComparePanelState,
  order: readonly number[],
  parameterKeys: readonly string[],
): string {
  const fixed = TABLE_COLUMNS.filter((c) => c.id !== 'epochs');
  const header: CellValue[] = [
    'run_id',
    ...fixed.map((c) => (c.id === 'name' ? 'name' : c.id)),
    'epochs_completed',
    'epochs_planned',
    'note',
    'folder',
    ...parameterKeys,
  ];
  const rows = order.map((i) => {
    const run = data.runs[i];
    return [
      run.runId,
      ...fixed.map((c) => c.value(run)),
      run.epochsCompleted,
      run.epochsPlanned,
      run.note,
      run.dir,
      ...parameterKeys.map((key) => cellValue(data, i, `param:${key}`)),
    ];
  });
  return csvText([header, ...rows]);
}

/** Every epoch of every run (long format: one line per run and epoch), raw values, hidden runs included. */
export function seriesCsv(data: ComparePanelState): string {
  const header: CellValue[] = [
    'run_id',
    'name',
    'epoch',
    'wall_time_s',
    'time_s',
    'loss',
    'accuracy',
    'val_loss',
    'val_accuracy',
    'gap',
    'lr',
  ];
  const rows: CellValue[][] = [header];
  for (const run of data.runs) {
    const s = run.series;
    const wall = wallTimes(s);
    s.epoch.forEach((epoch, i) =>
      rows.push([
        run.runId,
        run.name,
        epoch,
        wall[i],
        s.time_s[i],
        s.loss[i],
        s.accuracy[i],
        s.val_loss[i],
        s.val_accuracy[i],
        s.gap[i],
        s.lr[i],
      ]),
    );
  }
  return csvText(rows);
}
