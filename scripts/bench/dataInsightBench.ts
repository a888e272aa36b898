/**
 * `npm run bench -- --data`: the data-insight figures.
 *
 * 1. `finetune label-issues` (the built CLI, a fresh process, wall time) on ~1,000 generated 32×32 digit
 *    images (the sample's generator, `--per-class N`, default 200), 2% of them moved to a wrong class
 *    folder first (seeded), 5 folds: with the sample's backbone frozen up to the cut (features/pool3: the
 *    folds train the head on cached features), cold (the activation cache computed) and warm (reused) —
 *    target ≤ 20 s on 2 cores —, and with the sample's own setting (conv1–pool2 frozen: every fold also
 *    fine-tunes conv3). Each says how many planted errors its first entries list with the right suggestion.
 * 2. The Data tab's gallery full (100 label issues, 50 top losses, 50 duplicate pairs: 200 cards, 250
 *    thumbnails made by the trainer's thumbnail code from those images) in headless Chromium under the
 *    real CSP shell: from the report message to every thumbnail decoded and the next frame drawn. The
 *    cards' scores are a fixture (this times the rendering, not an analysis). Target: ≤ 1 s.
 *
 * Bundled to dist/dataInsightBench.js by run.mjs, which sets FINETUNE_WEBVIEW_DIST for the page harness.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { createRng, shuffled } from '../../src/core/rng';
import { thumbnails } from '../../src/engine/insight/thumbnails';
import type { DataInsightReport, LabelIssue } from '../../src/protocol/dataInsight';
import type { TrainingPanelState } from '../../src/protocol/webviewMessages';
import { closeBrowser, openWebview } from '../../test/webview/harness';

const root = path.dirname(__dirname);
const cli = path.join(root, 'dist', 'cli.js');
const sample = path.join(root, 'samples', 'digits');
const CLASSES = ['zero', 'one', 'two', 'three', 'four'];

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const perClass = numberArg('--per-class', 200);
const galleryRounds = numberArg('--repeat', 5);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-data-bench-'));

/** The sample's experiment with its dataset and base model at absolute paths, frozen up to `freezeUpTo`. */
function writeExperiment(name: string, dataDir: string, freezeUpTo: string): string {
  const config = parseJsonc(
    fs.readFileSync(path.join(sample, 'digits-frozen-conv.finetune.json'), 'utf8'),
  ) as Record<string, Record<string, unknown>>;
  config.baseModel = path.join(sample, 'models/base/model.json') as never;
  config.freezeUpTo = freezeUpTo as never;
  config.dataset = { ...config.dataset, path: dataDir };
  const file = path.join(work, `${name}.finetune.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Moves `count` images to another class folder (seeded); returns where each went and its true class. */
function plantLabelErrors(dataDir: string, count: number): { file: string; truth: string }[] {
  const rng = createRng('data-bench:1');
  const planted: { file: string; truth: string }[] = [];
  for (let i = 0; i < count; i++) {
    const from = CLASSES[i % CLASSES.length];
    const files = fs.readdirSync(path.join(dataDir, from)).filter((f) => f.startsWith(from));
    const file = shuffled(files.sort(), rng)[0];
    const others = CLASSES.filter((c) => c !== from);
    const to = others[rng.int(others.length)];
    fs.renameSync(path.join(dataDir, from, file), path.join(dataDir, to, file));
    planted.push({ file: `${to}/${file}`, truth: from });
  }
  return planted;
}

interface CliReport {
  issues: LabelIssue[];
  images: { train: number; val: number };
  mode: string;
  backend: string;
  seconds: number;
  outOfSampleAccuracy: number;
}

function labelIssues(experiment: string, top: number): Promise<{ wall: number; report: CliReport }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        cli,
        'label-issues',
        experiment,
        '--json',
        '--top',
        String(top),
        '--runs-dir',
        path.join(work, 'runs'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`finetune label-issues exited with ${code}`));
      else resolve({ wall, report: JSON.parse(out) as CliReport });
    });
  });
}

function loadAverage(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

/** The gallery at its limits, from `files` (250 of them) and their thumbnails. */
function galleryReport(files: string[], thumbs: Record<string, string>): DataInsightReport {
  const labelOf = (file: string): string => file.split('/')[0];
  const other = (label: string): string => CLASSES[(CLASSES.indexOf(label) + 1) % CLASSES.length];
  const issues: LabelIssue[] = files.slice(0, 100).map((file, i) => ({
    file,
    label: labelOf(file),
    suggested: other(labelOf(file)),
    score: 1 - i / 200,
    selfConfidence: i / 200,
    suggestedProbability: 1 - i / 200,
    split: i % 5 === 0 ? 'val' : 'train',
    confident: i < 20,
  }));
  const topLosses = files.slice(100, 150).map((file, i) => ({
    file,
    label: labelOf(file),
    predicted: other(labelOf(file)),
    probability: 0.9 - i / 100,
    labelProbability: 0.05,
    loss: 3 - i / 50,
  }));
  const duplicates = Array.from({ length: 50 }, (_, i) => {
    const [train, val] = [files[150 + 2 * i], files[151 + 2 * i]];
    return {
      train,
      trainLabel: labelOf(train),
      val,
      valLabel: labelOf(val),
      similarity: 0.99,
      identical: false,
    };
  });
  return {
    experimentName: 'bench',
    datasetPath: path.join(work, 'data'),
    layout: 'flat',
    datasetFingerprint: 'bench',
    classNames: [...CLASSES].sort(),
    images: { train: 800, val: 200, skipped: 0 },
    folds: 5,
    rankBy: 'self_confidence',
    mode: 'cached activations',
    outOfSampleAccuracy: 0.9,
    thresholds: CLASSES.map(() => 0.9),
    estimatedIssues: 20,
    issues,
    duplicates,
    duplicateThreshold: 0.985,
    topLosses,
    runId: 'bench-run',
    thumbnails: thumbs,
    backend: 'wasm',
    seconds: 0,
    notes: [],
  };
}

const runState: TrainingPanelState = {
  runId: 'bench-run',
  name: 'bench',
  status: 'completed',
  backend: 'wasm',
  classNames: [...CLASSES].sort(),
  epochsPlanned: 1,
  metrics: [],
  batches: [],
};

/** ms from the report message to every thumbnail decoded and the following frame drawn, in the page. */
async function openGallery(report: DataInsightReport, thumbnailCount: number): Promise<number> {
  const view = await openWebview('training', { width: 1200, height: 900 });
  try {
    await view.send({ type: 'init', state: runState });
    await view.send({ type: 'showTab', tab: 'data' });
    const ms = await view.page.evaluate(
      async ({ message, expected }) => {
        const w = globalThis as unknown as {
          dispatchEvent(e: unknown): void;
          MessageEvent: new (t: string, i: object) => unknown;
          requestAnimationFrame(callback: () => void): void;
          performance: { now(): number };
          document: {
            querySelectorAll(s: string): Iterable<{ complete: boolean; naturalWidth: number }>;
          };
        };
        const frame = (): Promise<void> => new Promise((resolve) => w.requestAnimationFrame(resolve));
        const started = w.performance.now();
        w.dispatchEvent(new w.MessageEvent('message', { data: message }));
        for (;;) {
          await frame();
          const images = [...w.document.querySelectorAll('#data-tab img.thumb')];
          if (images.length >= expected && images.every((i) => i.complete && i.naturalWidth > 0)) break;
        }
        await frame();
        return w.performance.now() - started;
      },
      { message: { type: 'dataReport', report, reviewed: 0 }, expected: thumbnailCount },
    );
    const cards = await view.page.locator('#data-tab .data-card').count();
    if (cards !== 200) throw new Error(`the gallery shows ${cards} cards, not 200`);
    return ms;
  } finally {
    await view.close();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(cli)) throw new Error('run `node scripts/build.mjs` first (npm run bench does)');
  const dataDir = path.join(work, 'data');
  console.log(`data-insight bench in ${work}; load average ${loadAverage()}`);
  const made = spawnSync(
    process.execPath,
    [
      path.join(root, 'scripts/sample/digits.mjs'),
      '--perClass',
      String(perClass),
      '--seed',
      '7',
      '--out',
      dataDir,
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`generating the images failed: ${made.stderr}`);
  const total = perClass * CLASSES.length;
  const planted = plantLabelErrors(dataDir, Math.round(total * 0.02));
  const frozen = writeExperiment('frozen-backbone', dataDir, 'features/pool3');
  const sampleSetting = writeExperiment('sample-setting', dataDir, 'features/pool2');
  const top = planted.length * 2;

  const results: string[] = [];
  for (const [experiment, pass] of [
    [frozen, 'backbone frozen to the cut, cold (activation cache computed)'],
    [frozen, 'backbone frozen to the cut, warm (activation cache reused)'],
    [sampleSetting, 'the sample’s setting (conv3 fine-tuned in every fold), cache reused'],
  ]) {
    if (pass.startsWith('the sample')) await labelIssues(experiment, top); // computes its cache
    const { wall, report } = await labelIssues(experiment, top);
    const found = planted.filter((p) =>
      report.issues.some((i) => i.file === p.file && i.suggested === p.truth),
    ).length;
    results.push(
      `label-issues, ${report.images.train + report.images.val} images 32×32, 5 folds, ${report.mode}, ${report.backend}, ${pass}: ` +
        `${wall.toFixed(1)} s wall (analysis ${report.seconds.toFixed(1)} s${pass.startsWith('backbone') ? '; target ≤ 20 s' : ''}); ` +
        `out-of-sample accuracy ${(report.outOfSampleAccuracy * 100).toFixed(1)}%; ` +
        `${found} of ${planted.length} planted label errors in the first ${top} with the right suggestion`,
    );
    console.log(results.at(-1));
  }

  const files = shuffled(
    CLASSES.flatMap((c) => fs.readdirSync(path.join(dataDir, c)).map((f) => `${c}/${f}`)).sort(),
    createRng('data-bench:gallery'),
  ).slice(0, 250);
  const thumbStarted = performance.now();
  const thumbs = await thumbnails(files.map((file) => ({ file, abs: path.join(dataDir, file) })));
  const thumbSeconds = (performance.now() - thumbStarted) / 1000;
  const report = galleryReport(files, thumbs);
  const bytes = Object.values(thumbs).reduce((n, url) => n + url.length, 0);
  const times: number[] = [];
  for (let round = 0; round < galleryRounds; round++) times.push(await openGallery(report, files.length));
  await closeBrowser();
  const sorted = [...times].sort((a, b) => a - b);
  results.push(
    `thumbnails: 250 made in ${thumbSeconds.toFixed(2)} s (${Math.round(bytes / 1024)} KB as data: URLs)`,
    `gallery of 200 cards / 250 thumbnails in headless Chromium, report message to drawn: ` +
      `median ${Math.round(sorted[Math.floor(sorted.length / 2)])} ms, best ${Math.round(sorted[0])} ms, ` +
      `worst ${Math.round(sorted.at(-1)!)} ms over ${times.length} fresh pages (target ≤ 1000 ms)`,
  );
  console.log(results.slice(-2).join('\n'));
  console.log(`load average after: ${loadAverage()}`);
  if (!process.argv.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
