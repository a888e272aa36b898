/** `finetune train <file.finetune.json>`: runs an experiment in this process and reports it as it goes. */
import { runExperiment } from '../../engine/runExperiment';
import type { BackendChoice } from '../../protocol/experimentConfig';
import { type CliIO, routeConsoleToStderr } from '../io';
import { existingFile, runsDirOf } from '../inputPaths';
import { createTrainReporter } from '../trainReporter';

export interface TrainOptions {
  epochs?: number;
  backend?: BackendChoice;
  runsDir?: string;
  json?: boolean;
}

/** Exit status of a process ended by Ctrl-C, by shell convention (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export async function trainCommand(file: string, options: TrainOptions, io: CliIO): Promise<number> {
  const experimentPath = existingFile(io.cwd, file, 'Experiment file');
  const runsDir = runsDirOf(io.cwd, options.runsDir);
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
  const restoreConsole = options.json ? routeConsoleToStderr(io) : () => {};
  try {
    const outcome = await runExperiment({
      experimentPath,
      runsDir,
      overrides: {
        ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
        ...(options.backend !== undefined ? { backend: options.backend } : {}),
      },
      onEvent: (event) => reporter.event(event),
      signal: controller.signal,
    });
    reporter.finish(outcome);
    return outcome.status === 'failed' ? 1 : 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    restoreConsole();
    reporter.close();
  }
}
