/**
 * One fine-tuning run from an experiment file to a finished run folder. Used by the trainer child process
 * (for VS Code) and by the CLI in-process. Bad input throws a UserError before any run folder exists;
 * once the folder exists, every outcome — completed, stopped, failed — is recorded in it.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, ExperimentConfig } from '../protocol/experimentConfig';
import { adapterLabel, type GpuAdapterRecord } from '../protocol/gpuAdapter';
import type { TrainingEvent } from '../protocol/trainingEvents';
import { currentAdapter, currentBackend } from './backend/selectBackend';
import { prepareInputs, type PipelineOptions, type TrainingInputs } from './cache/prepareInputs';
import { augmentBatch, isAugmentationActive } from './data/augment';
import type { DatasetScan } from '../core/data/scanDataset';
import type { TrainingModel } from './model/buildTrainingModel';
import { lrFinderDirBeside, readLrFinderSuggestion } from '../core/lrFinderRecord';
import { prepareRun } from './prepareRun';
import { seedMathRandom } from '../core/rng';
import { planResume, type ResumePlan } from './runs/resumeRun';
import { RunWriter } from './runs/runWriter';
import { removeCheckpoint } from './training/checkpointFiles';
import { evaluate } from './training/evaluate';
import { buildSummary } from './training/summary';
import { fit } from './training/trainLoop';
import { watchStopRequest } from './sweep/stopRequest';
import type { SweepTrialRef } from '../protocol/sweepConfig';
import { UserError, errorMessage } from '../core/userError';

/** How long a stopped run may spend evaluating its best model for summary.json. */
const STOPPED_EVALUATION_MS = 1000;

export interface RunOptions {
  experimentPath: string;
  runsDir: string;
  overrides?: { epochs?: number; backend?: BackendChoice };
  onEvent: (event: TrainingEvent) => void;
  /** Aborting stops the run after the current batch; the best model so far is kept. */
  signal?: AbortSignal;
  /** Memory budget and the frozen-prefix activation cache (defaults: 1 GiB, on, beside runsDir). */
  pipeline?: PipelineOptions;
  /**
   * Where the learning-rate finder remembers its answers (default: `lr-finder/` beside runsDir): a run
   * that diverges names the suggestion for its experiment.
   */
  lrFinderDir?: string;
  /**
   * A stopped, crashed or failed run folder to continue from its last epoch checkpoint, in place. Its
   * run.json supplies the experiment (config snapshot, experiment path, backend); `experimentPath` and
   * `overrides` are not used.
   */
  resume?: string;
  /** A sweep's trial: recorded as run.json `sweep`. */
  sweep?: SweepTrialRef;
  /** ASHA rungs (epochs) at which the trial waits for the sweep's verdict. */
  sweepRungs?: number[];
}

export interface RunOutcome {
  runId: string;
  runDir: string;
  status: 'completed' | 'stopped' | 'failed';
  error?: string;
}

export async function runExperiment(options: RunOptions): Promise<RunOutcome> {
  const emit = options.onEvent;
  const log = (level: 'info' | 'warn', message: string): void => emit({ type: 'log', level, message });
  // Resume: the run's own config snapshot and checkpoint; the experiment file may have changed since.
  const resume = options.resume ? planResume(options.resume) : undefined;
  const file = resume ? resume.record.experimentPath : options.experimentPath;

  // 1. Everything that can be wrong with the input is checked before a run folder is created.
  const prepared = await prepareRun(
    file,
    options.overrides,
    log,
    resume ? { config: resume.record.config, backend: resume.record.backend } : undefined,
  );
  const { config, scan, split, channels, warnings, backendNote } = prepared;
  const model = prepared.model;
  const fingerprint = prepared.fingerprint;
  if (resume && fingerprint !== resume.record.datasetFingerprint) {
    model.dispose();
    throw new UserError(
      `The dataset ${config.dataset.path} changed since run ${resume.record.id} started (files added, removed or modified): resuming would not continue the same training. Start a new run instead.`,
      resume.runDir,
    );
  }
  let inputs: TrainingInputs;
  try {
    inputs = await prepareInputs({
      model,
      config,
      split,
      classNames: scan.classNames,
      datasetFingerprint: fingerprint,
      backend: currentBackend(),
      channels,
      runsDir: options.runsDir,
      options: options.pipeline,
      log: (message) => log('info', message),
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
  try {
    return await trainOnInputs(options, config, model, inputs, {
      file,
      scan,
      fingerprint,
      warnings,
      backendNote,
      resume,
    });
  } finally {
    await inputs.close();
  }
}

async function trainOnInputs(
  options: RunOptions,
  config: ExperimentConfig,
  model: TrainingModel,
  inputs: TrainingInputs,
  context: {
    file: string;
    scan: DatasetScan;
    fingerprint: string;
    warnings: string[];
    backendNote: string | undefined;
    resume: ResumePlan | undefined;
  },
): Promise<RunOutcome> {
  const emit = options.onEvent;
  const log = (level: 'info' | 'warn', message: string): void => emit({ type: 'log', level, message });
  const { file, scan, backendNote, resume } = context;
  const skipped = inputs.skipped.map((s) => `skipped ${s.file}: ${s.reason}`);
  inputs.notes.forEach((note) => log('info', note));
  const warnings = [...context.warnings, ...inputs.warnings, ...skipped];
  warnings.forEach((w) => log('warn', w));

  const adapter = currentAdapter();
  if (resume && adapterChanged(resume.record.adapter, adapter)) {
    const was = resume.record.adapter ? adapterLabel(resume.record.adapter) : resume.record.backend;
    warnings.push(
      `resumed on ${adapter ? adapterLabel(adapter) : currentBackend()}, not on ${was} where the run started: the remaining epochs may differ slightly from an uninterrupted run`,
    );
    log('warn', warnings[warnings.length - 1]);
  }
  // 2. The run folder exists from here on: every outcome is recorded in it.
  const writer = resume
    ? reopenRun(resume, warnings, adapter)
    : RunWriter.create(options.runsDir, {
        name: config.name,
        status: 'running',
        experimentPath: file,
        config,
        backend: currentBackend(),
        requestedBackend: config.training.backend,
        ...(backendNote ? { backendNote } : {}),
        ...(adapter ? { adapter } : {}),
        datasetFingerprint: context.fingerprint,
        classNames: scan.classNames,
        counts: {
          train: inputs.train.count,
          val: inputs.val.count,
          skipped: inputs.skipped.length,
        },
        epochsPlanned: config.training.epochs,
        epochsCompleted: 0,
        startedAt: new Date().toISOString(),
        pid: process.pid,
        hostname: os.hostname(),
        warnings,
        ...(options.sweep ? { sweep: options.sweep } : {}),
      });
  const runId = writer.id;
  const runDir = writer.dir;
  const numClasses = scan.classNames.length;
  emit({
    type: 'beforeFit',
    runId,
    runDir,
    backend: currentBackend(),
    ...(adapter ? { adapter } : {}),
    classNames: scan.classNames,
    trainCount: inputs.train.count,
    valCount: inputs.val.count,
    epochs: config.training.epochs,
    batchesPerEpoch: Math.ceil(inputs.train.count / config.training.batchSize),
    trainableParams: model.trainableParams,
    frozenParams: model.frozenParams,
  });

  const restoreRandom = seedMathRandom(`fit:${config.training.seed}`, resume?.checkpoint.mathRandom);
  let epochsCompleted = resume?.checkpoint.epoch ?? 0;
  /** The epoch of the checkpoint on disk (a failed run is resumed from it). */
  let checkpointEpoch = resume?.checkpoint.epoch;
  // A sweep stops a trial (ASHA, cancel) through a stop-request file in the run folder.
  const stopRequest = watchStopRequest(runDir, options.signal, options.sweepRungs);
  try {
    const augmentation = config.augmentation;
    const result = await fit({
      model,
      train: inputs.train,
      val: inputs.val,
      forward: inputs.forward,
      numClasses,
      config,
      emit,
      signal: stopRequest.signal,
      // Cached activations only exist when augmentation is off (prepareInputs), so rows here are images.
      augment: isAugmentationActive(augmentation)
        ? (x, rng) => augmentBatch(x, augmentation, config.dataset.pixelRange, rng)
        : undefined,
      // The model first, then run.json: run.json never names a best epoch whose model is not on disk.
      onBest: async (metrics) => {
        await writer.saveModel(model.model, scan.classNames);
        writer.update({ bestEpoch: metrics.epoch, best: metrics });
      },
      onEpoch: (metrics) => {
        epochsCompleted = metrics.epoch;
        writer.appendMetrics(metrics);
        writer.update({ epochsCompleted });
      },
      resumeFrom: resume?.checkpoint,
      lrSuggestion: readLrFinderSuggestion(
        options.lrFinderDir ?? lrFinderDirBeside(options.runsDir),
        file,
        config,
        context.fingerprint,
      ),
      onCheckpoint: async (checkpoint) => {
        writer.saveCheckpoint(checkpoint);
        checkpointEpoch = checkpoint.epoch;
        await stopRequest.atEpochEnd(checkpoint.epoch);
      },
      mathRandomState: () => restoreRandom.state(),
    });
    if (result.status === 'stopped' && stopRequest.reason) result.endReason = stopRequest.reason;

    // The saved model is the best epoch's. With restoreBestWeights off, the last epoch's weights are kept too.
    const es = config.training.earlyStopping;
    if (es !== false && !es.restoreBestWeights && result.history.length > 0) {
      await writer.saveModel(model.model, scan.classNames, 'model-last');
    }
    if (result.bestWeights) {
      model.model.setWeights(result.bestWeights);
      tf.dispose(result.bestWeights);
    } else if (result.status !== 'failed') {
      // Stopped before the first epoch ended: still leave a loadable model behind.
      await writer.saveModel(model.model, scan.classNames);
    }
    if (result.status !== 'failed' || result.bestEpoch !== undefined) {
      // After Stop, the evaluation gets what is left of the 2 s the process has to end in.
      const deadline = result.status === 'stopped' ? performance.now() + STOPPED_EVALUATION_MS : Infinity;
      const evaluation = await evaluate(inputs.forward, inputs.val, numClasses, 64, deadline);
      writer.writeSummary({
        ...buildSummary(evaluation.predictions, scan.classNames, result.bestEpoch ?? 0, evaluation.loss),
        validationCount: inputs.val.count,
      });
    }
    writer.update({
      status: result.status,
      endedAt: new Date().toISOString(),
      endReason: result.endReason,
      ...(result.error ? { error: result.error } : {}),
    });
    // Only stopped, crashed and failed runs are resumed; a completed one gives the space back.
    if (result.status === 'completed') removeCheckpoint(runDir);
    log(result.status === 'failed' ? 'warn' : 'info', result.error ?? result.endReason);
    emit({
      type: 'afterFit',
      runId,
      runDir,
      status: result.status,
      epochsCompleted,
      bestEpoch: result.bestEpoch,
      best: result.best,
      endReason: result.endReason,
      ...(result.error ? { error: result.error } : {}),
    });
    return { runId, runDir, status: result.status, ...(result.error ? { error: result.error } : {}) };
  } catch (error) {
    const message =
      errorMessage(error) +
      (checkpointEpoch !== undefined
        ? ` The checkpoint of epoch ${checkpointEpoch} is kept: Resume Run (Runs view) or \`finetune train --resume ${runId}\` continues from it.`
        : '');
    writer.update({
      status: 'failed',
      endedAt: new Date().toISOString(),
      error: message,
      endReason: 'error',
    });
    emit({ type: 'afterFit', runId, runDir, status: 'failed', epochsCompleted, error: message });
    return { runId, runDir, status: 'failed', error: message };
  } finally {
    stopRequest.dispose();
    restoreRandom();
    model.dispose();
  }
}

function adapterChanged(before: GpuAdapterRecord | undefined, now: GpuAdapterRecord | undefined): boolean {
  if (!before && !now) return false;
  return before?.device !== now?.device || before?.dawnBackend !== now?.dawnBackend;
}

/** Takes the run folder over for a resume: running again, in this process, its history cut to the checkpoint. */
function reopenRun(resume: ResumePlan, warnings: string[], adapter: GpuAdapterRecord | undefined): RunWriter {
  const {
    endedAt: _ended,
    endReason: _reason,
    error: _error,
    bestEpoch: _b,
    best: _best,
    ...kept
  } = resume.record;
  const checkpoint = resume.checkpoint;
  return RunWriter.reopen(
    resume.runDir,
    {
      ...kept,
      ...(adapter ? { adapter } : {}),
      status: 'running',
      pid: process.pid,
      hostname: os.hostname(),
      epochsCompleted: checkpoint.epoch,
      ...(checkpoint.best ? { bestEpoch: checkpoint.best.epoch, best: checkpoint.best } : {}),
      warnings: [...kept.warnings, ...warnings.filter((w) => !kept.warnings.includes(w))],
      resumes: [
        ...(kept.resumes ?? []),
        { at: new Date().toISOString(), afterEpoch: checkpoint.epoch, was: resume.was, pid: process.pid },
      ],
    },
    checkpoint,
  );
}
