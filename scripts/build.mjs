// Bundles the three entry points with esbuild and copies the runtime assets next to them:
//   dist/extension.js  VS Code extension host (no TensorFlow.js, Dawn, sharp or src/engine — checked below)
//   dist/trainer.js    trainer child process
//   dist/cli.js        the `finetune` CLI
//   dist/decodeWorker.js  image decoding worker thread of the trainer and the CLI (loaded from __dirname)
//   dist/gpuProbe.js   child process that probes the WebGPU adapters (Dawn) for the trainer and the CLI
//   dist/kernelWorker.js  the kernel pool's worker threads of the wasm backend (loaded from __dirname)
//   dist/wasm/         the wasm backend's binaries (loaded from disk, never fetched)
//   src/**/<name>Wasm.ts  hand-written WebAssembly assembled from <name>.wat (scripts/assembleWat.mjs)
//   schemas/finetune.schema.json  the experiment-file schema contributed to VS Code
//   schemas/sweep.schema.json     the sweep-file schema, likewise
//   src/core/config/precompiledValidators.ts  both schemas' validators as code (scripts/precompileValidators.mjs)
import * as esbuild from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { assembleWat } from './assembleWat.mjs';
import { precompileValidators } from './precompileValidators.mjs';
import { checkBundle } from './bundleBoundaries.mjs';

const require = createRequire(import.meta.url);
const root = dirname(dirname(new URL(import.meta.url).pathname));
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // Native or optional packages are resolved at run time from node_modules.
  // Dawn's bindings (webgpu) are a native module too.
  external: ['vscode', 'sharp', 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  absWorkingDir: root,
  // jsonc-parser's default (UMD) build requires its own files at run time; its ESM build bundles cleanly.
  mainFields: ['module', 'main'],
};

const entries = {
  extension: 'src/host/extension.ts',
  trainer: 'src/engine/trainerMain.ts',
  cli: 'src/cli/main.ts',
  decodeWorker: 'src/engine/data/decodeWorker.ts',
  gpuProbe: 'src/engine/backend/webgpu/gpuProbe.ts',
  kernelWorker: 'src/engine/backend/wasmThreads/kernelWorker.ts',
};

// Hand-written WebAssembly kernels (.wat) → TypeScript modules holding the binary, before bundling.
await assembleWat();

// The JSON schemas live in the protocol modules (one source of truth); VS Code needs them as files.
async function schemaFrom(entry, exportName) {
  const bundle = await esbuild.build({
    ...common,
    entryPoints: [entry],
    write: false,
    sourcemap: false,
    minify: false,
  });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', bundle.outputFiles[0].text)(module, module.exports, require);
  return module.exports[exportName];
}
const experimentSchema = await schemaFrom('src/protocol/experimentSchema.ts', 'EXPERIMENT_SCHEMA');
const sweepSchema = await schemaFrom('src/protocol/sweepSchema.ts', 'SWEEP_SCHEMA');
mkdirSync(join(root, 'schemas'), { recursive: true });
writeFileSync(
  join(root, 'schemas', 'finetune.schema.json'),
  `${JSON.stringify(experimentSchema, null, 2)}\n`,
);
writeFileSync(join(root, 'schemas', 'sweep.schema.json'), `${JSON.stringify(sweepSchema, null, 2)}\n`);
// Their validators as code, so that no process compiles them at start-up (precompileValidators.mjs).
precompileValidators(root, { experiment: experimentSchema, sweep: sweepSchema });

mkdirSync(join(root, 'dist'), { recursive: true });
for (const [name, entry] of Object.entries(entries)) {
  const result = await esbuild.build({
    ...common,
    entryPoints: [entry],
    outfile: `dist/${name}.js`,
    metafile: true,
  });
  checkBundle(`dist/${name}.js`, name === 'extension' ? 'extension' : 'trainer', result.metafile);
}

// Webviews: one browser bundle per panel (webview/<panel>/main.ts → dist/webview/<panel>.js, plus
// <panel>.css when the panel imports CSS), and the codicon font they use, all loaded from local files.
// Each bundle is checked: no TensorFlow.js, Dawn, sharp, engine or host code, no Node built-ins.
mkdirSync(join(root, 'dist', 'webview'), { recursive: true });
for (const panel of ['training', 'experiment', 'compare', 'lrFinder']) {
  const entry = join(root, 'webview', panel, 'main.ts');
  if (!existsSync(entry)) continue;
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile: `dist/webview/${panel}.js`,
    metafile: true,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    absWorkingDir: root,
  });
  checkBundle(`dist/webview/${panel}.js`, 'webview', result.metafile);
}
const codicons = dirname(require.resolve('@vscode/codicons/dist/codicon.css'));
for (const file of ['codicon.css', 'codicon.ttf'])
  cpSync(join(codicons, file), join(root, 'dist', 'webview', file));

const wasmSrc = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
mkdirSync(join(root, 'dist', 'wasm'), { recursive: true });
for (const file of readdirSync(wasmSrc).filter((f) => f.endsWith('.wasm'))) {
  cpSync(join(wasmSrc, file), join(root, 'dist', 'wasm', file));
}

console.log(
  'built dist/extension.js, dist/trainer.js, dist/cli.js, dist/wasm/, schemas/finetune.schema.json, schemas/sweep.schema.json',
);
