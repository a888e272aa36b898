/**
 * `npm run bench -- --onnx`: how long an ONNX export takes and how large model.onnx is against the run's
 * weights, for the sample's run (trained here for 2 epochs on wasm) and for a MobileNet-v1-like network
 * (α = 0.25, 96×96, random weights) saved as a run. Times the conversion in process (median of 5) and
 * `finetune export --format onnx` end to end (a fresh Node process: loading TensorFlow.js included).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { exportRunModelOnnx } from '../../src/engine/export/exportOnnx';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment } from '../../src/engine/runExperiment';
import { buildMobileNetLike } from './mobilenetLike';

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function weightBytes(runDir: string): number {
  const dir = path.join(runDir, 'model');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

async function measure(label: string, runDir: string, work: string): Promise<string> {
  const inProcess: number[] = [];
  let onnxBytes = 0;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const result = await exportRunModelOnnx(runDir, path.join(work, `${label}-${i}`));
    inProcess.push(performance.now() - started);
    onnxBytes = result.onnxBytes;
  }
  const endToEnd: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const child = spawnSync(process.execPath, [
      cli,
      'export',
      runDir,
      path.join(work, `${label}-cli-${i}`),
      '--format',
      'onnx',
      '--json',
    ]);
    if (child.status !== 0) throw new Error(`finetune export failed: ${child.stderr.toString()}`);
    endToEnd.push(performance.now() - started);
  }
  const weights = weightBytes(runDir);
  return `${label.padEnd(28)} ${(median(inProcess) / 1000).toFixed(2).padStart(6)} s ${(median(endToEnd) / 1000).toFixed(2).padStart(8)} s   ${(onnxBytes / 1024).toFixed(0).padStart(6)} KiB / ${(weights / 1024).toFixed(0).padStart(6)} KiB = ${((onnxBytes / weights) * 100).toFixed(1)}%`;
}

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-onnx-bench-'));
  try {
    const sample = await runExperiment({
      experimentPath: path.join(root, 'samples', 'digits', 'digits-frozen-conv.finetune.json'),
      runsDir: path.join(work, 'runs'),
      overrides: { epochs: 2, backend: 'wasm' },
      onEvent: () => {},
    });
    await initBackend('cpu');
    const mobileRun = path.join(work, 'runs', 'mobilenet');
    const mobile = buildMobileNetLike(96, 0.25, 10);
    await mobile.save(atomicDirSaveHandler(path.join(mobileRun, 'model')));
    mobile.dispose();
    const classNames = Array.from({ length: 10 }, (_, i) => `class_${i}`);
    fs.writeFileSync(path.join(mobileRun, 'model', 'labels.json'), JSON.stringify(classNames));
    fs.writeFileSync(
      path.join(mobileRun, 'run.json'),
      JSON.stringify({
        id: 'mobilenet',
        status: 'completed',
        startedAt: new Date().toISOString(),
        classNames,
      }),
    );
    const rows = [
      await measure('sample (32×32)', sample.runDir, work),
      await measure('MobileNet α=0.25 96×96', mobileRun, work),
    ];
    console.log(
      `\nONNX export — ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}`,
    );
    console.log(
      `${'model'.padEnd(28)} ${'convert'.padStart(8)} ${'CLI, e2e'.padStart(10)}   model.onnx / weights`,
    );
    for (const row of rows) console.log(row);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
