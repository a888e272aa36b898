// Benchmark of the Compare Runs panel at 50 runs × 500 epochs (issue 4: "open and re-render in well under
// a second"). Builds fixture run folders in a temp dir, then times, each as the median of several rounds:
//   1. reading them (listRuns: run.json + metrics.jsonl of every run),
//   2. the compare computations the host does (summaries, series, parameter table, freeze diff),
//   3. the panel in headless Chromium (the real bundle under the real CSP shell, via the test harness):
//      first render after `init`, and re-renders for each control (metric, x axis, smoothing, sort,
//      parameter toggle, legend toggle) and for a live update of one growing run — each measured in the page
//      from the event to the next painted frame.
// Needs `npm run build` (dist/webview/compare.js) and `npm run test:compile` (out/). Usage:
//   node scripts/bench/compareBench.mjs [--runs 50] [--epochs 500] [--rounds 5]
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = dirname(dirname(dirname(new URL(import.meta.url).pathname)));
const require = createRequire(import.meta.url);
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = arg('runs', 50);
const EPOCHS = arg('epochs', 500);
const ROUNDS = arg('rounds', 5);

for (const needed of [
  'dist/webview/compare.js',
  'out/test/webview/harness.js',
  'out/src/host/panels/compareState.js',
]) {
  if (!existsSync(join(root, needed))) {
    console.error(`${needed} is missing: run \`npm run build && npm run test:compile\` first.`);
    process.exit(1);
  }
}
const out = (p) => require(join(root, 'out', p));
const { listRuns } = out('src/core/runs/readRuns.js');
const { comparePanelState, freezePatternDiff } = out('src/host/panels/compareState.js');
const { writeManyRuns } = out('test/webview/compareFixtures.js');
const { openWebview, closeBrowser } = out('test/webview/harness.js');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(1)} ms`;
const figures = [];
const report = (what, values, note = '') => {
  figures.push({ what, median: median(values), max: Math.max(...values), note });
  console.log(
    `${what.padEnd(52)} median ${ms(median(values)).padStart(10)}   max ${ms(Math.max(...values)).padStart(10)}  ${note}`,
  );
};
const time = (fn) => {
  const started = performance.now();
  const result = fn();
  return { result, elapsed: performance.now() - started };
};

// The sample's base model, as ModelDescriber reports it (the host reads it once per model, cached).
const leaf = (path, className = 'Conv2D') => ({
  path,
  name: path.split('/').pop(),
  className,
  outputShape: [null],
  trainableParams: 1,
  nonTrainableParams: 0,
});
const TREE = [
  {
    ...leaf('features', 'Sequential'),
    children: ['conv1', 'bn1', 'pool1', 'conv2', 'bn2', 'pool2', 'conv3', 'pool3'].map((n) =>
      leaf(`features/${n}`),
    ),
  },
  leaf('flatten', 'Flatten'),
  leaf('dense_1', 'Dense'),
  leaf('dropout', 'Dropout'),
  leaf('dense_2', 'Dense'),
];

const tmp = mkdtempSync(join(tmpdir(), 'fts-compare-bench-'));
try {
  const runsDir = join(tmp, '.finetune', 'runs');
  const written = time(() => writeManyRuns(runsDir, RUNS, EPOCHS));
  console.log(`fixture: ${RUNS} runs × ${EPOCHS} epochs written in ${ms(written.elapsed)} (${tmp})\n`);

  // 1. Reading
  const reads = [];
  let runs;
  for (let i = 0; i < ROUNDS; i++) {
    const r = time(() => listRuns(runsDir));
    reads.push(r.elapsed);
    runs = r.result;
  }
  report('listRuns (read run.json + metrics.jsonl)', reads, `${runs.length} runs`);

  // 2. Compare computations
  const computes = [];
  let state;
  for (let i = 0; i < ROUNDS; i++) {
    const r = time(() => {
      const freeze = freezePatternDiff(
        runs.map((run) => ({ name: run.id, config: run.record?.config, tree: TREE })),
      );
      return comparePanelState(runs, freeze);
    });
    computes.push(r.elapsed);
    state = r.result;
  }
  report('compare state (summaries, series, params, freeze)', computes);
  const json = time(() => JSON.stringify({ type: 'init', state }));
  report(
    'serialize the init message (JSON)',
    [json.elapsed],
    `${(json.result.length / 1024 / 1024).toFixed(2)} MiB`,
  );

  // 3. The panel in Chromium
  const view = await openWebview('compare', { width: 1400, height: 1600 });
  const page = view.page;
  await page.waitForFunction(() => '__fineTuneCompare' in globalThis);

  /* global document, window, MutationObserver, requestAnimationFrame -- the function below runs in the page */
  /** In the page: run `action`, wait for the render it causes, then for the next painted frame. */
  const measure = (action, argument) =>
    page.evaluate(
      async ({ action, argument }) => {
        const root = document.getElementById('root');
        const before = Number(root.dataset.renders ?? 0);
        const rendered = new Promise((resolve, reject) => {
          setTimeout(
            () => reject(new Error(`no render within 10 s after ${action} ${JSON.stringify(argument)}`)),
            10_000,
          );
          const observer = new MutationObserver(() => {
            if (Number(root.dataset.renders) > before) {
              observer.disconnect();
              resolve();
            }
          });
          observer.observe(root, { attributes: true, attributeFilter: ['data-renders'] });
        });
        const started = performance.now();
        if (action === 'post') window.postMessage(argument, '*');
        else if (action === 'select') {
          const select = document.getElementById(argument.id);
          select.value = argument.value;
          select.dispatchEvent(new Event('change'));
        } else if (action === 'input') {
          const input = document.getElementById(argument.id);
          input.value = argument.value;
          input.dispatchEvent(new Event('input'));
        } else if (action === 'toggle') {
          const box = document.getElementById(argument);
          box.checked = !box.checked;
          box.dispatchEvent(new Event('change'));
        } else if (action === 'click') document.querySelector(argument).click();
        await rendered;
        await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
        const hook = window.__fineTuneCompare;
        return { total: performance.now() - started, render: hook.lastRenderMs, sections: hook.sectionMs };
      },
      { action, argument },
    );

  const init = { type: 'init', state };
  const opens = [];
  const renderOnly = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await measure('post', init);
    opens.push(r.total);
    renderOnly.push(r.render);
  }
  report('panel: init → first full render, painted', opens, '(all sections)');
  report('panel: of which render code', renderOnly);

  // Each group is run ROUNDS times in order, so every step is a real change (a toggle goes back and forth).
  const groups = [
    [
      ['metric → val_accuracy', 'select', { id: 'metric-select', value: 'val_accuracy' }],
      ['metric → loss', 'select', { id: 'metric-select', value: 'loss' }],
    ],
    [
      ['x axis → wall time', 'click', '.segment[data-x="time"]'],
      ['x axis → epoch', 'click', '.segment[data-x="epoch"]'],
    ],
    [
      ['smoothing → 0.9 (raw + smoothed: 2 lines per run)', 'input', { id: 'smoothing', value: '0.9' }],
      ['smoothing → off', 'input', { id: 'smoothing', value: '0' }],
    ],
    [
      ['sort by best val_acc (descending)', 'click', 'button[data-column="bestValAccuracy"]'],
      ['sort by best val_acc (ascending)', 'click', 'button[data-column="bestValAccuracy"]'],
    ],
    [
      ['all parameters', 'toggle', 'only-differences'],
      ['only differing parameters', 'toggle', 'only-differences'],
    ],
    [
      ['legend: hide a run', 'click', '#legend .legend-item'],
      ['legend: show it again', 'click', '#legend .legend-item'],
    ],
    [
      ['parallel outcome → best val_loss', 'select', { id: 'outcome-select', value: 'bestValLoss' }],
      ['parallel outcome → best val_accuracy', 'select', { id: 'outcome-select', value: 'bestValAccuracy' }],
    ],
  ];
  for (const steps of groups) {
    const values = steps.map(() => []);
    for (let i = 0; i < ROUNDS; i++) {
      for (const [j, [, action, argument]] of steps.entries()) {
        const r = await measure(action, argument);
        values[j].push(r.total);
        if (process.env.BENCH_SECTIONS) console.log(steps[j][0], JSON.stringify(r));
      }
    }
    steps.forEach(([what], j) => report(`panel re-render: ${what}`, values[j]));
  }

  // A live update: one running run gains an epoch (what the host posts per epoch).
  const grown = state.runs[0];
  const updates = [];
  for (let i = 0; i < ROUNDS; i++) {
    const series = Object.fromEntries(
      Object.entries(grown.series).map(([k, v]) => [k, [...v, v[v.length - 1]]]),
    );
    series.epoch[series.epoch.length - 1] = grown.series.epoch.length + 1 + i;
    updates.push(
      (await measure('post', { type: 'runs', runs: [{ ...grown, status: 'running', series }] })).total,
    );
  }
  report('panel: live update of one run (+1 epoch)', updates);

  if (view.problems.length > 0) console.log(`\npage problems: ${view.problems.join('\n')}`);
  await page.screenshot({ path: join(tmpdir(), 'compare-bench.png'), fullPage: false });
  await view.close();
  await closeBrowser();

  const worst = Math.max(
    ...figures
      .filter((f) => f.what.startsWith('panel re-render') || f.what.includes('live'))
      .map((f) => f.median),
  );
  const openTotal = median(reads) + median(computes) + median(opens);
  console.log(
    `\n${RUNS} runs × ${EPOCHS} epochs: open (read + compute + first render) ≈ ${ms(openTotal)}; ` +
      `slowest panel re-render (median) ${ms(worst)}. Screenshot: ${join(tmpdir(), 'compare-bench.png')}`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
