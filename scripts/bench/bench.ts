/**
 * `npm run bench`: training and inference speed of the engine on each backend, for the sample
 * (samples/digits) and for a MobileNet-v1-like network (α = 0.25, 96×96, random weights) on a generated
 * dataset, compared with the PyTorch figures of issue 5 (same 2-core machine). Each model × backend runs
 * in a child process (measure.ts), so peak memory is per section. Prints one table.
 *
 * Options: `--backend webgpu,wasm` (default: every installed backend; webgpu only with a hardware
 * adapter, as `auto` would), `--size 224` (the MobileNet's input size, default 96), `--per-class N`
 * (generated images per class, 10 classes, default 64), `--mobilenet-only`. scripts/bench/gpu-check.sh
 * runs `--backend webgpu,wasm --mobilenet-only --size 224`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { ExperimentConfig } from '../../src/protocol/experimentConfig';
import { installedBackends, probeWebGpu } from '../../src/engine/backend/selectBackend';
import { chooseAdapter } from '../../src/engine/backend/webgpu/adapterChoice';
import { adapterLabel } from '../../src/protocol/gpuAdapter';
import type { BackendName } from '../../src/protocol/experimentConfig';
import { loadExperiment } from '../../src/core/config/loadExperiment';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { seedMathRandom } from '../../src/core/rng';
import { makeDataset } from '../../test/helpers/fixtureDataset';
import { buildMobileNetLike } from './mobilenetLike';
import { runSection, type RunTiming, type SectionPlan, type SectionResult } from './measure';

/** Issue 5's PyTorch 1.13 CPU baseline of the MobileNet-like network, 96×96, batch 32, this machine. */
const PYTORCH = { fullFineTuning: 215, inference: 450 };
const MOBILENET_CLASSES = 10;
const RESULT = 'BENCH_RESULT ';

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const MOBILENET_SIZE = Number(argValue('--size') ?? 96);
const MOBILENET_PER_CLASS = Number(argValue('--per-class') ?? 64);
const MOBILENET_ONLY = process.argv.includes('--mobilenet-only');

function writeJson(file: string, value: unknown): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

/** Head-only (all pre-trained layers frozen up to the cut) and full fine-tuning variants, augmentation off. */
function variants(
  dir: string,
  config: ExperimentConfig,
  cut: string,
): { headOnlyFile: string; fullFile: string } {
  const common = {
    ...config,
    layers: {},
    head: { ...config.head, cutAt: cut },
    augmentation: { flipHorizontal: false, rotation: 0, zoom: 0, translate: 0, brightness: 0, contrast: 0 },
    training: { ...config.training, earlyStopping: false },
  };
  const { freezeUpTo: _unused, ...unfrozen } = common;
  return {
    headOnlyFile: writeJson(path.join(dir, 'head-only.finetune.json'), {
      ...common,
      name: 'bench-head-only',
      freezeUpTo: cut,
    }),
    fullFile: writeJson(path.join(dir, 'full.finetune.json'), { ...unfrozen, name: 'bench-full' }),
  };
}

async function prepareSample(root: string): Promise<{ headOnlyFile: string; fullFile: string }> {
  const sample = path.join(__dirname, '..', 'samples', 'digits', 'digits-frozen-conv.finetune.json');
  const { config } = await loadExperiment(sample);
  return variants(path.join(root, 'sample'), config, config.head.cutAt ?? 'flatten');
}

async function prepareMobileNet(root: string): Promise<{ headOnlyFile: string; fullFile: string }> {
  const dir = path.join(root, 'mobilenet');
  const restore = seedMathRandom('bench:mobilenet');
  try {
    const model = buildMobileNetLike(MOBILENET_SIZE, 0.25, MOBILENET_CLASSES);
    await model.save(atomicDirSaveHandler(path.join(dir, 'model')));
    model.dispose();
  } finally {
    restore();
  }
  await makeDataset(path.join(dir, 'data'), MOBILENET_CLASSES, MOBILENET_PER_CLASS, MOBILENET_SIZE, 1);
  const size = [MOBILENET_SIZE, MOBILENET_SIZE];
  const file = writeJson(path.join(dir, 'base.finetune.json'), {
    name: 'bench-mobilenet',
    baseModel: 'model/model.json',
    dataset: { path: 'data', imageSize: size, pixelRange: [-1, 1], validationSplit: 0.2, seed: 1 },
    head: { cutAt: 'global_pool', hiddenUnits: [], dropout: 0.2 },
    training: { epochs: 10, batchSize: 32, optimizer: 'adam', learningRate: 0.001, seed: 1 },
  });
  const { config } = await loadExperiment(file);
  return variants(dir, config, 'global_pool');
}

function runChild(plan: SectionPlan): Promise<SectionResult | string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, '--section', JSON.stringify(plan)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT.length)) as SectionResult);
      else resolve(`failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`);
    });
  });
}

const f0 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(0));
const f1 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(1));
const ratio = (n: number): string => `${n.toFixed(2)}×`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

function report(results: (SectionResult | string)[], plans: SectionPlan[], totalS: number): string {
  const ok = (r: SectionResult | string): r is SectionResult => typeof r !== 'string';
  const cell = (pick: (r: SectionResult) => string) => results.map((r) => (ok(r) ? pick(r) : 'failed'));
  const speed = (t: RunTiming): string => `${f0(t.imagesPerSecond)}`;
  const rows: string[][] = [
    ['', ...plans.map((p) => p.label)],
    ['inference (img/s, batch 32)', ...cell((r) => f0(r.inferenceImagesPerSecond))],
    ['head-only training, no cache (img/s)', ...cell((r) => speed(r.headNoCache))],
    ['head-only training, cached (img/s)', ...cell((r) => speed(r.headCachedCold))],
    ['  computing the cache (s)', ...cell((r) => f1(r.headCachedCold.cacheBuildS))],
    ['full fine-tuning (img/s)', ...cell((r) => speed(r.full))],
    [
      '  one full fine-tuning epoch (s)',
      ...cell((r) => `${f0(r.fullEpochEstimateS)}${r.full.epochs === 0 ? ' est.' : ''}`),
    ],
    ['time to first epoch, no cache (s)', ...cell((r) => f1(r.headNoCache.timeToFirstEpochS))],
    ['time to first epoch, cache computed (s)', ...cell((r) => f1(r.headCachedCold.timeToFirstEpochS))],
    ['time to first epoch, cache reused (s)', ...cell((r) => f1(r.headCachedWarm.timeToFirstEpochS))],
    ['10-epoch head-only run, cached, end to end (s)', ...cell((r) => f1(r.headCachedCold.wallS))],
    ['peak RSS (MiB)', ...cell((r) => f0(r.peakRssMiB))],
    ['peak tf.memory() (MiB)', ...cell((r) => f0(r.peakTfMiB))],
  ];
  const lines = [table(rows), ''];
  results.forEach((r, i) => {
    if (!ok(r)) lines.push(`${plans[i].label}: ${r}`);
    else if (r.full.epochs === 0 && r.fullEpochEstimateS > 120)
      lines.push(
        `${r.label}: full fine-tuning skipped after ${r.full.batchesTimed} step(s): a full epoch (${r.full.trainCount} images) would take ~${f1(r.fullEpochEstimateS / 60)} min (> 2 min); its figures are extrapolated from those steps.`,
      );
    else if (r.full.epochs === 0)
      lines.push(
        `${r.label}: full fine-tuning timed on ${r.full.batchesTimed} steps of the first epoch (the epoch time is extrapolated).`,
      );
  });
  results.forEach((r) => ok(r) && r.adapter && lines.push(`${r.label}: GPU adapter ${r.adapter}`));
  const mobileOn = (label: string) => results.find((r, i) => ok(r) && plans[i].label === label);
  const gpu = mobileOn('MobileNet webgpu');
  const cpuSide = mobileOn('MobileNet wasm');
  if (gpu && ok(gpu) && cpuSide && ok(cpuSide)) {
    const rows: string[][] = [['MobileNet', 'webgpu', 'wasm', 'webgpu / wasm']];
    const add = (name: string, g: number, w: number) => rows.push([name, f0(g), f0(w), ratio(g / w)]);
    add('inference (img/s)', gpu.inferenceImagesPerSecond, cpuSide.inferenceImagesPerSecond);
    add('head-only, no cache (img/s)', gpu.headNoCache.imagesPerSecond, cpuSide.headNoCache.imagesPerSecond);
    add(
      'head-only, cached (img/s)',
      gpu.headCachedCold.imagesPerSecond,
      cpuSide.headCachedCold.imagesPerSecond,
    );
    add('full fine-tuning (img/s)', gpu.full.imagesPerSecond, cpuSide.full.imagesPerSecond);
    lines.push(
      '',
      `webgpu vs wasm on this machine (target on a real GPU: full fine-tuning ≥ 10×):`,
      table(rows),
    );
  }
  const mobile = MOBILENET_SIZE === 96 ? mobileOn('MobileNet wasm') : undefined;
  if (mobile && ok(mobile)) {
    const images = mobile.headCachedCold.trainCount + mobile.headCachedCold.valCount;
    const pytorchLoop = (10 * images) / PYTORCH.inference;
    lines.push(
      '',
      `MobileNet-v1 α=0.25 96×96 on wasm vs PyTorch 1.13 CPU (issue 5, same machine):`,
      table([
        ['', 'ours', 'PyTorch', 'ratio', 'target'],
        [
          'full fine-tuning (img/s)',
          f0(mobile.full.imagesPerSecond),
          `${PYTORCH.fullFineTuning}`,
          ratio(mobile.full.imagesPerSecond / PYTORCH.fullFineTuning),
          '≥ 0.35×',
        ],
        [
          'inference (img/s)',
          f0(mobile.inferenceImagesPerSecond),
          `${PYTORCH.inference}`,
          ratio(mobile.inferenceImagesPerSecond / PYTORCH.inference),
          '',
        ],
        [
          `10-epoch head-only run, ${images} images (s)`,
          f1(mobile.headCachedCold.wallS),
          `${f1(pytorchLoop)} est.`,
          ratio(mobile.headCachedCold.wallS / pytorchLoop),
          '≤ 0.5×',
        ],
      ]),
      `(PyTorch's loop recomputes the backbone every epoch: estimated as 10 × ${images} images / ${PYTORCH.inference} img/s, inference-dominated; ours is measured end to end: decoding, computing the cache, 10 epochs with validation, saving.)`,
    );
  }
  lines.push('', `bench total: ${f0(totalS)} s`);
  return lines.join('\n');
}

/**
 * `--backend a,b` as given; by default every installed backend but tensorflow-gpu, and webgpu only when
 * it has a hardware adapter (as `auto` decides: the software one takes minutes per section).
 */
async function chosenBackends(): Promise<{ backends: BackendName[]; softwareGpu: boolean }> {
  const asked = argValue('--backend');
  const installed = installedBackends().filter((b) => b !== 'tensorflow-gpu');
  const backends = asked ? (asked.split(',') as BackendName[]) : installed;
  if (backends.includes('webgpu')) {
    const report = await probeWebGpu();
    for (const o of report.outcomes) {
      const found = o.adapter ? adapterLabel(o.adapter) : (o.reason ?? 'no adapter');
      process.stderr.write(
        `webgpu adapter on ${o.target.dawnBackend} (${o.target.featureLevel}): ${found}\n`,
      );
    }
    const auto = chooseAdapter(report.outcomes, 'auto');
    if (!asked && !auto.adapter) {
      process.stderr.write(
        `webgpu: not measured — ${auto.reason}; \`--backend webgpu\` measures it anyway\n`,
      );
      return { backends: backends.filter((b) => b !== 'webgpu'), softwareGpu: false };
    }
    return { backends, softwareGpu: !auto.adapter };
  }
  return { backends, softwareGpu: false };
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = os.loadavg()[0];
  tf.env().set('PROD', true); // no console banner from tfjs
  await tf.setBackend('cpu');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-bench-'));
  try {
    process.stderr.write(
      `Preparing the sample variants and the MobileNet-like model and dataset in ${root}…\n`,
    );
    const sample = await prepareSample(root);
    const mobile = await prepareMobileNet(root);
    const { backends, softwareGpu } = await chosenBackends();
    const plans: SectionPlan[] = [];
    for (const backend of backends) {
      const name = backend === 'tensorflow' ? 'native' : backend;
      // A software WebGPU adapter (llvmpipe) trains a MobileNet step at about the cpu backend's pace.
      const slow = backend === 'cpu' || (backend === 'webgpu' && softwareGpu);
      if (!MOBILENET_ONLY)
        plans.push({
          label: `sample ${name}`,
          backend,
          ...sample,
          workDir: path.join(root, `sample-${backend}`),
          inferenceBatches: 20,
          headNoCache: { epochs: 3 },
          fullBatches: 8,
        });
      plans.push({
        label: `MobileNet ${name}`,
        backend,
        ...mobile,
        workDir: path.join(root, `mobilenet-${backend}`),
        inferenceBatches: slow ? 2 : 6,
        headNoCache: slow ? { batches: 3 } : { epochs: 2 },
        // On cpu one step of full fine-tuning takes ~25 s: an epoch would take minutes (extrapolated). The
        // first step is not timed (on webgpu it compiles the shaders), so a software GPU gets 3.
        fullBatches: backend === 'cpu' ? 1 : slow ? 3 : 8,
      });
    }
    const results: (SectionResult | string)[] = [];
    for (const plan of plans) {
      process.stderr.write(`${plan.label}…\n`);
      results.push(await runChild(plan));
    }
    const cpus = os.cpus();
    const load = os.loadavg()[0];
    console.log(
      `\nFine-Tune Studio bench — ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, TensorFlow.js ${tf.version_core}, load average ${loadAtStart.toFixed(1)} → ${load.toFixed(1)}`,
    );
    if (Math.max(loadAtStart, load) > cpus.length * 0.75)
      console.log(`(other processes kept the CPUs busy during the bench: the figures below are low)`);
    const images = MOBILENET_CLASSES * MOBILENET_PER_CLASS;
    console.log(
      `${MOBILENET_ONLY ? '' : 'sample: samples/digits (32×32, 300 images, 240 train), batch 32 · '}MobileNet: α=0.25 ${MOBILENET_SIZE}×${MOBILENET_SIZE}, random weights, ${images} generated images (${Math.round(images * 0.8)} train), batch 32\n`,
    );
    console.log(report(results, plans, (performance.now() - started) / 1000));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--section') {
  const plan = JSON.parse(process.argv[3]) as SectionPlan;
  runSection(plan).then(
    (result) => {
      process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
