/**
 * The process boundaries as code (ARCHITECTURE.md, "Allowed imports"): the lint rules refuse each import
 * that crosses a boundary and allow the ones the folders need, and the bundle check the build runs
 * (scripts/bundleBoundaries.mjs) refuses TensorFlow.js, Dawn, sharp or engine code in the extension host
 * and Node built-ins or non-portable core modules in a webview.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { ESLint } from 'eslint';

const REPO = path.resolve(__dirname, '../../..');

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
}
interface BundleBoundaries {
  bundleProblems(kind: 'extension' | 'trainer' | 'webview', metafile: Metafile): string[];
}

// tsc compiles `import()` to `require()` for CommonJS output, which cannot load an ES module: keep it.
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** [importing file, import statement, allowed] */
const IMPORTS: [string, string, boolean][] = [
  ['src/host/x.ts', "import { a } from '../core/runs/readRuns';", true],
  ['src/host/x.ts', "import { a } from '../protocol/runRecord';", true],
  ['src/host/x.ts', "import * as vscode from 'vscode';", true],
  ['src/host/x.ts', "import { a } from '../engine/model/layerTree';", false],
  ['src/host/commands/x.ts', "import type { a } from '../../engine/runExperiment';", false],
  ['src/host/x.ts', "import * as tf from '@tensorflow/tfjs-core';", false],
  ['src/host/x.ts', "import sharp from 'sharp';", false],
  ['src/host/x.ts', "import { a } from 'webgpu';", false],
  ['src/core/runs/x.ts', "import * as fs from 'node:fs';", true],
  ['src/core/runs/x.ts', "import { a } from '../portable/lrSteps';", true],
  ['src/core/x.ts', "import * as vscode from 'vscode';", false],
  ['src/core/x.ts', "import { a } from '../engine/rng';", false],
  ['src/core/x.ts', "import { a } from '../host/extension';", false],
  ['src/core/data/x.ts', "import * as tf from '@tensorflow/tfjs-core';", false],
  ['src/core/portable/x.ts', "import { a } from './lrSchedule';", true],
  ['src/core/portable/x.ts', "import { a } from '../../protocol/runRecord';", true],
  ['src/core/portable/x.ts', "import * as fs from 'node:fs';", false],
  ['src/core/portable/x.ts', "import * as path from 'path';", false],
  ['src/core/portable/x.ts', "import { a } from '../runs/readRuns';", false],
  ['src/protocol/x.ts', "import { a } from './runRecord';", true],
  ['src/protocol/x.ts', "import { a } from '../core/userError';", false],
  ['src/protocol/x.ts', "import * as vscode from 'vscode';", false],
  ['src/protocol/x.ts', "import * as os from 'node:os';", false],
  ['src/engine/x.ts', "import { a } from '../core/userError';", true],
  ['src/engine/x.ts', "import * as tf from '@tensorflow/tfjs-core';", true],
  ['src/engine/x.ts', "import * as vscode from 'vscode';", false],
  ['src/engine/x.ts', "import { a } from '../host/extension';", false],
  ['src/cli/x.ts', "import { a } from '../engine/runExperiment';", true],
  ['src/cli/x.ts', "import * as vscode from 'vscode';", false],
  ['webview/training/x.ts', "import { a } from '../../src/core/portable/lrSteps';", true],
  ['webview/training/x.ts', "import type { a } from '../../src/protocol/webviewMessages';", true],
  ['webview/training/x.ts', "import { a } from '../shared/escape';", true],
  ['webview/training/x.ts', "import { a } from '../../src/core/runs/readRuns';", false],
  ['webview/training/x.ts', "import { a } from '../../src/engine/training/lrSuggestion';", false],
  ['webview/training/x.ts', "import { a } from '../../src/host/extension';", false],
  ['webview/training/x.ts', "import * as p from 'node:path';", false],
  ['webview/training/x.ts', "import { EventEmitter } from 'events';", false],
  ['webview/training/x.ts', "import * as vscode from 'vscode';", false],
  ['webview/training/x.ts', "import { a } from '../../src/protocol/messageGuards';", false],
  ['webview/training/x.ts', "import type { a } from '../../src/protocol/messageSchema';", true],
  // The folders sweeps, WebGPU and ONNX export added: the same rules reach them through their parents.
  ['src/core/sweep/x.ts', "import { a } from '../config/loadExperiment';", true],
  ['src/core/sweep/x.ts', "import { a } from 'jsonc-parser';", true],
  ['src/core/sweep/x.ts', "import { a } from '../../engine/sweep/stopRequest';", false],
  ['src/core/sweep/x.ts', "import * as vscode from 'vscode';", false],
  ['src/engine/sweep/x.ts', "import { a } from '../../core/sweep/sweepStore';", true],
  ['src/engine/sweep/x.ts', "import { a } from '../../host/sweeps/sweepProcess';", false],
  ['src/engine/backend/webgpu/x.ts', "import { a } from 'webgpu';", true],
  ['src/engine/backend/webgpu/x.ts', "import * as vscode from 'vscode';", false],
  ['src/engine/export/onnx/x.ts', "import * as vscode from 'vscode';", false],
  ['src/host/sweeps/x.ts', "import { a } from '../../core/sweep/sweepStore';", true],
  ['src/host/sweeps/x.ts', "import { a } from '../../engine/sweep/startSweep';", false],
  ['src/host/x.ts', "import { a } from '../engine/export/onnx/convertModel';", false],
  ['webview/compare/x.ts', "import type { a } from '../../src/protocol/sweepConfig';", true],
  ['webview/compare/x.ts', "import { a } from '../../src/core/sweep/trialOutcome';", false],
];

describe('import boundaries: lint rules', () => {
  const eslint = new ESLint({ cwd: REPO });
  for (const [file, statement, allowed] of IMPORTS) {
    it(`${allowed ? 'allows' : 'refuses'} in ${file}: ${statement}`, async () => {
      const [result] = await eslint.lintText(`${statement}\nexport const b = a;\n`, {
        filePath: path.join(REPO, file),
      });
      const refusals = result.messages.filter((m) => m.ruleId === 'no-restricted-imports');
      if (allowed) assert.deepEqual(refusals, []);
      else assert.equal(refusals.length, 1, `expected a refusal, got ${JSON.stringify(result.messages)}`);
    });
  }
});

describe('import boundaries: bundle check', () => {
  let boundaries: BundleBoundaries;
  before(async () => {
    boundaries = (await importEsm(
      pathToFileURL(path.join(REPO, 'scripts/bundleBoundaries.mjs')).href,
    )) as BundleBoundaries;
  });
  const meta = (inputs: string[], externals: string[] = []): Metafile => ({
    inputs: Object.fromEntries(inputs.map((p) => [p, {}])),
    outputs: { 'out.js': { imports: externals.map((p) => ({ path: p, external: true })) } },
  });

  it('accepts bundles that keep to their side', () => {
    const host = meta(
      ['src/host/extension.ts', 'src/core/runs/readRuns.ts', 'node_modules/ajv/dist/ajv.js'],
      ['vscode', 'node:fs', 'child_process'],
    );
    assert.deepEqual(boundaries.bundleProblems('extension', host), []);
    const webview = meta([
      'webview/training/main.ts',
      'src/core/portable/lrSteps.ts',
      'node_modules/chart.js/dist/chart.js',
    ]);
    assert.deepEqual(boundaries.bundleProblems('webview', webview), []);
    const trainer = meta(
      ['src/engine/trainerMain.ts', 'node_modules/@tensorflow/tfjs-core/dist/index.js'],
      ['sharp'],
    );
    assert.deepEqual(boundaries.bundleProblems('trainer', trainer), []);
  });

  it('refuses TensorFlow.js, Dawn, sharp and engine code in the extension host', () => {
    const cases: Metafile[] = [
      meta(['node_modules/@tensorflow/tfjs-core/dist/index.js']),
      meta([], ['@tensorflow/tfjs-node']),
      meta(['node_modules/webgpu/index.js']),
      meta([], ['webgpu']),
      meta([], ['sharp']),
      meta(['src/engine/model/layerTree.ts']),
      meta(['src/engine/sweep/startSweep.ts']),
      meta(['src/engine/backend/webgpu/dawn.ts']),
    ];
    for (const metafile of cases) {
      assert.equal(boundaries.bundleProblems('extension', metafile).length, 1, JSON.stringify(metafile));
    }
  });

  it('refuses Node built-ins, host code and non-portable core modules in a webview', () => {
    const cases: Metafile[] = [
      meta([], ['node:fs']),
      meta([], ['path']),
      meta(['node_modules/punycode/punycode.js']),
      meta(['src/host/panels/webviewHtml.ts']),
      meta(['src/core/runs/readRuns.ts']),
      meta(['src/protocol/messageGuards.ts']),
      meta(['node_modules/@tensorflow/tfjs-core/dist/index.js']),
    ];
    for (const metafile of cases) {
      assert.equal(boundaries.bundleProblems('webview', metafile).length, 1, JSON.stringify(metafile));
    }
  });

  it('refuses vscode in the trainer, the CLI and the decode worker', () => {
    assert.equal(boundaries.bundleProblems('trainer', meta([], ['vscode'])).length, 1);
  });

  it('sees TensorFlow.js that a host import pulls in through the engine', async () => {
    const result = await esbuild.build({
      stdin: {
        contents: "export { describeModelFile } from '../engine/model/layerTree';",
        resolveDir: path.join(REPO, 'src/host'),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      logLevel: 'silent',
      external: ['sharp', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
      absWorkingDir: REPO,
    });
    const problems = boundaries.bundleProblems('extension', result.metafile as Metafile);
    assert.ok(
      problems.some((p) => p.startsWith('includes TensorFlow.js')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('includes src/engine')),
      problems.join('\n'),
    );
  });
});
