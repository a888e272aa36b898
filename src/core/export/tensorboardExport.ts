/**
 * A run's metrics as TensorBoard event files, so `tensorboard --logdir .finetune/runs` shows every run.
 *
 * Layout follows Keras' TensorBoard callback, which TensorBoard users know: `<run>/tensorboard/train/`
 * and `<run>/tensorboard/validation/` each hold one `events.out.tfevents.<seconds>.<host>` file with the
 * same tags (`epoch_loss`, `epoch_accuracy`), so TensorBoard overlays train and validation in one chart
 * per metric. Steps are epochs; wall times are the run's start plus the epochs' durations, so the
 * "relative" axis shows real training time.
 *
 * Exporting again replaces the files (new file first, then the old ones removed): TensorBoard never sees a
 * run's points twice.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EpochMetrics, RunRecord } from '../../protocol/runRecord';
import { writeFileAtomic } from '../atomicFile';
import { readRun } from '../runs/readRuns';
import { UserError } from '../userError';
import { decodeEvent, encodeEvent, type ScalarValue, type TfEvent } from './eventProto';
import { decodeTfRecords, encodeTfRecord } from './tfRecord';

export const TENSORBOARD_DIR = 'tensorboard';
/** The version string TensorFlow writes as the first record of every event file. */
export const EVENT_FILE_VERSION = 'brain.Event:2';
const EVENT_FILE_PREFIX = 'events.out.tfevents.';

/** `events.out.tfevents.<unix seconds>.<host>`, the name TensorBoard looks for. */
export function eventFileName(wallTimeS: number, host: string = os.hostname()): string {
  // The host is part of the name; path separators in it would make a folder.
  return `${EVENT_FILE_PREFIX}${Math.floor(wallTimeS)}.${host.replace(/[/\\]/g, '_')}`;
}

/** One event file's bytes: the file_version record, then one record per event. */
export function encodeEventFile(events: readonly TfEvent[], createdAtS: number): Buffer {
  const records = [
    encodeTfRecord(encodeEvent({ wallTime: createdAtS, step: 0, fileVersion: EVENT_FILE_VERSION })),
  ];
  for (const event of events) records.push(encodeTfRecord(encodeEvent(event)));
  return Buffer.concat(records);
}

/** Reads an event file back: every record CRC-checked and decoded. */
export function readEventFile(file: string): TfEvent[] {
  return decodeTfRecords(fs.readFileSync(file)).map(decodeEvent);
}

function finite(value: number | undefined | null): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Scalars per epoch for the train and validation event files (Keras' tag names). */
export function runScalarEvents(
  metrics: readonly EpochMetrics[],
  startedAtS: number,
): { train: TfEvent[]; validation: TfEvent[] } {
  const train: TfEvent[] = [];
  const validation: TfEvent[] = [];
  let elapsed = 0;
  for (const m of metrics) {
    elapsed += finite(m.time_s) ? m.time_s : 0;
    const wallTime = startedAtS + elapsed;
    const pick = (pairs: [string, number | undefined][]): ScalarValue[] =>
      pairs.filter((p): p is [string, number] => finite(p[1])).map(([tag, value]) => ({ tag, value }));
    const trainScalars = pick([
      ['epoch_loss', m.loss],
      ['epoch_accuracy', m.accuracy],
      ['epoch_learning_rate', m.lr],
      ['epoch_learning_rate_pretrained', m.lr_base],
      ['epoch_reg_loss', m.reg_loss],
      ['epoch_time_s', m.time_s],
    ]);
    const validationScalars = pick([
      ['epoch_loss', m.val_loss],
      ['epoch_accuracy', m.val_accuracy],
      ['epoch_generalization_gap', m.gap],
    ]);
    if (trainScalars.length > 0) train.push({ wallTime, step: m.epoch, scalars: trainScalars });
    if (validationScalars.length > 0)
      validation.push({ wallTime, step: m.epoch, scalars: validationScalars });
  }
  return { train, validation };
}

/**
 * `dir` as a real folder: created when missing, refused when it is a symbolic link — a cloned run folder
 * may hold `tensorboard -> ~`, and the export must neither write there nor delete event files there.
 */
function realFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  if (fs.lstatSync(dir).isSymbolicLink())
    throw new UserError(
      `${dir} is a symbolic link: the TensorBoard export does not follow it. Remove it.`,
      dir,
    );
}

/** Writes one event file into `dir` and removes the event files an earlier export left there. */
function replaceEventFile(dir: string, events: readonly TfEvent[], nowS: number): string {
  realFolder(path.dirname(dir));
  realFolder(dir);
  const file = path.join(dir, eventFileName(nowS));
  writeFileAtomic(file, encodeEventFile(events, nowS));
  // Only regular files of earlier exports: a link or folder named like one is not ours to remove.
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.startsWith(EVENT_FILE_PREFIX) && entry.name !== path.basename(file))
      fs.rmSync(path.join(dir, entry.name), { force: true });
  }
  return file;
}

function runMetrics(runDir: string): { record?: RunRecord; metrics: EpochMetrics[]; id: string } {
  const run = readRun(runDir);
  if (!fs.existsSync(run.dir)) throw new UserError(`Run folder not found: ${run.dir}.`, run.dir);
  if (run.metrics.length === 0) {
    throw new UserError(
      `Run ${run.id} has no finished epochs yet (metrics.jsonl is missing or empty): nothing to export.`,
      run.dir,
    );
  }
  return { record: run.record, metrics: run.metrics, id: run.id };
}

export interface TensorBoardExport {
  /** The folder to pass to `tensorboard --logdir` for this run alone. */
  dir: string;
  files: string[];
  epochs: number;
}

/** Writes `<outDir>/train/` and `<outDir>/validation/` event files for the run in `runDir`. */
export function exportTensorBoard(
  runDir: string,
  outDir: string = path.join(runDir, TENSORBOARD_DIR),
  now: Date = new Date(),
): TensorBoardExport {
  const { record, metrics } = runMetrics(runDir);
  const started = record ? Date.parse(record.startedAt) : NaN;
  const nowS = now.getTime() / 1000;
  const { train, validation } = runScalarEvents(metrics, Number.isFinite(started) ? started / 1000 : nowS);
  const files = [
    replaceEventFile(path.join(outDir, 'train'), train, nowS),
    replaceEventFile(path.join(outDir, 'validation'), validation, nowS),
  ];
  return { dir: outDir, files, epochs: metrics.length };
}
