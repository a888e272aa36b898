/**
 * `npm run bench`: training and inference speed of the engine on each backend, for the sample
 * (samples/digits) and for a MobileNet-v1-like network (α = 0.25, 96×96, random weights) on a generated
 * dataset, and the same network in PyTorch (pytorchTwin.ts) in the same run, with the ratios from that run.
 * Each model × backend runs in a child process (measure.ts), so peak memory is per section; the sample's
 * time to first batch is measured in a fresh process, from its start. Prints the tables and the load.
 *
 * Options: `--backend webgpu,wasm` (default: every installed backend; webgpu only with a hardware
 * adapter, as `auto` would), `--threads N` (the wasm backend's and PyTorch's threads; default: every
 * core), `--size 224` (the MobileNet's input size, default 96), `--alpha 1` (its width, default 0.25), `--per-class N` (generated images per
 * class, 10 classes, default 64), `--mobilenet-only`, `--quick` (MobileNet on wasm against the twin only,
 * fewer epochs: a minute), `--no-twin`, `--repeat N` (N rounds of our MobileNet on wasm and its twin,
 * alternated, best of each: on a busy machine the ratio of one round says little),
 * `--twin-system-malloc` (the twin with glibc's default malloc, which returns freed memory to the OS).
 * scripts/bench/gpu-check.sh runs `--backend webgpu,wasm --mobilenet-only --size 224`.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { ExperimentConfig } from '../../src/protocol/experimentConfig';
import { initBackend, installedBackends, probeWebGpu } from '../../src/engine/backend/selectBackend';
import { chooseAdapter } from '../../src/engine/backend/webgpu/adapterChoice';
import { adapterLabel } from '../../src/protocol/gpuAdapter';
import type { BackendName } from '../../src/protocol/experimentConfig';
import { loadExperiment } from '../../src/core/config/loadExperiment';
import { defaultWasmThreads } from '../../src/engine/backend/wasmThreads/threadedWasm';
import { atomicDirSaveHandler } from '../../src/engine/model/fileModelIO';
import { runExperiment } from '../../src/engine/runExperiment';
import { seedMathRandom } from '../../src/core/rng';
import { makeDataset } from '../../test/helpers/fixtureDataset';
import { buildMobileNetLike } from './mobilenetLike';
import { runSection, type SectionPlan, type SectionResult } from './measure';
import { findTorchPython, prepareTwin, runTwin, type TwinResult } from './pytorchTwin';
import { bestRounds, report, type FirstBatch, type Round } from './benchReport';

const MOBILENET_CLASSES = 10;
const RESULT = 'BENCH_RESULT ';

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const QUICK = process.argv.includes('--quick');
/** The twin with glibc's default malloc (see pytorchTwin.ts: slower on a VM with costly page faults). */
const TWIN_SYSTEM_MALLOC = process.argv.includes('--twin-system-malloc');
const MOBILENET_SIZE = Number(argValue('--size') ?? 96);
// The width multiplier: 1 is the full-width MobileNet (3.2M weights), what a real head-only fine-tune saves.
const MOBILENET_ALPHA = Number(argValue('--alpha') ?? 0.25);
const MOBILENET_PER_CLASS = Number(argValue('--per-class') ?? 64);
const MOBILENET_ONLY = QUICK || process.argv.includes('--mobilenet-only');
const THREADS = Number(argValue('--threads') ?? defaultWasmThreads());
/** Rounds of (our MobileNet on wasm, its PyTorch twin), alternated; the best round of each is reported. */
const REPEAT = Math.max(1, Number(argValue('--repeat') ?? 1));
/** Whole full fine-tuning epochs per run (the first includes warm-up; the others are the figure). */
const FULL_EPOCHS = QUICK ? 2 : 3;

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

const SAMPLE = path.join(__dirname, '..', 'samples', 'digits', 'digits-frozen-conv.finetune.json');

async function prepareSample(root: string): Promise<{ headOnlyFile: string; fullFile: string }> {
  const { config } = await loadExperiment(SAMPLE);
  return variants(path.join(root, 'sample'), config, config.head.cutAt ?? 'flatten');
}

interface MobileNetFiles {
  headOnlyFile: string;
  fullFile: string;
  config: ExperimentConfig;
  modelJson: string;
}

async function prepareMobileNet(root: string): Promise<MobileNetFiles> {
  const dir = path.join(root, 'mobilenet');
  const restore = seedMathRandom('bench:mobilenet');
  try {
    const model = buildMobileNetLike(MOBILENET_SIZE, MOBILENET_ALPHA, MOBILENET_CLASSES);
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
  return {
    ...variants(dir, config, 'global_pool'),
    config,
    modelJson: path.join(dir, 'model', 'model.json'),
  };
}

function runChild<T>(args: string[]): Promise<T | string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [__filename, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT));
      if (code === 0 && line) resolve(JSON.parse(line.slice(RESULT.length)) as T);
      else resolve(`failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`);
    });
  });
}

/**
 * `--backend a,b` as given; by default every installed backend but tensorflow-gpu, and webgpu only when
 * it has a hardware adapter (as `auto` decides: the software one takes minutes per section).
 */
async function chosenBackends(): Promise<{ backends: BackendName[]; softwareGpu: boolean }> {
  const asked = argValue('--backend') ?? (QUICK ? 'wasm' : undefined);
  const installed = installedBackends().filter((b) => b !== 'tensorflow-gpu');
  const backends = asked ? (asked.split(',') as BackendName[]) : installed;
  if (backends.includes('webgpu')) {
    const probe = await probeWebGpu();
    for (const o of probe.outcomes) {
      const found = o.adapter ? adapterLabel(o.adapter) : (o.reason ?? 'no adapter');
      process.stderr.write(
        `webgpu adapter on ${o.target.dawnBackend} (${o.target.featureLevel}): ${found}\n`,
      );
    }
    const auto = chooseAdapter(probe.outcomes, 'auto');
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

function plansFor(
  backends: BackendName[],
  softwareGpu: boolean,
  root: string,
  sample: { headOnlyFile: string; fullFile: string },
  mobile: MobileNetFiles,
): SectionPlan[] {
  const plans: SectionPlan[] = [];
  for (const backend of backends) {
    const name = backend === 'tensorflow' ? 'native' : backend;
    // A software WebGPU adapter (llvmpipe) trains a MobileNet step at about the cpu backend's pace.
    const slow = backend === 'cpu' || (backend === 'webgpu' && softwareGpu);
    const threads = backend === 'wasm' ? { threads: THREADS } : {};
    if (!MOBILENET_ONLY)
      plans.push({
        label: `sample ${name}`,
        backend,
        ...sample,
        workDir: path.join(root, `sample-${backend}`),
        inferenceBatches: 20,
        headNoCache: { epochs: 3 },
        full: backend === 'cpu' ? { batches: 8 } : { epochs: FULL_EPOCHS },
        ...threads,
      });
    plans.push({
      label: `MobileNet ${name}`,
      backend,
      headOnlyFile: mobile.headOnlyFile,
      fullFile: mobile.fullFile,
      workDir: path.join(root, `mobilenet-${backend}`),
      inferenceBatches: slow ? 2 : 20,
      headNoCache: slow ? { batches: 3 } : { epochs: 2 },
      // On cpu one step of full fine-tuning takes ~25 s: an epoch would take minutes (extrapolated). The
      // first step is not timed (on webgpu it compiles the shaders), so a software GPU gets 3.
      full: backend === 'cpu' ? { batches: 1 } : slow ? { batches: 3 } : { epochs: FULL_EPOCHS },
      ...threads,
    });
  }
  return plans;
}

/** The PyTorch twin on the MobileNet's data, or why it was not measured. */
async function pytorchTwin(root: string, mobile: MobileNetFiles): Promise<TwinResult | string> {
  if (process.argv.includes('--no-twin')) return 'not measured (--no-twin)';
  const found = findTorchPython();
  if (!found.python) {
    return `not measured: no Python here imports torch (${found.missing}). On Debian/Ubuntu: \`sudo apt-get install python3-torch\` (then /usr/bin/python3 has it), or set FINETUNE_BENCH_PYTHON to a Python that imports torch.`;
  }
  process.stderr.write(`PyTorch twin: ${found.python} (torch ${found.version}), ${THREADS} threads…\n`);
  const spec = await prepareTwin({
    dir: path.join(root, 'twin'),
    config: mobile.config,
    modelJson: mobile.modelJson,
    cut: 'global_pool',
    classes: MOBILENET_CLASSES,
    threads: THREADS,
    fullEpochs: FULL_EPOCHS,
    headEpochs: 10,
    inferenceBatches: 20,
    layouts: ['nchw', 'channels_last'],
  });
  return runTwin(found.python, spec, TWIN_SYSTEM_MALLOC);
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
    const plans = plansFor(backends, softwareGpu, root, sample, mobile);
    const results: (SectionResult | string)[] = [];
    const compared = plans.findIndex((p) => p.label === 'MobileNet wasm');
    for (const plan of plans) {
      process.stderr.write(`${plan.label}…\n`);
      results.push(await runChild<SectionResult>(['--section', JSON.stringify(plan)]));
    }
    let firstBatch: FirstBatch | string | undefined;
    if (!MOBILENET_ONLY && backends.includes('wasm')) {
      process.stderr.write('sample: time to first batch in a fresh process…\n');
      firstBatch = await runChild<FirstBatch>([
        '--first-batch',
        path.join(root, 'first-batch'),
        String(THREADS),
      ]);
    }
    const rounds: Round[] = [{ ours: results[compared], twin: await pytorchTwin(root, mobile) }];
    for (let round = 2; round <= REPEAT && compared >= 0; round++) {
      process.stderr.write(`round ${round} of ${REPEAT}: MobileNet wasm, then its twin…\n`);
      const ours = await runChild<SectionResult>(['--section', JSON.stringify(plans[compared])]);
      rounds.push({ ours, twin: await pytorchTwin(root, mobile) });
    }
    const { ours, twin } = bestRounds(rounds);
    if (compared >= 0 && ours) results[compared] = ours;
    const cpus = os.cpus();
    const load = os.loadavg()[0];
    console.log(
      `\nFine-Tune Studio bench — ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, TensorFlow.js ${tf.version_core}, wasm threads ${THREADS}, load average ${loadAtStart.toFixed(1)} → ${load.toFixed(1)}`,
    );
    if (Math.max(loadAtStart, load) > cpus.length * 0.75)
      console.log(
        `(other processes kept the CPUs busy during the bench: the figures below are low and noisy)`,
      );
    const images = MOBILENET_CLASSES * MOBILENET_PER_CLASS;
    console.log(
      `${MOBILENET_ONLY ? '' : 'sample: samples/digits (32×32, 300 images, 240 train), batch 32 · '}MobileNet: α=${MOBILENET_ALPHA} ${MOBILENET_SIZE}×${MOBILENET_SIZE}, random weights, ${images} generated images (${Math.round(images * 0.8)} train), batch 32\n`,
    );
    console.log(
      report({ results, plans, twin, firstBatch, rounds, totalS: (performance.now() - started) / 1000 }),
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `--first-batch <dir>` (a fresh process): the sample as `npm run demo` trains it — backend chosen, model
 * loaded, images decoded, activation cache computed — from this process's start to its first batch.
 */
async function firstBatch(dir: string, threads: number): Promise<FirstBatch> {
  const controller = new AbortController();
  let at: number | undefined;
  await initBackend('wasm', { threads });
  const backendAt = performance.now();
  await runExperiment({
    experimentPath: SAMPLE,
    runsDir: path.join(dir, 'runs'),
    overrides: { backend: 'wasm', epochs: 1 },
    pipeline: { cacheDir: path.join(dir, 'cache') },
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === 'afterBatch' && at === undefined) {
        at = performance.now();
        controller.abort();
      }
    },
  });
  if (at === undefined) throw new Error('the sample run ended before its first batch');
  return { fromProcessStartS: at / 1000, backendReadyS: backendAt / 1000 };
}

function childMain(work: Promise<unknown>): void {
  work.then(
    (result) => {
      process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

if (process.argv[2] === '--section') childMain(runSection(JSON.parse(process.argv[3]) as SectionPlan));
else if (process.argv[2] === '--first-batch') childMain(firstBatch(process.argv[3], Number(process.argv[4])));
else
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
