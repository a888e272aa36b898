/**
 * What a hostile cloned repository can contain (issue 16), as fixtures the unit, CLI and end-to-end tests
 * share: run files that are a link to /dev/zero or a FIFO, run names with terminal escapes, an experiment
 * whose dataset is the whole file system, folder names made to break shell commands, model manifests that
 * reach for ~/.ssh. Only what `git clone` can produce (files, folders, symbolic links — a FIFO stands in
 * for what a tool run in the folder could leave; git itself cannot check one out).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A folder name that runs a command when pasted into a POSIX shell or PowerShell unquoted or badly quoted. */
export const HOSTILE_FOLDER_NAME = 'x $(touch PWNED) `touch PWNED2` "; touch PWNED3; " $env:X';

/** ESC [ 2 J (clear screen), an OSC 8 hyperlink, an OSC 52 clipboard write and a BEL. */
export const ANSI_RUN_NAME =
  '\u001b[2J\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007\u001b]52;c;cm0gLXJmIH4=\u0007';

function runRecord(id: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id,
    name: id,
    status: 'completed',
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:01:00.000Z',
    pid: 1,
    hostname: 'elsewhere',
    epochsPlanned: 2,
    epochsCompleted: 1,
    classNames: ['a', 'b'],
    warnings: [],
    ...extra,
  });
}

export interface HostileRuns {
  runsDir: string;
  /** run.json is a symbolic link to /dev/zero. */
  zeroRun: string;
  /** metrics.jsonl is a FIFO no one writes to. */
  fifoRun: string;
  /** A readable run whose name is terminal escapes and whose metrics hold formula text. */
  ansiRun: string;
  /** summary.json is a link to /dev/zero. */
  zeroSummaryRun: string;
}

/** `<base>/.finetune/runs/` with the hostile runs above (Linux/macOS: links to devices and FIFOs). */
export function writeHostileRuns(base: string): HostileRuns {
  const runsDir = path.join(base, '.finetune', 'runs');
  const make = (id: string): string => {
    const dir = path.join(runsDir, id);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const zeroRun = make('20250101-000001-zero');
  fs.symlinkSync('/dev/zero', path.join(zeroRun, 'run.json'));
  const fifoRun = make('20250101-000002-fifo');
  fs.writeFileSync(path.join(fifoRun, 'run.json'), runRecord('20250101-000002-fifo'));
  execFileSync('mkfifo', [path.join(fifoRun, 'metrics.jsonl')]);
  const ansiRun = make('20250101-000003-ansi');
  fs.writeFileSync(
    path.join(ansiRun, 'run.json'),
    runRecord('20250101-000003-ansi', { name: ANSI_RUN_NAME, backend: '\u001b[31mred' }),
  );
  fs.writeFileSync(
    path.join(ansiRun, 'metrics.jsonl'),
    `${JSON.stringify({ epoch: 1, loss: '=HYPERLINK("https://evil.example","x")', accuracy: 0.5, val_loss: 1, val_accuracy: 0.5, lr: 0.001, time_s: 1, gap: 0.1, overfitting: false })}\n`,
  );
  const zeroSummaryRun = make('20250101-000004-zero-summary');
  fs.writeFileSync(path.join(zeroSummaryRun, 'run.json'), runRecord('20250101-000004-zero-summary'));
  fs.writeFileSync(
    path.join(zeroSummaryRun, 'metrics.jsonl'),
    `${JSON.stringify({ epoch: 1, loss: 1, accuracy: 0.5, val_loss: 1, val_accuracy: 0.5, lr: 0.001, time_s: 1, gap: 0, overfitting: false })}\n`,
  );
  fs.symlinkSync('/dev/zero', path.join(zeroSummaryRun, 'summary.json'));
  return { runsDir, zeroRun, fifoRun, ansiRun, zeroSummaryRun };
}

/** An experiment file whose dataset is the root of the file system. */
export function writeRootDatasetExperiment(dir: string, name = 'whole-disk'): string {
  const file = path.join(dir, `${name}.finetune.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        name,
        baseModel: 'model/model.json',
        dataset: { path: '/', imageSize: [8, 8] },
        training: { epochs: 1 },
      },
      null,
      2,
    ),
  );
  return file;
}

/**
 * A run folder whose model.json names a file outside the model folder (`../../../../secret`) or a weights
 * file that is a symbolic link to a secret: returns the run folder and the secret's path.
 */
export function writeReachingModelRun(
  runsDir: string,
  id: string,
  how: 'dotdot' | 'symlink' | 'linked-folder',
  secret: string,
): string {
  const dir = path.join(runsDir, id);
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    runRecord(id, { bestEpoch: 1, config: { dataset: { imageSize: [2, 2], pixelRange: [0, 1] } } }),
  );
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
  let shard: string;
  if (how === 'dotdot') {
    shard = path.relative(modelDir, secret);
  } else if (how === 'symlink') {
    shard = './weights.bin';
    fs.symlinkSync(secret, path.join(modelDir, 'weights.bin'));
  } else {
    shard = `./sub/${path.basename(secret)}`;
    fs.symlinkSync(path.dirname(secret), path.join(modelDir, 'sub'));
  }
  fs.writeFileSync(
    path.join(modelDir, 'model.json'),
    JSON.stringify({
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 'm',
          layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 2] } }],
        },
      },
      format: 'layers-model',
      weightsManifest: [{ paths: [shard], weights: [{ name: 'd/kernel', shape: [2, 2], dtype: 'float32' }] }],
    }),
  );
  fs.writeFileSync(path.join(modelDir, 'labels.json'), '["a","b"]');
  return dir;
}

/** A secret file outside every workspace, 16 bytes (enough for a [2, 2] float32 kernel). */
export function writeSecret(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-secret-'));
  const file = path.join(dir, 'id_rsa');
  fs.writeFileSync(file, 'PRIVATE KEY 1234');
  return file;
}
