/**
 * The host side of a training panel's Data tab: runs the analysis in a trainer process (progress,
 * cancel), keeps its report, and carries out the gallery's actions on the dataset folder — open, move to
 * a class folder (a WorkspaceEdit rename: undoable, never over an existing file), delete (to the trash),
 * mark as reviewed (`.finetune/reviewed.json`) — then says whether the run still matches the data.
 *
 * A message from the webview is untrusted input: an action applies only to an image the report (or the
 * run's validation summary) lists, inside the dataset folder, inside the workspace.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DataInsightReport } from '../../protocol/dataInsight';
import type { DataAction, DataTabToHost, DataTabToPanel } from '../../protocol/webviewMessages';
import type { RunRecord, RunSummary } from '../../protocol/runRecord';
import { isFolderName, moveTarget } from '../../core/insight/moveTarget';
import { errorMessage } from '../../core/userError';
import { ensureTrusted } from '../workspaceTrust';
import { isInWorkspace } from '../workspacePaths';
import { DataInsightCancelled, runDataInsight, runGradCam, type DataInsightRun } from './dataInsightProcess';
import {
  datasetMatches,
  datasetPath,
  imageDataUrl,
  isWithin,
  pathExists,
  resolveInDataset,
} from './datasetFiles';
import { ReviewedStore } from './reviewedStore';

export interface DataInsightContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  /** The trainer's environment (where the native backends are installed). */
  trainerEnv(): NodeJS.ProcessEnv;
  /** The trainer processes (tests give stand-ins that answer without TensorFlow.js). */
  runDataInsight?: typeof runDataInsight;
  runGradCam?: typeof runGradCam;
}

interface Move {
  /** Relative to the dataset folder. */
  from: string;
  to: string;
}

export class DataTabController implements vscode.Disposable {
  private analysis: DataInsightRun | undefined;
  private report: DataInsightReport | undefined;
  private reviewedCount = 0;
  /** Images moved, deleted or reviewed since the report (the webview hides them too). */
  private readonly gone = new Set<string>();
  private readonly moves: Move[] = [];
  private lastMatch: { matches: boolean; message: string } | undefined;
  private disposed = false;

  constructor(
    private readonly runDir: string,
    /** run.json and summary.json, read asynchronously and bounded (the panel's readers). */
    private readonly record: () => Promise<RunRecord | undefined>,
    private readonly summary: () => Promise<RunSummary | undefined>,
    private readonly post: (message: DataTabToPanel) => void,
    private readonly context: DataInsightContext,
  ) {}

  /** After a webview (re)load: what the tab had. */
  repost(): void {
    if (this.report) this.post({ type: 'dataReport', report: this.report, reviewed: this.reviewedCount });
    if (this.gone.size > 0)
      this.post({ type: 'dataChange', hide: [...this.gone], show: [], message: '', ...this.undoLabel() });
    if (this.lastMatch) this.post({ type: 'dataMatch', ...this.lastMatch });
    if (this.analysis) this.post({ type: 'dataProgress', message: 'The analysis is running…' });
  }

  get running(): boolean {
    return this.analysis !== undefined;
  }

  async handle(message: DataTabToHost): Promise<void> {
    switch (message.type) {
      case 'analyzeData':
        return this.analyze();
      case 'cancelAnalysis':
        this.analysis?.cancel();
        return;
      case 'undoDataAction':
        return this.undo();
      case 'dataAction':
        return this.act(message.action, message.file, message.toClass);
      case 'gradCam':
        return this.gradCam(message.file, message.classIndex);
      case 'previewImage':
        return this.preview(message.file);
    }
  }

  private async datasetDir(): Promise<string | undefined> {
    const dir = (await this.record())?.config?.dataset?.path;
    return typeof dir === 'string' ? dir : undefined;
  }

  private async workspaceFolder(): Promise<string | undefined> {
    const dir = await this.datasetDir();
    return dir ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir))?.uri.fsPath : undefined;
  }

  /** The dataset folder when it lies inside the workspace with every link resolved (run.json's say only). */
  private async datasetInWorkspace(): Promise<{ dataset: string; folder: string } | undefined> {
    const dataset = await this.datasetDir();
    const folder = await this.workspaceFolder();
    if (!dataset || !folder || !isWithin(folder, dataset) || !(await isInWorkspace(dataset)))
      return undefined;
    return { dataset, folder };
  }

  async analyze(): Promise<void> {
    const record = await this.record();
    if (!record) {
      this.post({ type: 'dataFailed', error: `The run's run.json cannot be read: nothing to analyse.` });
      return;
    }
    if (this.analysis) return;
    if (!(await ensureTrusted('analyzeData', record.name))) {
      this.post({ type: 'dataFailed', error: 'Restricted Mode: trust the workspace to find label issues.' });
      return;
    }
    const folder = (await this.workspaceFolder()) ?? path.dirname(path.dirname(this.runDir));
    const settings = vscode.workspace.getConfiguration('fineTune');
    const log = this.context.log;
    this.post({ type: 'dataProgress', message: 'Starting the trainer…' });
    const run = (this.context.runDataInsight ?? runDataInsight)({
      trainerScript: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'trainer.js').fsPath,
      experimentPath: record.experimentPath,
      runDir: this.runDir,
      backend: settings.get('backend', 'auto'),
      cacheDir: path.join(folder, '.finetune', 'cache'),
      cwd: folder,
      env: this.context.trainerEnv(),
      memoryLimitMB: settings.get<number>('trainerMemoryMB', 0),
      onLog: (level, text) => log[level](`label issues: ${text}`),
      onProgress: (p) => {
        const step = p.step !== undefined && p.steps ? ` ${p.step}/${p.steps}` : '';
        const what =
          p.stage === 'training folds'
            ? `Training fold${step}${p.message ? ` — ${p.message}` : ''}`
            : p.stage === 'thumbnails'
              ? `Making thumbnails${step}`
              : `${p.stage[0].toUpperCase()}${p.stage.slice(1)}: ${p.message ?? ''}`;
        const fraction =
          p.stage === 'training folds' && p.step && p.steps ? (p.step - 1) / p.steps : undefined;
        this.post({ type: 'dataProgress', message: what, ...(fraction !== undefined ? { fraction } : {}) });
      },
    });
    this.analysis = run;
    log.info(`label issues: analysing run ${record.id} (${record.experimentPath})`);
    try {
      const report = await run.result;
      if (this.disposed) return;
      const dataset = report.datasetPath;
      const workspaceFolder = await this.workspaceFolder();
      const store = workspaceFolder ? new ReviewedStore(workspaceFolder) : undefined;
      const reviewed = store ? await store.reviewed(dataset) : new Set<string>();
      this.report = withoutReviewed(report, reviewed);
      this.reviewedCount = [...reviewed].filter((f) => mentions(report, f)).length;
      this.gone.clear();
      this.moves.length = 0;
      log.info(
        `label issues: ${report.issues.length} issues, ${report.duplicates.length} duplicate pairs in ${report.seconds.toFixed(1)} s`,
      );
      this.post({ type: 'dataReport', report: this.report, reviewed: this.reviewedCount });
      await this.checkMatch();
    } catch (error) {
      if (this.disposed) return;
      if (error instanceof DataInsightCancelled) {
        this.post({ type: 'dataFailed', error: 'The analysis was cancelled.', cancelled: true });
      } else {
        log.error(`label issues: ${errorMessage(error)}`);
        this.post({ type: 'dataFailed', error: errorMessage(error) });
      }
    } finally {
      this.analysis = undefined;
    }
  }

  /** An image the report lists (and that was not moved or deleted since), for the actions. */
  private listed(file: string): boolean {
    return !this.gone.has(file) && this.report !== undefined && mentions(this.report, file);
  }

  /** The image's path, or a message saying why the action cannot touch it. */
  private async target(file: string): Promise<{ abs: string; dataset: string } | { refusal: string }> {
    const inside = await this.datasetInWorkspace();
    if (!inside) {
      return {
        refusal: `The dataset folder ${(await this.datasetDir()) ?? ''} is not inside the workspace: the Data tab only changes files inside it.`,
      };
    }
    const { dataset } = inside;
    const resolved = await resolveInDataset(dataset, file);
    if ('problem' in resolved) {
      return {
        refusal:
          resolved.problem === 'missing'
            ? `${file} is no longer in the dataset folder ${dataset}.`
            : `${file} is not inside the dataset folder ${dataset} (a link out of it?): the Data tab leaves it alone.`,
      };
    }
    return { abs: resolved.abs, dataset };
  }

  private async act(action: DataAction, file: string, toClass?: string): Promise<void> {
    const inSummary = (await this.summary())?.predictions.some((p) => p.file === file) ?? false;
    if (!this.listed(file) && !(action === 'open' && inSummary)) {
      this.context.log.warn(`ignored ${action} of ${file}: not an image of this panel's report`);
      return;
    }
    const resolved = await this.target(file);
    if ('refusal' in resolved) {
      void vscode.window.showErrorMessage(`Fine-Tune: ${resolved.refusal}`);
      return;
    }
    const uri = vscode.Uri.file(resolved.abs);
    switch (action) {
      case 'open':
        await vscode.commands.executeCommand('vscode.open', uri, {
          preview: true,
          viewColumn: vscode.ViewColumn.Active,
        });
        return;
      case 'move':
        return this.move(file, toClass ?? '', resolved.dataset);
      case 'delete':
        return this.delete(file, uri);
      case 'review':
        return this.review(file, resolved.dataset);
    }
  }

  private async move(file: string, toClass: string, dataset: string): Promise<void> {
    const report = this.report!;
    if (!isFolderName(toClass) || !report.classNames.includes(toClass)) {
      this.context.log.warn(`ignored a move of ${file} to "${toClass}": not a class of the report`);
      return;
    }
    const to = await moveTarget(file, toClass, report.layout, async (candidate) => {
      const abs = datasetPath(dataset, candidate);
      return abs === undefined || (await pathExists(abs));
    });
    if (!to) {
      void vscode.window.showErrorMessage(
        `Fine-Tune: no free file name for ${file} in the class folder "${toClass}".`,
      );
      return;
    }
    const target = vscode.Uri.file(datasetPath(dataset, to)!);
    const folder = vscode.Uri.file(path.dirname(target.fsPath));
    if (!(await pathExists(folder.fsPath))) await vscode.workspace.fs.createDirectory(folder);
    const edit = new vscode.WorkspaceEdit();
    // overwrite: false — if a file of that name appeared meanwhile, VS Code refuses instead of replacing it.
    edit.renameFile(vscode.Uri.file(datasetPath(dataset, file)!), target, { overwrite: false });
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showErrorMessage(`Fine-Tune: could not move ${file} to ${to}.`);
      return;
    }
    this.moves.push({ from: file, to });
    this.gone.add(file);
    this.context.log.info(`label issues: moved ${file} → ${to}`);
    this.post({
      type: 'dataChange',
      hide: [file],
      show: [],
      message: `Moved ${file} to ${to}.`,
      ...this.undoLabel(),
    });
    await this.checkMatch();
  }

  private async undo(): Promise<void> {
    const dataset = await this.datasetDir();
    const last = this.moves[this.moves.length - 1];
    if (!dataset || !last) return;
    const from = datasetPath(dataset, last.from);
    const to = datasetPath(dataset, last.to);
    if (!from || !to || !(await pathExists(to)) || (await pathExists(from))) {
      this.moves.pop();
      void vscode.window.showErrorMessage(
        `Fine-Tune: cannot undo the move of ${last.from}: ${(await pathExists(from ?? '')) ? `a file ${last.from} exists again` : `${last.to} is gone`}.`,
      );
      this.post({ type: 'dataChange', hide: [], show: [], message: '', ...this.undoLabel() });
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(vscode.Uri.file(to), vscode.Uri.file(from), { overwrite: false });
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showErrorMessage(`Fine-Tune: could not move ${last.to} back to ${last.from}.`);
      return;
    }
    this.moves.pop();
    this.gone.delete(last.from);
    this.context.log.info(`label issues: undid ${last.from} → ${last.to}`);
    this.post({
      type: 'dataChange',
      hide: [],
      show: [last.from],
      message: `Moved ${last.to} back to ${last.from}.`,
      ...this.undoLabel(),
    });
    await this.checkMatch();
  }

  private undoLabel(): { undo?: string } {
    const last = this.moves[this.moves.length - 1];
    return last ? { undo: `move of ${last.from}` } : {};
  }

  private async delete(file: string, uri: vscode.Uri): Promise<void> {
    try {
      await vscode.workspace.fs.delete(uri, { useTrash: true, recursive: false });
    } catch (error) {
      // Never a permanent delete instead: the user asked for the trash.
      void vscode.window.showErrorMessage(
        `Fine-Tune: ${file} could not be moved to the trash (${errorMessage(error)}); it is unchanged. Delete it in the Explorer if you want it gone.`,
      );
      return;
    }
    this.gone.add(file);
    this.context.log.info(`label issues: moved ${file} to the trash`);
    this.post({
      type: 'dataChange',
      hide: [file],
      show: [],
      message: `Moved ${file} to the trash (restore it from there).`,
      ...this.undoLabel(),
    });
    await this.checkMatch();
  }

  private async review(file: string, dataset: string): Promise<void> {
    const folder = await this.workspaceFolder();
    if (!folder) return;
    await new ReviewedStore(folder).mark(dataset, file);
    this.gone.add(file);
    this.reviewedCount += 1;
    this.post({
      type: 'dataChange',
      hide: [file],
      show: [],
      message: `${file} is marked as reviewed (in .finetune/reviewed.json): it is not shown again.`,
      ...this.undoLabel(),
    });
  }

  private async gradCam(file: string, classIndex: number): Promise<void> {
    const inSummary = (await this.summary())?.predictions.some((p) => p.file === file) ?? false;
    if (!this.listed(file) && !inSummary) {
      this.context.log.warn(`ignored Grad-CAM of ${file}: not an image of this run`);
      return;
    }
    const record = await this.record();
    const fail = (error: string): void => this.post({ type: 'gradCamFailed', file, classIndex, error });
    if (!record || classIndex >= record.classNames.length) return fail('no such class in this run');
    if (!(await ensureTrusted('analyzeData', record.name)))
      return fail('Restricted Mode: trust the workspace.');
    const resolved = await this.target(file);
    if ('refusal' in resolved) return fail(resolved.refusal);
    const settings = vscode.workspace.getConfiguration('fineTune');
    try {
      const result = await (this.context.runGradCam ?? runGradCam)({
        trainerScript: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'trainer.js').fsPath,
        runDir: this.runDir,
        file,
        classIndex,
        // The cpu backend starts fastest; one image needs no more.
        backend: 'cpu',
        cwd: await this.workspaceFolder(),
        env: this.context.trainerEnv(),
        memoryLimitMB: settings.get<number>('trainerMemoryMB', 0),
      });
      if (!this.disposed) this.post({ type: 'gradCam', result });
    } catch (error) {
      if (!this.disposed) fail(errorMessage(error));
    }
  }

  private async preview(file: string): Promise<void> {
    if (!this.listed(file)) return;
    const thumbnail = this.report?.thumbnails?.[file];
    const resolved = await this.target(file);
    if ('refusal' in resolved) {
      this.post({
        type: 'imagePreview',
        file,
        ...(thumbnail ? { dataUrl: thumbnail } : { error: resolved.refusal }),
      });
      return;
    }
    const answer = await imageDataUrl(resolved.abs);
    this.post({
      type: 'imagePreview',
      file,
      ...('dataUrl' in answer ? answer : thumbnail ? { dataUrl: thumbnail } : answer),
    });
  }

  /**
   * Compares the dataset folder with the run's fingerprint and tells the panel. Only a dataset inside the
   * workspace is scanned for it (run.json may name any folder, "/" included; the Datasets view asks before
   * it scans outside), and the scan is bounded (MATCH_SCAN_LIMITS).
   */
  async checkMatch(): Promise<void> {
    const record = await this.record();
    if (!record) return;
    const inside = await this.datasetInWorkspace();
    if (!inside) {
      this.context.log.info(
        `label issues: the dataset of run ${record.id} is not inside the workspace: not compared with the run`,
      );
      return;
    }
    const { dataset } = inside;
    let matches: boolean;
    try {
      matches = await datasetMatches(dataset, record.datasetFingerprint);
    } catch (error) {
      this.lastMatch = {
        matches: false,
        message: `The dataset folder cannot be read: ${errorMessage(error)}`,
      };
      this.post({ type: 'dataMatch', ...this.lastMatch });
      return;
    }
    this.lastMatch = {
      matches,
      message: matches
        ? `The dataset is as run ${record.id} trained on it.`
        : `The dataset changed since run ${record.id} trained on it (images moved, added, changed or deleted): this run, its metrics and its evaluation no longer match the data. Train again to measure the effect.`,
    };
    this.post({ type: 'dataMatch', ...this.lastMatch });
  }

  dispose(): void {
    this.disposed = true;
    this.analysis?.cancel(0);
  }
}

/** The file is one of the report's images (an issue, a top loss, a duplicate, a point of the map). */
function mentions(report: DataInsightReport, file: string): boolean {
  return (
    report.issues.some((i) => i.file === file) ||
    (report.topLosses ?? []).some((l) => l.file === file) ||
    report.duplicates.some((d) => d.train === file || d.val === file) ||
    (report.embedding?.points ?? []).some((p) => p.file === file)
  );
}

/** The report without the images marked as reviewed (issues, losses, duplicate pairs; the map keeps all). */
export function withoutReviewed(report: DataInsightReport, reviewed: ReadonlySet<string>): DataInsightReport {
  if (reviewed.size === 0) return report;
  return {
    ...report,
    issues: report.issues.filter((i) => !reviewed.has(i.file)),
    ...(report.topLosses ? { topLosses: report.topLosses.filter((l) => !reviewed.has(l.file)) } : {}),
    duplicates: report.duplicates.filter((d) => !reviewed.has(d.train) && !reviewed.has(d.val)),
  };
}
