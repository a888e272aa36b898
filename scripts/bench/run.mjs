// `npm run bench` (after `node scripts/build.mjs`, which builds dist/decodeWorker.js and dist/wasm/):
// bundles scripts/bench/bench.ts to dist/bench.js — beside the worker and the wasm binaries it loads
// from __dirname — and runs it. `npm run bench -- --profile [--backend wasm] [--steps 5] [--unfused]`
// instead times every kernel of a MobileNet-like training step (profileKernels.ts); `npm run bench -- --onnx`
// times the ONNX export and compares model.onnx's size with the weights (onnxExport.ts);
// `-- --sweep` runs the sweep bench (parallel trials and ASHA on the sample, sweepBench.mjs);
// `-- --data` the data-insight bench (label-issues on ~1,000 images, the Data tab's gallery in Chromium,
// dataInsightBench.ts).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';

const root = dirname(dirname(dirname(new URL(import.meta.url).pathname)));
// `--sweep`: the sweep bench (scripts/bench/sweepBench.mjs) drives the built CLI, nothing to bundle.
if (process.argv.includes('--sweep')) {
  const sweep = spawnSync(process.execPath, [join(root, 'scripts', 'bench', 'sweepBench.mjs'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(sweep.status ?? 1);
}
const name = process.argv.includes('--profile')
  ? 'profileKernels'
  : process.argv.includes('--onnx')
    ? 'onnxExport'
    : process.argv.includes('--data')
      ? 'dataInsightBench'
      : 'bench';
await esbuild.build({
  entryPoints: [join(root, 'scripts', 'bench', `${name}.ts`)],
  outfile: join(root, 'dist', `${name}.js`),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  external: ['sharp', 'webgpu', 'playwright-core', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  mainFields: ['module', 'main'],
});
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', join(root, 'dist', `${name}.js`), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    // The data bench renders the built webviews with the tests' page harness (test/webview/harness.ts).
    env: { ...process.env, FINETUNE_WEBVIEW_DIST: join(root, 'dist', 'webview') },
  },
);
process.exit(result.status ?? 1);
