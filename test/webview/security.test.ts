/**
 * Webview and view security (issue 6, point 5):
 * - every panel gets the strict CSP shell with a fresh nonce and resources only from dist/webview;
 * - every message from a webview goes through its guard (fuzzed in test/unit/messageGuards.test.ts), and
 *   what a guard lets through still cannot make the host open a file outside the run's validation set;
 * - a dataset whose class folders are HTML, an experiment name and layer references that are HTML, and a
 *   model whose layer name is a `<script>` tag are trained / read by the real engine and host code, and the
 *   real training and experiment panels render the result in headless Chromium without running anything;
 * - tree views put file-derived text into tooltips only as escaped text (MarkdownString.appendText).
 * Needs `node scripts/build.mjs` (dist/webview and dist/trainer.js).
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/engine/backend/selectBackend';
import { readRun } from '../../src/core/runs/readRuns';
import { runExperiment } from '../../src/engine/runExperiment';
import { ExperimentService } from '../../src/host/experiments/experimentService';
import { ModelDescriber } from '../../src/host/modelDescriber';
import { stateFromDisk, TrainingPanel } from '../../src/host/panels/trainingPanel';
import { renderWebviewHtml } from '../../src/host/panels/webviewHtml';
import { WebviewPanelHost } from '../../src/host/panels/webviewPanelHost';
import { LayerItem } from '../../src/host/views/layersView';
import { RunItem } from '../../src/host/views/runItem';
import type { RunRecord, RunSummary } from '../../src/protocol/runRecord';
import { isTrainingPanelToHost } from '../../src/protocol/messageGuards';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn, tempDir } from '../helpers/fixtureModels';
import * as vscode from '../helpers/fakeVscodeApi';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

const REPO = path.resolve(__dirname, '../../..');
const TRAINER = path.join(REPO, 'dist/trainer.js');

// Folder names cannot hold '/', so the class-folder payloads are tags that run without a closing tag.
const CLASS_IMG = '<img src=x onerror=alert(1)>';
const CLASS_SVG = '<svg onload=alert(2)>';
const RUN_NAME = '<script>alert(3)</script>';
const LAYER_REF = '<img src=x onerror=alert(4)>';
const LAYER_SCRIPT = '<script>alert(5)</script>';
const HOSTILE = [CLASS_IMG, CLASS_SVG, RUN_NAME, LAYER_REF, LAYER_SCRIPT];

// ───────────────────────── CSP shell and panel host ─────────────────────────

function cspOf(html: string): Map<string, string[]> {
  const content = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1];
  assert.ok(content, 'the page has a CSP meta tag');
  return new Map(
    content.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as [string, string[]];
    }),
  );
}

function assertStrictCsp(html: string, cspSource: string): string {
  const csp = cspOf(html);
  assert.deepEqual(csp.get('default-src'), ["'none'"]);
  const scripts = csp.get('script-src') ?? [];
  assert.equal(scripts.length, 1, `script-src is the nonce alone: ${scripts.join(' ')}`);
  const nonce = /^'nonce-([A-Za-z0-9_-]{16,})'$/.exec(scripts[0])?.[1];
  assert.ok(nonce, 'script-src is a nonce of at least 16 characters');
  assert.ok(!html.includes('unsafe-eval'), 'no unsafe-eval anywhere');
  assert.ok(!html.includes('unsafe-inline'), 'no unsafe-inline anywhere: styles come from the bundle only');
  assert.deepEqual(csp.get('style-src'), [cspSource], 'stylesheets only from the bundle');
  for (const [directive, values] of csp) {
    assert.ok(
      values.every((v) => v === cspSource || v.startsWith("'") || v === 'data:'),
      `${directive} allows only the bundle's origin: ${values.join(' ')}`,
    );
  }
  const scriptTags = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scriptTags.length, 1, 'one script tag');
  assert.match(scriptTags[0][1], new RegExp(`nonce="${nonce}"`));
  assert.equal(scriptTags[0][2].trim(), '', 'no inline script body');
  assert.doesNotMatch(html, /\son\w+=/i, 'no inline event handler attributes');
  return nonce;
}

describe('CSP shell and panel host', () => {
  it('the shell is strict and the nonce is fresh on every render', () => {
    const options = {
      title: `x ${RUN_NAME}`,
      cspSource: 'https://a.example',
      scriptUri: 'https://a.example/t.js',
      styleUris: ['https://a.example/codicon.css'],
    };
    const nonces = new Set(
      Array.from({ length: 20 }, () => assertStrictCsp(renderWebviewHtml(options), 'https://a.example')),
    );
    assert.equal(nonces.size, 20);
    assert.ok(!renderWebviewHtml(options).includes(RUN_NAME), 'the title is escaped');
  });

  it('every panel is created with the shared options: scripts on, resources only from dist/webview', () => {
    const hostDir = path.join(REPO, 'src/host');
    const sources = fs
      .readdirSync(hostDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => ({ file: f, text: fs.readFileSync(path.join(hostDir, f), 'utf8') }));
    const creations = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/createWebviewPanel\(([\s\S]*?)\);/g)].map((m) => ({ file, args: m[1] })),
    );
    assert.ok(creations.length >= 2, 'the training and experiment panels (and any other) are found');
    for (const { file, args } of creations) {
      assert.match(args, /webviewOptions\(/, `${file} passes webviewOptions()`);
      assert.doesNotMatch(args, /localResourceRoots|enableCommandUris/, `${file} does not widen them`);
    }
    const htmlSetters = sources.filter(({ text }) => /\.html\s*=/.test(text)).map(({ file }) => file);
    assert.deepEqual(htmlSetters, [path.join('panels', 'webviewPanelHost.ts')], 'one place sets HTML');
  });

  it('the panel host: strict HTML with its own nonce per panel, dist/webview only, guarded messages', async () => {
    const extensionUri = vscode.Uri.file('/ext');
    const received: unknown[] = [];
    const nonces: string[] = [];
    for (const bundle of ['training', 'experiment', 'compare']) {
      const panel = vscode.createFakePanel(`fineTune.${bundle}`, bundle);
      new WebviewPanelHost({
        panel: panel as never,
        extensionUri: extensionUri as never,
        bundle,
        title: bundle,
        isMessage: isTrainingPanelToHost,
        onMessage: (m) => void received.push(m),
        onReady: () => {},
      });
      const options = panel.webview.options as { enableScripts: boolean; localResourceRoots: vscode.Uri[] };
      assert.equal(options.enableScripts, true);
      assert.deepEqual(
        options.localResourceRoots.map((u) => u.fsPath),
        [path.resolve('/ext/dist/webview')],
      );
      nonces.push(assertStrictCsp(panel.webview.html, panel.webview.cspSource));
      assert.match(panel.webview.html, new RegExp(`/ext/dist/webview/${bundle}\\.js`));
      if (bundle === 'training') {
        for (const junk of [
          null,
          'ready',
          { type: 'openImage', file: 7 },
          { type: 'showCell', trueIndex: -1 },
        ])
          await panel.deliver(junk);
        assert.deepEqual(received, [], 'malformed messages never reach the handler');
        await panel.deliver({ type: 'stopRun' });
        assert.deepEqual(received, [{ type: 'stopRun' }]);
      }
    }
    assert.equal(new Set(nonces).size, 3);
  });
});

// The guards under fuzzing, with cases derived from the message descriptions: test/unit/messageGuards.test.ts.

// ───────────────────────── Hostile names through the real engine ─────────────────────────

let root: string;
let runDir: string;
let badModel: string;

async function hostileFixture(): Promise<void> {
  root = tempDir('security');
  await saveNestedCnn(path.join(root, 'base'), 16, 2);
  const data = path.join(root, 'data');
  await makeDataset(data, 2, 8, 16);
  fs.renameSync(path.join(data, 'class_a'), path.join(data, CLASS_IMG));
  fs.renameSync(path.join(data, 'class_b'), path.join(data, CLASS_SVG));
  const file = writeExperiment(root, 'hostile', {
    baseModel: 'base/model.json',
    dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.5 },
    head: { cutAt: 'flatten' },
    training: { epochs: 2, batchSize: 4, backend: 'cpu' },
  });
  // The run's name comes from the experiment's "name"; written after writeExperiment, which sets it.
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...doc, name: RUN_NAME }));
  const outcome = await runExperiment({
    experimentPath: file,
    runsDir: path.join(root, 'runs'),
    onEvent: () => {},
  });
  assert.equal(outcome.status, 'completed');
  runDir = outcome.runDir;

  // A model.json (as a cloned repository could hold) whose layer is named with a script tag.
  const modelDir = path.join(root, 'bad-model');
  fs.mkdirSync(modelDir);
  for (const f of fs.readdirSync(path.join(root, 'base'))) {
    const text = fs.readFileSync(path.join(root, 'base', f));
    fs.writeFileSync(
      path.join(modelDir, f),
      f === 'model.json' ? text.toString('utf8').replaceAll('"dense_1', `"${LAYER_SCRIPT}`) : text,
    );
  }
  badModel = path.join(modelDir, 'model.json');
}

async function assertNothingRan(view: WebviewPage): Promise<void> {
  await view.page.waitForTimeout(150); // an injected <img>/<svg> would have fired by now
  const injected = await view.page.evaluate(
    () =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], script:not([nonce])')
        .length,
  );
  assert.equal(injected, 0, 'no element was injected');
  assert.deepEqual(view.dialogs, [], 'no dialog opened');
  assert.deepEqual(view.problems, [], 'no page error or CSP violation');
}

describe('hostile names from files, rendered by the real panels', () => {
  before(async () => {
    assert.ok(fs.existsSync(TRAINER), 'run `npm run build` first (npm test does)');
    await initBackend('cpu');
    await hostileFixture();
  });
  after(closeBrowser);

  it('the training panel shows HTML class folders, run name and file names as text', async () => {
    const state = await stateFromDisk(runDir);
    assert.deepEqual(state.classNames, [CLASS_IMG, CLASS_SVG]);
    assert.equal(state.name, RUN_NAME);
    const summary = state.summary as RunSummary;
    assert.ok(summary.predictions.every((p) => p.file.startsWith('<')));
    const view = await openWebview('training');
    try {
      await view.send({ type: 'init', state });
      await view.page.locator('#confusion-matrix').waitFor();
      const text = await view.page.locator('body').innerText();
      for (const name of [CLASS_IMG, CLASS_SVG, RUN_NAME]) assert.ok(text.includes(name), `shows ${name}`);
      // A cell click asks the host for the cell's files; answer as the host does, from summary.json.
      const [t, p] = [0, 1]
        .flatMap((i) => [0, 1].map((j) => [i, j]))
        .find(([i, j]) => summary.confusion[i][j] > 0)!;
      await view.page.click(`#confusion-matrix button[data-true="${t}"][data-predicted="${p}"]`);
      const asked = (await view.posted()).at(-1) as { trueIndex: number; predictedIndex: number };
      assert.deepEqual(asked, { type: 'showCell', trueIndex: t, predictedIndex: p });
      const files = summary.predictions
        .filter((x) => x.trueIndex === t && x.predictedIndex === p)
        .map((x) => ({ file: x.file, confidence: x.confidence }));
      assert.ok(files.length > 0);
      await view.send({ type: 'cellImages', trueIndex: t, predictedIndex: p, files });
      const shown = await view.page.locator('#cell-images .file-name').allTextContents();
      assert.deepEqual(new Set(shown), new Set(files.map((f) => f.file)));
      await assertNothingRan(view);
    } finally {
      await view.close();
    }
  });

  it('the host opens only validation images of the run, never a path a webview makes up', async () => {
    // The run's dataset is inside the workspace; outside it, nothing is opened (below).
    vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(root), name: 'ws', index: 0 }];
    const panel = TrainingPanel.show(runDir, {
      extensionUri: vscode.Uri.file(REPO) as never,
      log: vscode.createLogChannel() as never,
      isLive: () => false,
      stop: () => {},
    });
    const fake = vscode.panels.at(-1)!;
    try {
      const summary = (await stateFromDisk(runDir)).summary as RunSummary;
      const record = readRun(runDir).record as RunRecord;
      vscode.recorded.commands.length = 0;
      for (const file of [
        '../../../../etc/passwd',
        '/etc/passwd',
        `${CLASS_IMG}/../../hostile.finetune.json`,
      ])
        await fake.deliver({ type: 'openImage', file });
      assert.deepEqual(vscode.recorded.commands, [], 'no made-up path is opened');
      await fake.deliver({ type: 'openImage', file: summary.predictions[0].file });
      const commands: { args: unknown[] }[] = vscode.recorded.commands;
      const opened = commands.map((c) => (c.args[0] as vscode.Uri).fsPath);
      assert.deepEqual(opened, [
        fs.realpathSync(path.join(record.config.dataset.path, summary.predictions[0].file)),
      ]);
      // The same run in a workspace that does not hold its dataset: the image is not opened.
      vscode.recorded.commands.length = 0;
      vscode.workspace.workspaceFolders = [
        { uri: vscode.Uri.file(tempDir('other-ws')), name: 'x', index: 0 },
      ];
      await fake.deliver({ type: 'openImage', file: summary.predictions[0].file });
      assert.deepEqual(vscode.recorded.commands, [], 'a dataset outside the workspace is not opened');
    } finally {
      vscode.workspace.workspaceFolders = undefined;
      panel.dispose();
    }
  });

  it('the experiment panel shows HTML layer references and a model that fails on a <script> layer name as text', async () => {
    const describer = new ModelDescriber(TRAINER);
    const experiments = new ExperimentService(describer);
    const good = writeExperiment(root, 'refs', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16] },
      freezeUpTo: LAYER_REF,
      layers: { [LAYER_SCRIPT]: 'frozen' },
      head: { cutAt: CLASS_SVG },
    });
    const bad = writeExperiment(root, 'bad-model', {
      baseModel: path.relative(root, badModel),
      dataset: { path: 'data', imageSize: [16, 16] },
    });
    const states: ExperimentPanelState[] = [
      await experiments.snapshot(vscode.Uri.file(good) as never),
      await experiments.snapshot(vscode.Uri.file(bad) as never),
    ];
    experiments.dispose();
    assert.ok(states[0].layers && states[0].layers.length > 0, 'the good model is described');
    assert.match(states[1].layersError ?? '', /<script>alert\(5\)<\/script>/, 'the failure names the layer');
    const view = await openWebview('experiment');
    try {
      for (const [i, state] of states.entries()) {
        await view.send({ type: i === 0 ? 'init' : 'update', state });
        await view.page.waitForTimeout(100);
        const text = await view.page.locator('body').innerText();
        if (i === 0) assert.ok(text.includes(CLASS_SVG), 'the cut reference is shown as text');
        else assert.ok(text.includes(LAYER_SCRIPT), 'the layer error is shown as text');
        await assertNothingRan(view);
      }
    } finally {
      await view.close();
    }
  });
});

// ───────────────────────── Tree views ─────────────────────────

describe('tree views', () => {
  const md = (tooltip: unknown): vscode.MarkdownString => tooltip as vscode.MarkdownString;
  const markdownParts = (tooltip: unknown): string[] =>
    md(tooltip)
      .parts.filter((p) => p.kind === 'markdown')
      .map((p) => p.value);

  it('layer and run tooltips carry file-derived names only as escaped text', () => {
    const layer = new LayerItem(
      {
        path: `outer/${LAYER_SCRIPT}`,
        name: LAYER_SCRIPT,
        className: CLASS_IMG,
        outputShape: [null, 4],
        trainableParams: 1,
        nonTrainableParams: 0,
      },
      'frozen',
      false,
      false,
    );
    assert.equal(layer.label, LAYER_SCRIPT, 'labels are plain text in VS Code');
    for (const part of markdownParts(layer.tooltip)) for (const h of HOSTILE) assert.ok(!part.includes(h));
    assert.ok(md(layer.tooltip).parts.some((p) => p.value.includes(LAYER_SCRIPT)));
    assert.ok(!md(layer.tooltip).value.includes('<script>'), 'escaped when rendered');

    const run = new RunItem(readRun(runDir), undefined);
    assert.equal(run.label, RUN_NAME);
    assert.ok(md(run.tooltip).parts.some((p) => p.value.includes(RUN_NAME)));
    for (const part of markdownParts(run.tooltip)) for (const h of HOSTILE) assert.ok(!part.includes(h));
    assert.equal(md(run.tooltip).isTrusted, false);
  });

  it('no host code passes anything but fixed text to appendMarkdown or trusts a MarkdownString', () => {
    const hostDir = path.join(REPO, 'src/host');
    for (const file of fs.readdirSync(hostDir, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = fs.readFileSync(path.join(hostDir, file), 'utf8');
      for (const m of text.matchAll(/appendMarkdown\(([^;]*?)\);/g)) {
        const arg = m[1].trim();
        // A literal, or a template whose only interpolation is a fixed status word (look.text).
        const fixed =
          /^'[^']*'$/.test(arg) ||
          (/^`[^`]*`$/.test(arg) && [...arg.matchAll(/\$\{([^}]*)\}/g)].every((i) => i[1] === 'look.text'));
        assert.ok(fixed, `${file}: appendMarkdown(${arg}) takes text that is not fixed — use appendText`);
      }
      assert.doesNotMatch(text, /isTrusted\s*=\s*true|supportHtml\s*=\s*true/, `${file} trusts Markdown`);
      assert.doesNotMatch(text, /new vscode\.MarkdownString\([^)]*true\)/, `${file}: theme icons from text`);
    }
  });
});
