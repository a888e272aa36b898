/**
 * The PyTorch twin of the bench (pytorchTwin.py): finds a Python that imports torch, hands it the bench's
 * MobileNet-like model.json and the very images our pipeline decoded (raw float32 NHWC + int32 labels,
 * the run's own train/val split), runs it, and reads its figures back. Without torch the bench says so and
 * prints no ratio. Python: $FINETUNE_BENCH_PYTHON, else /usr/bin/python3 (Debian's python3-torch installs
 * there; a pyenv or venv `python3` first on PATH does not see it), else `python3` on PATH.
 *
 * The twin runs with glibc's malloc told to keep the memory it frees (KEPT_MEMORY_MALLOC). PyTorch's CPU
 * performance guide advises a caching allocator (jemalloc, tcmalloc) for this reason: by default glibc
 * hands each freed activation buffer of more than a few MiB back to the OS, and the next batch faults the
 * pages in again. On the 2-core VM we measure on a first touch costs ~2.9 ms per MiB, so the untuned twin
 * spent about half of every MobileNet epoch in page faults (full fine-tuning at 96×96: 1.63 s an epoch
 * against 0.79 s kept; at 224×224: 17.5 s against 3.3 s) — a baseline that slow flatters us. Our engine
 * never gives its wasm heap back, so it pays those faults once. `--twin-system-malloc` runs the twin
 * with glibc's defaults instead; variables already set in the environment are kept either way.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExperimentConfig } from '../../src/protocol/experimentConfig';
import { scanDataset } from '../../src/core/data/scanDataset';
import { splitDataset } from '../../src/core/data/splitDataset';
import type { ImageRef } from '../../src/core/data/scanDataset';
import { decodeImages } from '../../src/engine/data/decodeImages';

export interface TwinEpoch {
  trainS: number;
  epochS: number;
}

export interface TwinLayout {
  inferenceImagesPerSecond: number;
  full: TwinEpoch[];
  headOnlyWallS: number;
}

export interface TwinResult {
  python: string;
  /** How the twin's malloc was set up (see KEPT_MEMORY_MALLOC). */
  malloc: string;
  torch: string;
  threads: number;
  trainCount: number;
  valCount: number;
  layouts: Record<string, TwinLayout>;
}

export interface TwinPython {
  python?: string;
  version?: string;
  /** Why no candidate works, when none does. */
  missing?: string;
}

/** The first Python that imports torch. */
export function findTorchPython(): TwinPython {
  const candidates = [process.env.FINETUNE_BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter(
    (c): c is string => typeof c === 'string' && c.length > 0,
  );
  const tried: string[] = [];
  for (const python of [...new Set(candidates)]) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
    const why = probe.error
      ? probe.error.message
      : (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`);
    tried.push(`${python}: ${why}`);
  }
  return { missing: tried.join('; ') };
}

async function writeSplit(
  dir: string,
  name: string,
  refs: ImageRef[],
  config: ExperimentConfig,
): Promise<object> {
  const decoded = await decodeImages(refs, {
    imageSize: config.dataset.imageSize,
    channels: 3,
    pixelRange: config.dataset.pixelRange,
  });
  if (decoded.skipped.length > 0)
    throw new Error(`twin data: ${decoded.skipped.length} images did not decode`);
  const images = path.join(dir, `${name}-images.f32`);
  const labels = path.join(dir, `${name}-labels.i32`);
  fs.writeFileSync(
    images,
    Buffer.from(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength),
  );
  const classes = Int32Array.from(decoded.images.map((ref) => ref.classIndex));
  fs.writeFileSync(labels, Buffer.from(classes.buffer));
  return { images, labels };
}

export interface TwinPlan {
  dir: string;
  config: ExperimentConfig;
  modelJson: string;
  cut: string;
  classes: number;
  threads: number;
  fullEpochs: number;
  headEpochs: number;
  inferenceBatches: number;
  layouts: string[];
}

/** Decodes the dataset as a run would split it and writes the twin's spec; returns the spec's path. */
export async function prepareTwin(plan: TwinPlan): Promise<string> {
  const { config } = plan;
  fs.mkdirSync(plan.dir, { recursive: true });
  const scan = await scanDataset(config.dataset.path);
  const split = splitDataset(scan, config.dataset.validationSplit, config.dataset.seed);
  const modelJson = JSON.parse(fs.readFileSync(plan.modelJson, 'utf8')) as {
    modelTopology: { model_config?: { config: unknown }; config?: unknown };
  };
  const topology = modelJson.modelTopology.model_config?.config ?? modelJson.modelTopology.config;
  const [height, width] = config.dataset.imageSize;
  const spec = {
    threads: plan.threads,
    model: topology,
    cut: plan.cut,
    dropout: config.head.dropout,
    classes: plan.classes,
    batch: config.training.batchSize,
    learningRate: config.training.learningRate,
    fullEpochs: plan.fullEpochs,
    headEpochs: plan.headEpochs,
    inferenceBatches: plan.inferenceBatches,
    layouts: plan.layouts,
    data: {
      shape: [height, width, 3],
      train: await writeSplit(plan.dir, 'train', split.train, config),
      val: await writeSplit(plan.dir, 'val', split.val, config),
    },
  };
  const file = path.join(plan.dir, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  return file;
}

const RESULT = 'TWIN_RESULT ';

/**
 * glibc tunables (ignored by other C libraries): serve allocations of up to 32 MiB (glibc's largest
 * mmap threshold) from the heap instead of fresh mappings, and never trim the heap's free top.
 */
export const KEPT_MEMORY_MALLOC: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 2 ** 20),
  MALLOC_TRIM_THRESHOLD_: String(4 * 2 ** 30),
};

/** The twin's environment: ours, plus KEPT_MEMORY_MALLOC unless `systemMalloc` (set variables win). */
export function twinEnvironment(
  systemMalloc: boolean,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  return systemMalloc ? { ...env } : { ...KEPT_MEMORY_MALLOC, ...env };
}

/** Runs the twin on a prepared spec; its progress and errors go to stderr. */
export function runTwin(
  python: string,
  specFile: string,
  systemMalloc = false,
): Promise<TwinResult | string> {
  return new Promise((resolve) => {
    const child = spawn(
      python,
      [path.join(__dirname, '..', 'scripts', 'bench', 'pytorchTwin.py'), specFile],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: twinEnvironment(systemMalloc),
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (error) => resolve(`could not start ${python}: ${error.message}`));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code === 0 && line)
        resolve({
          python,
          malloc: systemMalloc
            ? "glibc's default malloc (--twin-system-malloc)"
            : "glibc's malloc keeping freed memory (MALLOC_MMAP_THRESHOLD_ 32 MiB, MALLOC_TRIM_THRESHOLD_ 4 GiB: a caching allocator, as PyTorch's CPU guide advises)",
          ...(JSON.parse(line.slice(RESULT.length)) as Omit<TwinResult, 'python' | 'malloc'>),
        });
      else resolve(`failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`);
    });
  });
}
