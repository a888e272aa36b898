/**
 * The `finetune` command line: the same engine the extension runs, without VS Code.
 * `main` takes its output sink as a parameter so tests run it in-process and read what it printed.
 * Exit codes: 0 done (completed or stopped), 1 the run failed or an unexpected error, 2 bad input.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { version } from '../../package.json';
import { errorMessage, isUserError } from '../core/userError';
import { BACKEND_CHOICES, type BackendChoice } from '../protocol/experimentConfig';
import { METRICS_FORMATS, type MetricsFormat } from '../core/export/exportMetrics';
import { RANK_BY } from '../core/insight/confidentLearning';
import { DEFAULT_DUPLICATE_THRESHOLD } from '../core/insight/duplicates';
import { DEFAULT_FOLDS, MAX_FOLDS } from '../core/insight/folds';
import { MAX_TRAINER_THREADS } from '../protocol/trainerMessages';
import { type CliIO, processIO, terminalSafeIO } from './io';
import type { ExplainOptions } from './commands/explain';
import type { LabelIssuesOptions } from './commands/labelIssues';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

function positiveWhole(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`Give a whole number, 1 or more.`);
  }
  return n;
}

function positiveMiB(value: string): number {
  const n = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`Give a size in MiB above 0, e.g. 512.`);
  }
  return n;
}

function folds(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < 2 || n > MAX_FOLDS) {
    throw new InvalidArgumentError(`Give a whole number of folds from 2 to ${MAX_FOLDS}.`);
  }
  return n;
}

function similarity(value: string): number {
  const n = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !(n > 0 && n <= 1)) {
    throw new InvalidArgumentError(`Give a cosine similarity above 0 and at most 1, e.g. 0.98.`);
  }
  return n;
}

function threadCount(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > MAX_TRAINER_THREADS) {
    throw new InvalidArgumentError(`Give a whole number of threads from 1 to ${MAX_TRAINER_THREADS}.`);
  }
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`Give a whole number of epochs, 1 or more.`);
  }
  return n;
}

/*
 * Commands are loaded when they run: `train` and `layers` pull in TensorFlow.js, which `runs` and
 * `compare` do not need, and a listing should not wait for it to load.
 */
function buildProgram(io: CliIO, setExitCode: (code: number) => void): Command {
  const program = new Command('finetune')
    .description(
      'Transfer learning and fine-tuning of TensorFlow.js image classifiers, from the command line.',
    )
    .version(version, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .showSuggestionAfterError(true);

  program
    .command('train')
    .description('train an experiment; writes a run folder (run.json, metrics.jsonl, best model)')
    .argument('[experiment]', 'the *.finetune.json experiment file (not with --resume)')
    .option('--epochs <n>', 'override training.epochs', positiveInteger)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_CHOICES))
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option(
      '--resume <run>',
      'continue a stopped or crashed run (id, unique id prefix or folder) from its last epoch checkpoint',
    )
    .option(
      '--memory-budget <MiB>',
      'decoded images or cached activations up to this size stay in memory (default 1024)',
      positiveMiB,
    )
    .option('--no-cache', 'train without the activation cache of the frozen layers')
    .option('--threads <n>', 'threads of the wasm backend (default: every core)', threadCount)
    .option('--json', 'print each training event as one JSON line, nothing else')
    .addOption(new Option('--sweep-trial <file>', 'used by sweeps: the trial this run is').hideHelp())
    .action(
      async (
        file: string | undefined,
        opts: {
          epochs?: number;
          backend?: BackendChoice;
          runsDir?: string;
          json?: boolean;
          resume?: string;
          memoryBudget?: number;
          cache?: boolean;
          threads?: number;
          sweepTrial?: string;
        },
      ) => {
        const { trainCommand } = await import('./commands/train');
        setExitCode(await trainCommand(file, opts, io));
      },
    );

  const sweep = program
    .command('sweep')
    .description(
      'run a sweep (*.sweep.json): many trials of an experiment, locally in parallel or as a Slurm array job; prints the best trial',
    )
    .argument('<file>', 'the *.sweep.json sweep file (or: status <sweepId>, cancel <sweepId>)')
    .addOption(
      new Option('--executor <type>', "where trials run (default: the file's executor)").choices([
        'local',
        'slurm',
      ]),
    )
    .option(
      '--parallel <n>',
      "trials at once (default: the file's, else on CPU backends one per core, or cores / --threads)",
      positiveWhole,
    )
    .addOption(
      new Option('--backend <name>', 'TensorFlow.js backend of every trial').choices(BACKEND_CHOICES),
    )
    .option(
      '--runs-dir <dir>',
      'folder of run folders (default: .finetune/runs); the sweep lives in <runs-dir>/../sweeps',
    )
    .option('--new', 'start a new sweep even when an unfinished one of this file could be resumed')
    .option('--memory-budget <MiB>', 'memory budget of each trial (see train)', positiveMiB)
    .option('--no-cache', 'train every trial without the activation cache')
    .option(
      '--threads <n>',
      'wasm threads of each trial (default: the cores shared out over the trials at once); with no --parallel, trials at once = cores / threads',
      threadCount,
    )
    .option('--json', 'print each sweep event as one JSON line, nothing else')
    .action(async (file: string, opts: Record<string, unknown>) => {
      const { sweepCommand } = await import('./commands/sweep');
      setExitCode(await sweepCommand(file, opts, io));
    });
  sweep
    .command('status')
    .description("a sweep's trials: state, epochs, score, parameters, and the best trial")
    .argument('<sweepId>', 'sweep id, unique id prefix, or sweep folder')
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--json', 'print the sweep state as JSON')
    .action(async (ref: string, opts: { runsDir?: string; json?: boolean }) => {
      const { sweepStatusCommand } = await import('./commands/sweep');
      setExitCode(await sweepStatusCommand(ref, opts, io));
    });
  sweep
    .command('cancel')
    .description('stop every trial of a running sweep cleanly (models kept) and end it as stopped')
    .argument('<sweepId>', 'sweep id, unique id prefix, or sweep folder')
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--json', 'print the sweep state as JSON')
    .action(async (ref: string, opts: { runsDir?: string; json?: boolean }) => {
      const { sweepCancelCommand } = await import('./commands/sweep');
      setExitCode(await sweepCancelCommand(ref, opts, io));
    });

  program
    .command('layers')
    .description('print the layer tree of a model: paths, classes, output shapes, parameters')
    .argument('<model>', 'a TensorFlow.js LayersModel model.json')
    .option('--json', 'print the layer tree as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const { layersCommand } = await import('./commands/layers');
      setExitCode(await layersCommand(file, opts, io));
    });

  program
    .command('scan')
    .description('list the classes of a dataset folder with image counts, empty classes and skipped files')
    .argument('<dataset>', 'folder of class folders, or of train/ val/ [test/] folders')
    .option('--json', 'print the scan as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const { scanCommand } = await import('./commands/scan');
      setExitCode(await scanCommand(dir, opts, io));
    });

  program
    .command('runs')
    .description('list runs, newest first (a run whose trainer died is marked crashed)')
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--json', 'print the runs as JSON')
    .action(async (opts: { runsDir?: string; json?: boolean }) => {
      const { runsCommand } = await import('./commands/runs');
      setExitCode(await runsCommand(opts, io));
    });

  program
    .command('compare')
    .description('compare runs side by side: best epoch, generalization gap, and the parameters that differ')
    .argument('<runs...>', 'run ids, unique id prefixes, or run folders')
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--json', 'print the comparison as JSON')
    .action(async (refs: string[], opts: { runsDir?: string; json?: boolean }) => {
      const { compareCommand } = await import('./commands/compare');
      setExitCode(await compareCommand(refs, opts, io));
    });

  program
    .command('predict')
    .description("classify images with a run's best model (decoded as the run was trained)")
    .argument('<run>', 'run id, unique id prefix, or run folder')
    .argument('<images...>', 'image files')
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--top <k>', 'how many classes to list per image (default 3)', positiveWhole)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_CHOICES))
    .option('--threads <n>', 'threads of the wasm backend (default: every core)', threadCount)
    .option('--json', 'print the predictions as JSON')
    .action(
      async (
        run: string,
        images: string[],
        opts: { runsDir?: string; top?: number; backend?: BackendChoice; json?: boolean; threads?: number },
      ) => {
        const { predictCommand } = await import('./commands/predict');
        setExitCode(await predictCommand(run, images, opts, io));
      },
    );

  program
    .command('label-issues')
    .description(
      'find images whose folder (label) is probably wrong, by K-fold training of the head on the frozen features, and validation images that duplicate training images',
    )
    .argument('<experiment>', 'the *.finetune.json experiment file')
    .option(
      '--folds <k>',
      `folds of the cross-validation (default ${DEFAULT_FOLDS}, 2 to ${MAX_FOLDS})`,
      folds,
    )
    .option('--top <n>', 'how many label issues to list (default 20)', positiveWhole)
    .addOption(
      new Option('--rank-by <order>', 'order of the issues (default self_confidence)').choices(RANK_BY),
    )
    .option(
      '--duplicate-threshold <cos>',
      `feature cosine similarity from which a validation image counts as a duplicate (default ${DEFAULT_DUPLICATE_THRESHOLD})`,
      similarity,
    )
    .option('--run <run>', "analyse this run's snapshot of the experiment, and list its model's top losses")
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_CHOICES))
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs); the cache is beside it')
    .option(
      '--memory-budget <MiB>',
      'decoded images or cached activations up to this size stay in memory (default 1024)',
      positiveMiB,
    )
    .option('--no-cache', 'do not read or write the activation cache on disk')
    .option('--threads <n>', 'threads of the wasm backend (default: every core)', threadCount)
    .option('--json', 'print the issues and duplicates as JSON')
    .action(async (file: string, opts: LabelIssuesOptions) => {
      const { labelIssuesCommand } = await import('./commands/labelIssues');
      setExitCode(await labelIssuesCommand(file, opts, io));
    });

  program
    .command('explain')
    .description("Grad-CAM heatmaps with a run's best model: where in each image the evidence for a class is")
    .argument('<run>', 'run id, unique id prefix, or run folder')
    .argument('<images...>', 'image files')
    .option('--out <dir>', 'folder for the overlays, <image>.gradcam.png (default: gradcam)')
    .option('--class <name>', "the class to explain (default: each image's predicted class)")
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(BACKEND_CHOICES))
    .option('--threads <n>', 'threads of the wasm backend (default: every core)', threadCount)
    .option('--json', 'print the results as JSON')
    .action(async (run: string, images: string[], opts: ExplainOptions) => {
      const { explainCommand } = await import('./commands/explain');
      setExitCode(await explainCommand(run, images, opts, io));
    });

  program
    .command('export')
    .description(
      "write a run's best model (TensorFlow.js or ONNX), labels.json and a README with inference examples to a new folder",
    )
    .argument('<run>', 'run id, unique id prefix, or run folder')
    .argument('<folder>', 'where to write the model (a new or empty folder)')
    .addOption(
      new Option('--format <format>', 'tfjs: model.json + weights + predict.js; onnx: model.onnx (opset 13)')
        .choices(['tfjs', 'onnx'])
        .default('tfjs'),
    )
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--force', 'replace a previous export in the folder (its files are listed, then deleted)')
    .option(
      '--keep-replaced',
      'with --force: move the replaced export aside (its folder is printed) instead of deleting it',
    )
    .option('--json', 'print the written files as JSON')
    .action(
      async (
        run: string,
        folder: string,
        opts: {
          runsDir?: string;
          force?: boolean;
          keepReplaced?: boolean;
          json?: boolean;
          format?: 'tfjs' | 'onnx';
        },
      ) => {
        const { exportModelCommand } = await import('./commands/exportModel');
        setExitCode(await exportModelCommand(run, folder, opts, io));
      },
    );

  program
    .command('export-metrics')
    .description("export runs' metrics as CSV, or as TensorBoard event files for `tensorboard --logdir`")
    .argument('<runs...>', 'run ids, unique id prefixes, or run folders')
    .addOption(
      new Option('--format <format>', 'csv: <run>/metrics.csv; tensorboard: <run>/tensorboard/')
        .choices(METRICS_FORMATS)
        .default('csv'),
    )
    .option('--out <path>', 'write here instead (one run only)')
    .option('--runs-dir <dir>', 'folder of run folders (default: .finetune/runs)')
    .option('--json', 'print what was written as JSON')
    .action(
      async (
        runs: string[],
        opts: { runsDir?: string; format: MetricsFormat; out?: string; json?: boolean },
      ) => {
        const { exportMetricsCommand } = await import('./commands/exportMetrics');
        setExitCode(await exportMetricsCommand(runs, opts, io));
      },
    );

  return program;
}

function reportError(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (usage errors) or the help/version text it was asked for.
    return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  }
  if (isUserError(error)) {
    io.err(`error: ${error.message}\n`);
    return EXIT_BAD_INPUT;
  }
  if (io.env.FINETUNE_DEBUG === '1') {
    io.err(`error: ${error instanceof Error && error.stack ? error.stack : errorMessage(error)}\n`);
  } else {
    io.err(`error: ${errorMessage(error)}\n(run with FINETUNE_DEBUG=1 for the stack)\n`);
  }
  return EXIT_FAILED;
}

/** Runs the CLI with Node-style argv (`[node, script, command, …]`) and resolves to the exit code. */
export async function main(argv: string[], rawIO: CliIO = processIO()): Promise<number> {
  // Run names, class folders and paths come from files a cloned repository may have written: no text
  // goes to the terminal with its control characters (JSON output escapes them itself).
  const io = terminalSafeIO(rawIO);
  let exitCode = EXIT_OK;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'node' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}
