// `npm run bench -- --sweep`: an 8-trial random sweep of the bundled sample (digits-frozen-conv, 15
// epochs, early stopping as the experiment sets it), run through the real CLI (`dist/cli.js sweep`) four
// ways in one go, so the figures are ratios measured under the same load:
//   A parallel 1, no ASHA · B parallel 2, no ASHA · C parallel 2, ASHA · D parallel 1, ASHA
// Reports wall time B/A (target ≤ 0.6), epochs trained C/B and D/A (target ≤ 0.5), whether ASHA found the
// same best trial, and the load average before and after. `--trials N`, `--keep` (leave the folders).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.dirname(path.dirname(path.dirname(new URL(import.meta.url).pathname)));
const cli = path.join(root, 'dist', 'cli.js');
const experiment = path.join(root, 'samples', 'digits', 'digits-frozen-conv.finetune.json');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const trials = arg('--trials', 8);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-sweep-bench-'));

function sweepFile(name, parallel, asha) {
  const file = path.join(work, `${name}.sweep.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        name,
        experiment,
        method: 'random',
        metric: { name: 'val_accuracy', goal: 'maximize' },
        parameters: {
          'training.learningRate': { min: 0.0001, max: 0.01, distribution: 'log_uniform' },
          'head.dropout': { values: [0.1, 0.3, 0.5] },
          'regularization.l2': { min: 0.00001, max: 0.001, distribution: 'log_uniform' },
        },
        maxTrials: trials,
        parallel,
        seed: 1,
        ...(asha ? { earlyTermination: { type: 'asha', minEpochs: 2, reductionFactor: 3 } } : {}),
      },
      null,
      2,
    ),
  );
  return file;
}

function run(name, parallel, asha) {
  const file = sweepFile(name, parallel, asha);
  const runsDir = path.join(work, name, 'runs');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'sweep', file, '--runs-dir', runsDir, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('close', (code) => {
      const wall = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${name}: finetune sweep exited with ${code}`));
      const end = out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .find((event) => event.type === 'sweepEnd');
      const state = end.state;
      const epochs = state.trials.reduce((sum, t) => sum + (t.epochsCompleted ?? 0), 0);
      resolve({ name, parallel, asha, wall, epochs, state });
    });
  });
}

const load = () => os.loadavg().map((v) => v.toFixed(2)).join(' / ');
console.log(`sweep bench: ${trials} trials of the sample, ${os.cpus().length} cores, load average (1/5/15 min) ${load()}`);
const results = [];
for (const [name, parallel, asha] of [
  ['A-p1', 1, false],
  ['B-p2', 2, false],
  ['C-p2-asha', 2, true],
  ['D-p1-asha', 1, true],
]) {
  const result = await run(name, parallel, asha);
  results.push(result);
  const c = result.state.counts;
  console.log(
    `  ${name.padEnd(10)} parallel ${parallel}${asha ? ', ASHA' : '      '}  wall ${result.wall.toFixed(1).padStart(6)} s  epochs ${String(result.epochs).padStart(4)}  ` +
      `best trial ${result.state.best?.trial} (val_accuracy ${result.state.best?.score.toFixed(4)})  ` +
      `${c.completed} completed, ${c.pruned} stopped by ASHA, ${c.failed + c.crashed} failed`,
  );
  console.log(
    `             per trial (val_accuracy, epochs): ${result.state.trials
      .map((t) => `#${t.trial} ${t.score?.toFixed(3) ?? '—'}/${t.epochsCompleted ?? 0}${t.state === 'pruned' ? '✂' : ''}`)
      .join('  ')}`,
  );
}
const [a, b, c, d] = results;
// Ties are common on the sample's 60 validation images: the best trial is the first of those with the top score.
const tied = (r) => r.state.trials.filter((t) => t.score === r.state.best?.score).map((t) => t.trial);
const same = (x, y) =>
  x.state.best?.trial === y.state.best?.trial
    ? `yes (trial ${x.state.best?.trial}, ${x.state.best?.score.toFixed(4)})`
    : `no: trial ${x.state.best?.trial} (${x.state.best?.score.toFixed(4)}) vs trial ${y.state.best?.trial} (${y.state.best?.score.toFixed(4)}); ` +
      `trials at the top score with ASHA: ${tied(x).join(', ')}, without: ${tied(y).join(', ')}`;
console.log(`wall time parallel 2 / parallel 1: ${(b.wall / a.wall).toFixed(2)} (target ≤ 0.6)`);
console.log(`epochs with ASHA / without, parallel 2: ${(c.epochs / b.epochs).toFixed(2)}; parallel 1: ${(d.epochs / a.epochs).toFixed(2)} (target ≤ 0.5)`);
console.log(`same best trial with ASHA — parallel 2: ${same(c, b)}; parallel 1: ${same(d, a)}`);
console.log(`wall time with ASHA / without, parallel 2: ${(c.wall / b.wall).toFixed(2)}`);
console.log(`load average after: ${load()}`);
if (!process.argv.includes('--keep')) fs.rmSync(work, { recursive: true, force: true });
else console.log(`folders kept in ${work}`);
