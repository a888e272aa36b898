/** `finetune train <file.finetune.json>`: runs an experiment in this process and reports it as it goes. */
import { pipelineOptions } from '../../engine/cache/prepareInputs';
import { runExperiment } from '../../engine/runExperiment';
import { configureThreads } from '../../engine/backend/selectBackend';
import { resolveRunRef } from '../../core/runs/readRuns';
import { UserError } from '../../core/userError';
import type { BackendChoice } from '../../protocol/experimentConfig';
import { type CliIO, routeConsoleToStderr } from '../io';
import { existingFile, runsDirOf } from '../inputPaths';
import { readTrialRef } from '../../engine/sweep/trialRef';
import { createTrainReporter } from '../trainReporter';

export interface TrainOptions {
  epochs?: number;
  backend?: BackendChoice;
  runsDir?: string;
  json?: boolean;
  /** A run to continue (id, unique prefix or folder) instead of starting one from an experiment file. */
  resume?: string;
  /** MiB of decoded images / cached activations held in memory. */
  memoryBudget?: number;
  /** commander's `--no-cache`: false turns the activation cache off. */
  cache?: boolean;
  /** Threads of the wasm backend (default: every core). */
  threads?: number;
  /** A sweep's trial file (trials/<n>/trial.json): the run records which sweep and trial it is. */
  sweepTrial?: string;
}

/** Exit status of a process ended by Ctrl-C, by shell convention (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export async function trainCommand(
  file: string | undefined,
  options: TrainOptions,
  io: CliIO,
): Promise<number> {
  const runsDir = runsDirOf(io.cwd, options.runsDir);
  let experimentPath: string;
  let resume: string | undefined;
  if (options.resume !== undefined) {
    if (file !== undefined)
      throw new UserError(
        'Give an experiment file or --resume <run>, not both: a resumed run keeps its own experiment.',
      );
    if (options.epochs !== undefined || options.backend !== undefined)
      throw new UserError(
        '--epochs and --backend cannot be combined with --resume: a resumed run keeps its settings.',
      );
    const run = resolveRunRef(runsDir, options.resume);
    resume = run.dir;
    experimentPath = run.record?.experimentPath ?? run.dir;
  } else if (file === undefined) {
    throw new UserError(
      'Give the *.finetune.json experiment file to train, or --resume <run> to continue a run.',
    );
  } else {
    experimentPath = existingFile(io.cwd, file, 'Experiment file');
  }
  const trial = options.sweepTrial
    ? readTrialRef(existingFile(io.cwd, options.sweepTrial, 'Sweep trial file'), io.env)
    : undefined;
  const reporter = createTrainReporter(io, options.json === true);
  const controller = new AbortController();

  // First Ctrl-C: stop after the current batch, so the epoch's best model and metrics are written.
  // Second: the user wants out now.
  let interrupts = 0;
  const onInterrupt = (): void => {
    interrupts++;
    if (interrupts === 1) {
      controller.abort();
      reporter.notice(
        'stopping after the current batch; the best model so far is kept (Ctrl-C again to quit now)',
      );
      return;
    }
    reporter.close();
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onInterrupt);
  // SIGTERM (scancel, a Slurm time limit, a sweep cancelling a trial) stops as Ctrl-C does.
  process.on('SIGTERM', onInterrupt);
  const restoreConsole = options.json ? routeConsoleToStderr(io) : () => {};
  configureThreads(options.threads);
  try {
    const outcome = await runExperiment({
      experimentPath,
      runsDir,
      overrides: {
        ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        ...(options.backend !== undefined ? { backend: options.backend } : {}),
      },
      pipeline: pipelineOptions({
        ...(options.memoryBudget !== undefined ? { memoryBudgetMiB: options.memoryBudget } : {}),
        ...(options.cache === false ? { activationCache: false } : {}),
      }),
      onEvent: (event) => reporter.event(event),
      signal: controller.signal,
      ...(resume ? { resume } : {}),
      ...(trial ? { sweep: trial.ref, sweepRungs: trial.rungs } : {}),
    });
    reporter.finish(outcome);
    return outcome.status === 'failed' ? 1 : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    restoreConsole();
    reporter.close();
  }
}
