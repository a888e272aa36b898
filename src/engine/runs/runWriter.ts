/**
 * The write side of a run folder (`<runsDir>/<runId>/`), the source of truth every view reads:
 * run.json replaced atomically on every status change, metrics.jsonl appended and fsynced per epoch
 * (a crash can at worst leave the last line torn, which readers skip), the best model saved atomically.
 * One writer at a time: a run is created holding its lock (core/runs/runLock.ts) and Resume takes it.
 *
 * The order of the writes of an epoch, and why a kill at any point leaves a consistent folder:
 *   1. a new best epoch: model/ (weights file, then model.json renamed over), then run.json's bestEpoch —
 *      run.json never names a best epoch whose model is not on disk;
 *   2. metrics.jsonl's line (fsynced), then run.json's epochsCompleted — never more epochs claimed than written;
 *   3. the checkpoint (tensors file, then state.json renamed over).
 * A kill during 3 leaves the checkpoint one epoch behind model/ and run.json (which agree with each other).
 * Resume continues from the checkpoint, so reopen() first puts the checkpoint's best epoch back into
 * model/ (its weights are in the checkpoint), then writes run.json with that best epoch: run.json,
 * model/ and — at the end — summary.json describe the same epoch even when the resumed run stops before
 * it trains the lost epoch again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import type { EpochMetrics, RunRecord, RunSummary } from '../../protocol/runRecord';
import { diskProblem, fsyncDir, writeFileAtomic } from '../../core/atomicFile';
import { acquireRunLock, releaseRunLock, writeRunLock } from '../../core/runs/runLock';
import { atomicDirSaveHandler, rewriteModelWeights } from '../model/fileModelIO';
import type { FitCheckpoint } from '../training/checkpoint';
import { CheckpointFiles } from '../training/checkpointFiles';
import { UserError } from '../../core/userError';
import { removeLeftovers } from './leftovers';
import { READ_LIMITS, readTextFileSync } from '../../core/files/regularFile';

/**
 * metrics.jsonl is appended to through no link: O_APPEND (read-write, to look at its last byte), and
 * O_NOFOLLOW where the platform has it.
 */
const APPEND_FLAGS =
  fs.constants.O_RDWR | fs.constants.O_APPEND | ((fs.constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0);

/** `20261128-143005-digits-frozen-conv`: sorts by start time, readable, safe as a folder name. */
export function makeRunId(
  name: string,
  now = new Date(),
  taken: (id: string) => boolean = () => false,
): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'run';
  let id = `${stamp}-${slug}`;
  for (let i = 2; taken(id); i++) id = `${stamp}-${slug}-${i}`;
  return id;
}

export class RunWriter {
  readonly dir: string;
  private record: RunRecord;
  /** Remembers what its last checkpoint wrote, so the next one names the unchanged tensors instead. */
  private readonly checkpoints: CheckpointFiles;

  private constructor(dir: string, record: RunRecord) {
    this.dir = dir;
    this.record = record;
    this.checkpoints = new CheckpointFiles(dir);
  }

  /**
   * Creates the run folder with a unique id, run.json (status running) and an empty metrics.jsonl. The
   * folder is assembled under a hidden name and renamed into place, so no reader — and no trainer killed
   * halfway — ever sees a run folder without its run.json.
   */
  static create(runsDir: string, record: Omit<RunRecord, 'id'>): RunWriter {
    fs.mkdirSync(runsDir, { recursive: true });
    // Staged pieces of writes that killed trainers interrupted (never part of a run) go first.
    removeLeftovers(runsDir);
    for (;;) {
      const id = makeRunId(record.name, new Date(record.startedAt), (candidate) =>
        fs.existsSync(path.join(runsDir, candidate)),
      );
      const full: RunRecord = { id, ...record };
      const staging = fs.mkdtempSync(path.join(runsDir, `.${id}.creating-`));
      try {
        writeRunLock(staging);
        writeFileAtomic(path.join(staging, 'run.json'), JSON.stringify(full, null, 2));
        fs.writeFileSync(path.join(staging, 'metrics.jsonl'), '');
        fsyncDir(staging);
        const dir = path.join(runsDir, id);
        fs.renameSync(staging, dir);
        fsyncDir(runsDir);
        return new RunWriter(dir, full);
      } catch (error) {
        fs.rmSync(staging, { recursive: true, force: true });
        const code = (error as NodeJS.ErrnoException).code;
        // Another trainer took the same id in the same second: draw the next one.
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
    }
  }

  /**
   * Takes over an existing run folder to resume it from `checkpoint`, holding its lock (a UserError when
   * another trainer holds it): model/ gets the checkpoint's best epoch back (see the file comment), then
   * run.json gets `record` (status running, this process, the checkpoint's best epoch), and metrics.jsonl
   * is rewritten to hold exactly the epochs the checkpoint has — a line written after the checkpoint
   * belongs to an epoch that will be trained again.
   */
  static reopen(
    dir: string,
    record: RunRecord,
    checkpoint: Pick<FitCheckpoint, 'history' | 'best' | 'bestWeights'>,
  ): RunWriter {
    acquireRunLock(dir, record.id);
    const writer = new RunWriter(dir, record);
    try {
      const modelDir = path.join(dir, 'model');
      if (checkpoint.best && checkpoint.bestWeights && fs.existsSync(path.join(modelDir, 'model.json'))) {
        // Until model/ is back at the checkpoint's best epoch, run.json names no best epoch at all.
        const { bestEpoch: _epoch, best: _best, ...unsure } = record;
        writer.record = unsure;
        writer.flushRecord();
        if (!rewriteModelWeights(modelDir, checkpoint.bestWeights)) {
          throw new UserError(
            `Run ${record.id}'s checkpoint does not fit its saved model (${modelDir}): start a new run instead.`,
            modelDir,
          );
        }
        writer.record = record;
      }
      writer.flushRecord();
      writeFileAtomic(
        path.join(dir, 'metrics.jsonl'),
        checkpoint.history.map((m) => `${JSON.stringify(m)}\n`).join(''),
      );
    } catch (error) {
      releaseRunLock(dir);
      throw error;
    }
    return writer;
  }

  get id(): string {
    return this.record.id;
  }

  get current(): Readonly<RunRecord> {
    return this.record;
  }

  update(changes: Partial<RunRecord>): void {
    this.record = { ...this.record, ...changes };
    this.flushRecord();
    // The run has ended (completed, stopped, failed): another trainer may resume it now.
    if (this.record.status !== 'running') releaseRunLock(this.dir);
  }

  warn(message: string): void {
    this.update({ warnings: [...this.record.warnings, message] });
  }

  /**
   * One line per epoch, fsynced. A line an earlier write left without its newline (a failed, short write)
   * is ended first, so this epoch's line never joins it: readers skip the torn line, not this one.
   */
  appendMetrics(metrics: EpochMetrics): void {
    const fd = fs.openSync(path.join(this.dir, 'metrics.jsonl'), APPEND_FLAGS);
    try {
      const { size } = fs.fstatSync(fd);
      let torn = false;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        torn = last[0] !== 0x0a;
      }
      // writeFileSync on a descriptor writes every byte (it retries short writes).
      fs.writeFileSync(fd, `${torn ? '\n' : ''}${JSON.stringify(metrics)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Saves `model` with labels.json into `model/` (or another sub-folder) atomically. When the disk cannot
   * take it (full, quota, read-only), the model saved before stays as it was and the error says so.
   */
  async saveModel(model: tfl.LayersModel, classNames: string[], folder = 'model'): Promise<void> {
    const dir = path.join(this.dir, folder);
    try {
      fs.mkdirSync(dir, { recursive: true });
      writeLabels(path.join(dir, 'labels.json'), JSON.stringify(classNames));
      await model.save(atomicDirSaveHandler(dir));
    } catch (error) {
      const problem = diskProblem(error);
      if (!problem) throw error;
      const kept = fs.existsSync(path.join(dir, 'model.json'))
        ? `the model saved before (epoch ${this.record.bestEpoch ?? '?'}) is kept as it was`
        : 'no model had been saved yet';
      throw new UserError(
        `Cannot save the model to ${dir}: ${problem} (${(error as NodeJS.ErrnoException).code}); ${kept}. ` +
          `Free some space (or fix the permissions), then resume the run.`,
        dir,
      );
    }
  }

  /** Saves the epoch checkpoint Resume continues from (atomically; a full disk keeps the previous one). */
  saveCheckpoint(checkpoint: FitCheckpoint): void {
    try {
      this.checkpoints.write(checkpoint);
    } catch (error) {
      const problem = diskProblem(error);
      if (!problem) throw error;
      throw new UserError(
        `Cannot save the checkpoint of epoch ${checkpoint.epoch} in ${this.dir}: ${problem} ` +
          `(${(error as NodeJS.ErrnoException).code}); the previous checkpoint is kept. Free some space, then resume the run.`,
        this.dir,
      );
    }
  }

  writeSummary(summary: RunSummary): void {
    writeFileAtomic(path.join(this.dir, 'summary.json'), JSON.stringify(summary, null, 2));
  }

  private flushRecord(): void {
    writeFileAtomic(path.join(this.dir, 'run.json'), JSON.stringify(this.record, null, 2));
  }
}

/**
 * labels.json, written only when it does not already hold `json`: the class names never change during
 * a run, yet the best model is saved at every new best epoch, and each durable write is two fsyncs and a
 * rename on the training thread.
 */
function writeLabels(file: string, json: string): void {
  let current: string | undefined;
  try {
    current = readTextFileSync(file, { maxBytes: READ_LIMITS.modelJson, noFollow: true });
  } catch {
    current = undefined; // missing (the first save) or unreadable: written anew
  }
  if (current !== json) writeFileAtomic(file, json);
}
