/**
 * Sweeps VS Code runs: Start Sweep checks trust and the sweep file (the same loader as the CLI, with
 * line:col), starts the controller in a child process (sweepProcess.ts), shows a progress notification
 * with Cancel (trials done / running / stopped early / failed, the best so far), logs every trial to the
 * Fine-Tune output channel, and at the end offers Compare Trials and Apply Best Trial. A sweep the window
 * left `interrupted` or a cancelled one resumes on the next Start Sweep of the same, unchanged file.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SweepEvent } from '../../protocol/sweepEvents';
import type { SweepState } from '../../protocol/sweepConfig';
import { boundedPipelineSettings } from '../settingBounds';
import { describeParams, formatParamValue, parseSweepTextAsync } from '../../core/sweep/loadSweep';
import { errorMessage, isUserError } from '../../core/userError';
import { READ_LIMITS, readTextFile } from '../../core/files/regularFile';
import { ensureTrusted } from '../workspaceTrust';
import { SweepProcess } from './sweepProcess';

export interface SweepSessionContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** Environment of the controller and its trials (where the native backends are installed). */
  env: () => NodeJS.ProcessEnv;
  /** Called whenever the sweep's trials change (the Runs view reads the folders again). */
  onChange: () => void;
  /** What the end-of-sweep notification's buttons do. */
  compareTrials: (sweepDir: string) => void | Promise<void>;
  applyBest: (sweepDir: string) => Promise<void>;
}

interface Session {
  process: SweepProcess;
  sweepDir?: string;
  name: string;
}

const COMPARE = 'Compare Trials';
const APPLY = 'Apply Best Trial';

/** The runs folder of a sweep file: its workspace folder's `.finetune/runs`, as for training. */
export function runsDirFor(sweepFile: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(sweepFile)?.uri.fsPath ?? path.dirname(sweepFile.fsPath);
  return path.join(folder, '.finetune', 'runs');
}

export class SweepSessions implements vscode.Disposable {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly context: SweepSessionContext) {}

  isRunning(sweepFile: string): boolean {
    return this.sessions.has(path.resolve(sweepFile));
  }

  /** Cancels the sweep this window runs from `sweepFile` (or whose folder is `sweepDir`); false if none. */
  cancel(key: { sweepFile?: string; sweepDir?: string }): boolean {
    for (const [file, session] of this.sessions) {
      if (
        (key.sweepFile && path.resolve(key.sweepFile) === file) ||
        (key.sweepDir && session.sweepDir === key.sweepDir)
      ) {
        session.process.cancel();
        return true;
      }
    }
    return false;
  }

  async start(sweepFile: vscode.Uri): Promise<void> {
    const file = sweepFile.fsPath;
    if (!(await ensureTrusted('train', path.basename(file)))) return;
    if (this.sessions.has(file)) {
      void vscode.window.showInformationMessage(
        `Fine-Tune: the sweep ${path.basename(file)} is already running.`,
      );
      return;
    }
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === sweepFile.toString());
    if (document?.isDirty) await document.save();
    let name: string;
    try {
      const text =
        document?.getText() ?? (await readTextFile(sweepFile.fsPath, { maxBytes: READ_LIMITS.smallJson }));
      const loaded = await parseSweepTextAsync(text, file);
      name = loaded.config.name;
      loaded.warnings.forEach((w) => this.context.log.warn(`sweep: ${w}`));
    } catch (error) {
      const message = isUserError(error) ? error.message : errorMessage(error);
      this.context.log.error(`sweep ${file}: ${message}`);
      const lines = message.split('\n');
      void vscode.window.showErrorMessage(
        `Fine-Tune: the sweep file has problems — ${lines[0]}${lines.length > 1 ? ` (and ${lines.length - 1} more in the Fine-Tune log)` : ''}`,
      );
      return;
    }
    const settings = vscode.workspace.getConfiguration('fineTune');
    const backend = settings.get<string>('backend', 'auto');
    const pipeline = boundedPipelineSettings(settings);
    const args = [
      ...(backend && backend !== 'auto' ? ['--backend', backend] : []),
      ...(pipeline.memoryBudgetMiB !== undefined
        ? ['--memory-budget', String(pipeline.memoryBudgetMiB)]
        : []),
      ...(pipeline.activationCache === false ? ['--no-cache'] : []),
      ...(pipeline.trainerThreads !== undefined ? ['--threads', String(pipeline.trainerThreads)] : []),
    ];
    const runsDir = runsDirFor(sweepFile);
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Fine-Tune sweep ${name}`, cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          const tracker = new ProgressTracker();
          const session: Session = { name, process: undefined as unknown as SweepProcess };
          const onEvent = (event: SweepEvent): void => {
            this.log(event);
            if (event.type === 'sweepStart') session.sweepDir = event.sweepDir;
            const report = tracker.update(event);
            if (report) progress.report(report);
            if (event.type === 'trialRun' || event.type === 'trialEnd' || event.type === 'sweepEnd')
              this.context.onChange();
            if (event.type === 'sweepEnd') tracker.final = event.state;
          };
          session.process = new SweepProcess({
            cliScript: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'cli.js').fsPath,
            sweepFile: file,
            runsDir,
            args,
            env: this.context.env(),
            cwd: path.dirname(file),
            onEvent,
          });
          this.sessions.set(file, session);
          progress.report({ message: 'starting…' });
          token.onCancellationRequested(() => {
            this.context.log.info(
              `sweep ${name}: cancel requested — every trial stops after its current batch`,
            );
            session.process.cancel();
          });
          void session.process.exited.then((exit) => {
            this.sessions.delete(file);
            this.context.onChange();
            resolve();
            void this.finished(name, tracker.final, exit.code, session.process.errorText(), session.sweepDir);
          });
        }),
    );
  }

  private async finished(
    name: string,
    state: SweepState | undefined,
    code: number | null,
    error: string,
    sweepDir: string | undefined,
  ): Promise<void> {
    if (!state) {
      this.context.log.error(`sweep ${name}: ${error || `the controller exited with code ${code}`}`);
      void vscode.window.showErrorMessage(
        `Fine-Tune: the sweep ${name} did not run — ${error || `exit code ${code}`}`,
      );
      return;
    }
    const best = state.best
      ? ` Best: trial #${state.best.trial}, ${state.metric.name} ${formatParamValue(state.best.score)} (${describeParams(state.best.params)}).`
      : '';
    const failed = state.counts.failed + state.counts.crashed;
    const text = `Fine-Tune: sweep ${name} ${state.status} — ${state.counts.completed + state.counts.pruned}/${state.trials.length} trials done${failed ? `, ${failed} failed` : ''}.${best}`;
    const show =
      state.status === 'failed' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const choice = await show(
      text,
      ...(sweepDir ? [COMPARE] : []),
      ...(state.best && sweepDir ? [APPLY] : []),
    );
    if (choice === COMPARE && sweepDir) await this.context.compareTrials(sweepDir);
    if (choice === APPLY && sweepDir) await this.context.applyBest(sweepDir);
  }

  private log(event: SweepEvent): void {
    const log = this.context.log;
    switch (event.type) {
      case 'sweepStart':
        log.info(
          `sweep ${event.sweepId}: ${event.trials} trials, ${event.parallel} at a time on ${event.executor}${event.jobId ? ` (Slurm job ${event.jobId})` : ''}${event.resumed ? `, resumed (${event.resumed.finished} already finished)` : ''}`,
        );
        return;
      case 'trialStart':
        log.info(`sweep trial ${event.trial} started: ${describeParams(event.params)}`);
        return;
      case 'trialPruned':
        log.info(`sweep trial ${event.trial}: ${event.reason}`);
        return;
      case 'trialEnd':
        (event.state === 'failed' || event.state === 'crashed' ? log.warn : log.info)(
          `sweep trial ${event.trial} ${event.state}${event.score !== undefined ? ` (${formatParamValue(event.score)})` : ''}${event.error ? `: ${event.error}` : ''}`,
        );
        return;
      case 'log':
        (event.level === 'warn' ? log.warn : log.info)(`sweep: ${event.message}`);
        return;
      case 'sweepEnd':
        log.info(`sweep ${event.state.id} ${event.status}: ${event.state.endReason ?? ''}`);
        return;
      default:
        return;
    }
  }

  dispose(): void {
    // The controllers notice the closed channel themselves: they stop their trials and leave the
    // sweeps interrupted, to be resumed.
    this.sessions.clear();
  }
}

/** The notification's text and increments from the events. */
export class ProgressTracker {
  private total = 0;
  private done = 0;
  private running = new Set<number>();
  private pruned = 0;
  private failed = 0;
  private best?: { trial: number; score: number };
  private metric = 'score';
  final?: SweepState;

  update(event: SweepEvent): { message: string; increment?: number } | undefined {
    let increment: number | undefined;
    switch (event.type) {
      case 'sweepStart':
        this.metric = event.metric.name;
        this.total = event.trials;
        this.done = event.resumed?.finished ?? 0;
        increment = this.total > 0 ? (100 * this.done) / this.total : undefined;
        break;
      case 'trialStart':
        this.running.add(event.trial);
        break;
      case 'trialEnd':
        this.running.delete(event.trial);
        this.done += 1;
        if (event.state === 'pruned') this.pruned += 1;
        if (event.state === 'failed' || event.state === 'crashed') this.failed += 1;
        increment = this.total > 0 ? 100 / this.total : undefined;
        break;
      case 'best':
        this.best = { trial: event.trial, score: event.score };
        break;
      default:
        return undefined;
    }
    const parts = [`${this.done}/${this.total} trials done`];
    if (this.running.size > 0) parts.push(`${this.running.size} running`);
    if (this.pruned > 0) parts.push(`${this.pruned} stopped early`);
    if (this.failed > 0) parts.push(`${this.failed} failed`);
    if (this.best)
      parts.push(`best #${this.best.trial}: ${this.metric} ${formatParamValue(this.best.score)}`);
    return { message: parts.join(' · '), ...(increment !== undefined ? { increment } : {}) };
  }
}
