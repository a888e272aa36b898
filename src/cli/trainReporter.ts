/**
 * How `finetune train` shows a run. Three forms of the same TrainingEvents:
 * - json: every event as one JSON line on stdout, nothing else there (for scripts and other tools);
 * - text: one line per epoch plus log lines (stdout is a pipe or a file: no cursor tricks);
 * - text with a progress bar per epoch (stdout is a terminal).
 */
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { RunOutcome } from '../engine/runExperiment';
import { formatDuration } from '../core/portable/format';
import { formatMetric } from '../core/runs/compareRuns';
import { adapterLabel } from '../protocol/gpuAdapter';
import type { EpochMetrics } from '../protocol/runRecord';
import type { AfterFitEvent, BeforeFitEvent, LogEvent, TrainingEvent } from '../protocol/trainingEvents';
import type { CliIO } from './io';
import { formatCount } from './table';

export interface TrainReporter {
  event(event: TrainingEvent): void;
  /** Something the CLI itself says (e.g. "stopping after the current batch"); never on stdout under --json. */
  notice(message: string): void;
  /** Prints the outcome of the run. */
  finish(outcome: RunOutcome): void;
  /** Releases the terminal (progress bar); safe to call more than once. */
  close(): void;
}

export function createTrainReporter(io: CliIO, json: boolean): TrainReporter {
  return json ? new JsonReporter(io) : new TextReporter(io);
}

class JsonReporter implements TrainReporter {
  constructor(private readonly io: CliIO) {}

  event(event: TrainingEvent): void {
    this.io.out(JSON.stringify(event) + '\n');
  }

  notice(message: string): void {
    this.io.err(message + '\n');
  }

  finish(outcome: RunOutcome): void {
    // The outcome is already on stdout as the afterFit event; stderr gets the reason a run failed.
    if (outcome.status === 'failed')
      this.io.err(`error: run ${outcome.runId} failed: ${outcome.error ?? 'unknown error'}\n`);
  }

  close(): void {}
}

const LOG_PREFIX: Record<LogEvent['level'], string> = { info: 'info', warn: 'warning', error: 'error' };

function formatLr(lr: number | undefined): string {
  return typeof lr === 'number' && Number.isFinite(lr) ? String(Number(lr.toPrecision(3))) : '—';
}

/** `loss 0.4123  acc 0.8750  val_loss 0.5012  val_acc 0.8200` for whatever metrics are present. */
export function formatEpochMetrics(m: Partial<EpochMetrics>): string {
  return [
    `loss ${formatMetric(m.loss)}`,
    `acc ${formatMetric(m.accuracy)}`,
    `val_loss ${formatMetric(m.val_loss)}`,
    `val_acc ${formatMetric(m.val_accuracy)}`,
  ].join('  ');
}

class TextReporter implements TrainReporter {
  private fit?: BeforeFitEvent;
  private done?: AfterFitEvent;
  private bar?: SingleBar;
  private barState?: { total: number; value: number; payload: Record<string, string>; startedAt: number };
  private overfitting = false;

  constructor(private readonly io: CliIO) {}

  event(event: TrainingEvent): void {
    switch (event.type) {
      case 'log':
        this.line(`${LOG_PREFIX[event.level]}: ${event.message}`);
        return;
      case 'beforeFit':
        this.fit = event;
        this.line(
          `run ${event.runId}: ${event.classNames.length} classes, ${formatCount(event.trainCount)} train / ` +
            `${formatCount(event.valCount)} validation images, ${event.batchesPerEpoch} batches per epoch, backend ${event.backend}`,
        );
        if (event.adapter) this.line(`GPU adapter: ${adapterLabel(event.adapter)}`);
        this.line(
          `params: ${formatCount(event.trainableParams)} trainable, ${formatCount(event.frozenParams)} frozen`,
        );
        return;
      case 'beforeEpoch':
        this.startBar(event.epoch);
        return;
      case 'afterBatch':
        this.updateBar(event.batch, event.batches, event.loss, event.accuracy);
        return;
      case 'afterEpoch': {
        this.stopBar();
        const m = event.metrics;
        const best = event.isBest ? '  ★ best' : '';
        const time = typeof m.time_s === 'number' ? formatDuration(m.time_s) : '—';
        this.line(
          `${this.epochLabel(m.epoch)}  ${formatEpochMetrics(m)}  lr ${formatLr(m.lr)}  ${time}${best}`,
        );
        if (m.overfitting && !this.overfitting) {
          const why = event.overfittingReason ?? 'val_loss is rising while loss falls';
          this.line(
            `warning: overfitting — ${why}. More data, augmentation, dropout or L2, or fewer trainable layers help.`,
          );
        }
        this.overfitting = m.overfitting === true;
        return;
      }
      case 'afterFit':
        this.stopBar();
        this.done = event;
        return;
    }
  }

  notice(message: string): void {
    this.withBarHidden(() => this.io.err(message + '\n'));
  }

  finish(outcome: RunOutcome): void {
    this.close();
    const done = this.done;
    const reason = done?.endReason ? ` (${done.endReason})` : '';
    const epochs = done ? `, ${done.epochsCompleted} epoch${done.epochsCompleted === 1 ? '' : 's'}` : '';
    this.io.out(`\nrun ${outcome.runId} ${outcome.status}${epochs}${reason}\n`);
    this.io.out(`folder: ${outcome.runDir}\n`);
    if (done?.bestEpoch !== undefined) {
      const metrics = done.best ? `: ${formatEpochMetrics(done.best)}` : '';
      this.io.out(`best epoch ${done.bestEpoch}${metrics}\n`);
      this.io.out(`model: ${path.join(outcome.runDir, 'model')} (the best epoch's weights)\n`);
    }
    if (outcome.status === 'failed')
      this.io.err(`error: run failed: ${outcome.error ?? done?.error ?? 'unknown error'}\n`);
  }

  close(): void {
    this.stopBar();
  }

  private epochLabel(epoch: number): string {
    const total = this.fit ? String(this.fit.epochs) : '?';
    return `epoch ${String(epoch).padStart(total.length)}/${total}`;
  }

  private line(text: string): void {
    this.withBarHidden(() => this.io.out(text + '\n'));
  }

  /**
   * cli-progress redraws its line in place and restores a saved cursor position when it stops, so text
   * printed while it is shown would be overwritten: the bar is taken down, the text printed, the bar redrawn.
   */
  private withBarHidden(print: () => void): void {
    const state = this.barState;
    if (!this.bar || !state) {
      print();
      return;
    }
    this.bar.stop();
    print();
    this.bar.start(state.total, state.value, state.payload);
  }

  private startBar(epoch: number): void {
    this.stopBar();
    if (!this.io.terminal) return;
    const total = this.fit?.batchesPerEpoch ?? 1;
    this.bar = new SingleBar({
      stream: this.io.terminal,
      format: `${this.epochLabel(epoch)} {bar} {value}/{total}  loss {loss}  acc {acc}  {elapsed}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      barsize: 24,
      clearOnComplete: true,
      hideCursor: false,
      fps: 10,
    });
    // Elapsed time is ours, not cli-progress's: the bar restarts whenever a line is printed above it.
    this.barState = {
      total,
      value: 0,
      payload: { loss: '—', acc: '—', elapsed: '0.0s' },
      startedAt: Date.now(),
    };
    this.bar.start(total, 0, this.barState.payload);
  }

  private updateBar(batch: number, batches: number, loss: number, accuracy: number): void {
    if (!this.bar || !this.barState) return;
    const elapsed = formatDuration((Date.now() - this.barState.startedAt) / 1000);
    const payload = { loss: formatMetric(loss), acc: formatMetric(accuracy), elapsed };
    this.barState = { ...this.barState, total: batches, value: batch, payload };
    if (batches !== this.bar.getTotal()) this.bar.setTotal(batches);
    this.bar.update(batch, payload);
  }

  private stopBar(): void {
    if (!this.bar) return;
    this.bar.stop();
    this.bar = undefined;
    this.barState = undefined;
  }
}
