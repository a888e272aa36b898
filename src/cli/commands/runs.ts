/** `finetune runs`: every run in the runs folder, newest first, after recording dead trainers as crashed. */
import { formatDuration } from '../../core/portable/format';
import { summarizeRun, formatMetric } from '../../core/runs/compareRuns';
import { listRuns, markCrashedRuns } from '../../core/runs/readRuns';
import type { CliIO } from '../io';
import { runsDirOf } from '../inputPaths';
import { formatTable } from '../table';

/** The sweep id and trial number of a sweep's trial (what `finetune sweep status` takes), else dashes. */
function sweepCells(sweep: { id?: unknown; trial?: unknown } | undefined): string[] {
  if (!sweep || typeof sweep.id !== 'string') return ['—', '—'];
  return [sweep.id, typeof sweep.trial === 'number' ? String(sweep.trial) : '—'];
}

/** run.json is hand-editable: a name or backend that is not text shows as a dash, not a crash. */
const textCell = (value: unknown): string => (typeof value === 'string' && value !== '' ? value : '—');

export async function runsCommand(options: { runsDir?: string; json?: boolean }, io: CliIO): Promise<number> {
  const runsDir = runsDirOf(io.cwd, options.runsDir);
  const crashed = markCrashedRuns(runsDir);
  const runs = listRuns(runsDir);
  const now = Date.now();
  if (options.json) {
    const items = runs.map((run) => {
      const s = summarizeRun(run, now);
      return {
        id: run.id,
        dir: run.dir,
        name: s.name,
        status: s.status,
        ...(run.unreadable ? { unreadable: run.unreadable } : {}),
        epochsCompleted: s.epochsCompleted,
        epochsPlanned: run.record?.epochsPlanned,
        bestEpoch: s.best?.epoch,
        best: s.best,
        backend: s.backend,
        startedAt: run.record?.startedAt,
        endedAt: run.record?.endedAt,
        durationS: s.durationS,
        error: run.record?.error,
        ...(run.record?.sweep ? { sweep: run.record.sweep } : {}),
      };
    });
    io.out(JSON.stringify(items, null, 2) + '\n');
    return 0;
  }
  for (const id of crashed)
    io.err(`note: run ${id} was still marked running but its trainer is gone; now marked crashed\n`);
  if (runs.length === 0) {
    io.out(`No runs in ${runsDir}. Start one with \`finetune train <file.finetune.json>\`.\n`);
    return 0;
  }
  // The sweep columns only when some run is a sweep's trial: a plain runs folder keeps its narrow table.
  const sweeps = runs.some((run) => run.record?.sweep !== undefined);
  const rows = runs.map((run) => {
    const s = summarizeRun(run, now);
    if (run.unreadable)
      return [run.id, '—', 'unreadable', '—', '—', '—', '—', '—', '—', ...(sweeps ? ['—', '—'] : [])];
    const planned = run.record?.epochsPlanned;
    return [
      run.id,
      textCell(s.name),
      s.status,
      planned ? `${s.epochsCompleted}/${planned}` : String(s.epochsCompleted),
      s.best ? String(s.best.epoch) : '—',
      formatMetric(s.best?.val_accuracy),
      formatMetric(s.best?.val_loss),
      textCell(s.backend),
      formatDuration(s.durationS),
      ...(sweeps ? sweepCells(run.record?.sweep) : []),
    ];
  });
  io.out(
    formatTable(
      [
        'id',
        'name',
        'status',
        'epochs',
        'best epoch',
        'best val_acc',
        'best val_loss',
        'backend',
        'duration',
        ...(sweeps ? ['sweep', 'trial'] : []),
      ],
      rows,
      ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left', 'right', 'left', 'right'],
    ),
  );
  // Reasons go below the table: one long cell would stretch a column for every row.
  const unreadable = runs.filter((run) => run.unreadable);
  if (unreadable.length > 0)
    io.out('\n' + unreadable.map((run) => `${run.id}: ${run.unreadable}\n`).join(''));
  io.out(`\n${runs.length} run${runs.length === 1 ? '' : 's'} in ${runsDir}\n`);
  return 0;
}
