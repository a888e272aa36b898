/**
 * End-to-end: the extension in a real VS Code (code-server), clicked through with Playwright.
 * One window for the whole file, the steps in order; each step checks its own outcome on disk and in the
 * UI, so one failing step does not fail the next. Screenshots of every step go to test-output/e2e/.
 *
 * Needs `bash scripts/e2e-setup.sh` (code-server, chromium) and `npm run build`. Without code-server
 * the file is skipped, except under CI, where a missing install is a failure; FINETUNE_E2E=0 skips it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseJsonc } from 'jsonc-parser';
import {
  CODE_SERVER_ENTRY,
  EXTENSION_ID,
  listRuns,
  readRunJson,
  REPO_ROOT,
  SCREENSHOT_DIR,
  startVsCode,
  waitFor,
  type VsCodeSession,
} from './harness';
import { writeFixtureRun } from '../webview/compareFixtures';

const SAMPLE_EXPERIMENT = 'digits-frozen-conv.finetune.json';
const installed = fs.existsSync(CODE_SERVER_ENTRY);
// Under CI a missing code-server is a failure (startVsCode says how to install it), not a skip.
const skip =
  process.env.FINETUNE_E2E === '0'
    ? 'FINETUNE_E2E=0'
    : !installed && !process.env.CI
      ? 'code-server is not installed: run `bash scripts/e2e-setup.sh`'
      : false;

let vscode: VsCodeSession;
const startedAt = Date.now();
/** Figures worth watching across runs, written to test-output/e2e/timings.json. */
const timings: Record<string, number> = {};

/**
 * A step of the walk-through: skipped without code-server; on failure it leaves a screenshot of the
 * window as it was, and closes any quick input so the next step starts from a clean window.
 */
function step(name: string, shot: string, body: () => Promise<void>): void {
  test(name, { skip }, async () => {
    const began = Date.now();
    try {
      await body();
    } catch (error) {
      await vscode.screenshot(`${shot}-FAILED`).catch(() => undefined);
      await vscode.dismiss().catch(() => undefined);
      throw error;
    } finally {
      timings[`${shot}_s`] = Math.round((Date.now() - began) / 100) / 10;
    }
  });
}

function readExperiment(file: string): Record<string, unknown> {
  return parseJsonc(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/**
 * Writes a copy of the sample experiment with some training settings changed, next to the sample. It
 * copies the repo's pristine sample, not the workspace one step b edited, so each step stands alone.
 */
function writeVariant(name: string, training: Record<string, unknown>): string {
  const config = readExperiment(path.join(REPO_ROOT, 'samples/digits', SAMPLE_EXPERIMENT));
  config.name = name;
  config.training = { ...(config.training as object), ...training };
  const file = `${name}.finetune.json`;
  fs.writeFileSync(path.join(vscode.workspace, file), JSON.stringify(config, null, 2));
  return file;
}

/** Starts training on `experimentFile` (made the active editor first) and returns the new run folder. */
async function startTrainingOn(experimentFile: string): Promise<string> {
  const before = new Set(listRuns(vscode.workspace));
  await vscode.openFile(experimentFile);
  await vscode.runCommand('Fine-Tune: Start Training');
  return waitFor(
    `a new run folder under .finetune/runs for ${experimentFile}`,
    () => listRuns(vscode.workspace).find((dir) => !before.has(dir) && readRunJson(dir)),
    90_000,
  );
}

/** Waits for the Runs view row of run `name` to announce `status` (its aria-label, from the tree item). */
async function expectRunRow(name: string, status: string): Promise<void> {
  const row = vscode.treeRow('Runs', name);
  await waitFor(
    `the Runs view to show ${name} as ${status}`,
    async () => ((await row.getAttribute('aria-label'))?.includes(status) ? true : undefined),
    15_000,
  );
}

before(async () => {
  if (skip) return;
  vscode = await startVsCode();
  timings.workbench_up_s = Math.round((Date.now() - startedAt) / 100) / 10;
  console.log(`e2e: workbench up after ${timings.workbench_up_s} s`);
});

after(async () => {
  await vscode?.close();
  timings.total_s = Math.round((Date.now() - startedAt) / 100) / 10;
  if (!skip)
    fs.writeFileSync(path.join(SCREENSHOT_DIR, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
  console.log(`e2e: timings ${JSON.stringify(timings)}`);
});

step(
  'a. the activity bar shows the Fine-Tune container with the Layers, Datasets and Runs views',
  'a',
  async () => {
    await vscode.openContainer('Fine-Tune');
    for (const view of ['Layers', 'Datasets', 'Runs']) {
      await vscode.viewPane(view).waitFor({ state: 'visible' });
    }
    // Until the extension activates and registers its tree providers, VS Code fills the views with this.
    await waitFor(
      'the extension to provide the Layers, Datasets and Runs views',
      async () =>
        (await vscode.page.locator('.sidebar').innerText()).includes('no data provider') ? undefined : true,
      60_000,
    );
    // The sample workspace's dataset folder is found.
    await vscode.treeRow('Datasets', 'data/target').waitFor({ state: 'visible' });
    await vscode.screenshot('a-container');
  },
);

step('b. ticking a layer checkbox in Layers freezes it in the experiment file', 'b', async () => {
  const experiment = path.join(vscode.workspace, SAMPLE_EXPERIMENT);
  await vscode.openFile(SAMPLE_EXPERIMENT); // the active experiment is the one in the active editor
  await vscode.openContainer('Fine-Tune');
  // The sample's base model: a nested "features" model (conv1 … pool3), then flatten and the old head.
  const features = vscode.treeRow('Layers', 'features');
  await features.waitFor({ state: 'visible' });
  if ((await features.getAttribute('aria-expanded')) === 'false')
    await features.locator('.monaco-tl-twistie').click();
  for (const layer of ['conv1', 'pool2', 'conv3', 'flatten']) {
    await vscode.treeRow('Layers', layer).waitFor({ state: 'visible' });
  }
  await vscode.screenshot('b1-layers');

  // The sample freezes up to features/pool2; conv3 is pre-trained and trainable, so its box is clear.
  const beforeConfig = readExperiment(experiment);
  assert.equal(beforeConfig.freezeUpTo, 'features/pool2');
  await vscode.clickTreeCheckbox('Layers', 'conv3');
  const changed = await waitFor(
    'the experiment file to record features/conv3 as frozen',
    () => {
      const config = readExperiment(experiment);
      const layers = (config.layers ?? {}) as Record<string, string>;
      const byLayer = layers['features/conv3'] === 'frozen';
      // Freezing the first trainable layer may instead move the cut to it (or to a later layer).
      const byCut = ['features/conv3', 'features/pool3'].includes(config.freezeUpTo as string);
      return byLayer || byCut ? config : undefined;
    },
    15_000,
  );
  console.log(
    `e2e: after the click, layers ${JSON.stringify(changed.layers)}, freezeUpTo ${changed.freezeUpTo}`,
  );
  // The rest of the file is untouched: the edit is a targeted change, not a rewrite with other values.
  assert.deepEqual(changed.training, beforeConfig.training);
  assert.deepEqual(changed.head, beforeConfig.head);
  const checkbox = vscode.treeRow('Layers', 'conv3').locator('.custom-view-tree-node-item-checkbox');
  await waitFor(
    'the conv3 checkbox to show checked',
    async () => ((await checkbox.getAttribute('aria-checked')) === 'true' ? true : undefined),
    10_000,
  );
  await vscode.screenshot('b2-conv3-frozen');
});

step('c. Start Training from the palette completes a run and shows its chart', 'c', async () => {
  // The sample trains 15 epochs (minutes on 2 cores); the UI path is the same with 2.
  const file = writeVariant('e2e-quick', { epochs: 2 });
  const runDir = await startTrainingOn(file);
  await vscode.screenshot('c1-training-started');
  const record = await waitFor(
    `${path.basename(runDir)} to finish`,
    () => {
      const run = readRunJson(runDir);
      return run && run.status !== 'running' ? run : undefined;
    },
    240_000,
    1000,
  );
  assert.equal(record.status, 'completed', `run.json: ${JSON.stringify(record).slice(0, 500)}`);
  assert.equal(record.name, 'e2e-quick');
  const epochs = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(epochs.length, 2);

  await expectRunRow('e2e-quick', 'completed');
  const panel = await vscode.webviewFrame('canvas', { hasText: 'e2e-quick', timeoutMs: 30_000 });
  assert.match(await panel.locator('body').innerText(), /completed/i);
  const size = await panel.locator('canvas').first().boundingBox();
  assert.ok(size && size.width > 50 && size.height > 50, `chart canvas is visible: ${JSON.stringify(size)}`);
  // The panel's stylesheet applies and VS Code's theme reaches it, under a CSP without 'unsafe-inline'.
  const computed = (selector: string, property: string): Promise<string> =>
    panel
      .locator(selector)
      .first()
      .evaluate(
        (element, name) =>
          (
            globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }
          ).getComputedStyle(element)[name],
        property,
      );
  assert.equal(await computed('.card', 'borderTopLeftRadius'), '6px', 'the panel stylesheet applies');
  assert.notEqual(
    await computed('body', 'color'),
    'rgb(59, 59, 59)',
    'the dark theme colours the page, not the light fallback',
  );
  assert.deepEqual(vscode.cspViolations, [], 'no CSP violation in the workbench or its webviews');
  await vscode.page.locator('.tab', { hasText: 'Training: e2e-quick' }).first().waitFor({ state: 'visible' });
  await vscode.screenshot('c2-training-panel');
});

step('d. Stop Training ends a long run as stopped within seconds', 'd', async () => {
  const file = writeVariant('e2e-long', {
    epochs: 200,
    earlyStopping: { monitor: 'val_loss', patience: 200, minDelta: 0, restoreBestWeights: true },
  });
  const runDir = await startTrainingOn(file);
  // Stop once the run is really training (an epoch is done), not while the trainer is still loading.
  const metrics = path.join(runDir, 'metrics.jsonl');
  const epochsDone = (): number =>
    fs.existsSync(metrics)
      ? fs
          .readFileSync(metrics, 'utf8')
          .split('\n')
          .filter((l) => l.trim()).length
      : 0;
  await waitFor(
    'the long run to finish its first epoch',
    () => (epochsDone() >= 1 ? true : undefined),
    120_000,
    500,
  );
  assert.equal(readRunJson(runDir)?.status, 'running');
  await vscode.screenshot('d1-long-run');
  const stopAt = Date.now();
  await vscode.runCommand('Fine-Tune: Stop Training');
  const record = await waitFor(
    'run.json to leave "running"',
    () => {
      const run = readRunJson(runDir);
      return run && run.status !== 'running' ? run : undefined;
    },
    30_000,
    200,
  );
  const seconds = (Date.now() - stopAt) / 1000;
  console.log(`e2e: stop took ${seconds.toFixed(1)} s`);
  timings.stop_latency_s = Math.round(seconds * 10) / 10;
  assert.equal(record.status, 'stopped');
  assert.ok(seconds < 15, `stopped after ${seconds.toFixed(1)} s`);
  assert.ok(epochsDone() >= 1 && epochsDone() < 200, 'the epochs before the stop are kept');
  // The Runs view follows the run folder: the row says stopped, the header no longer counts a running run.
  await expectRunRow('e2e-long', 'stopped');
  const runsHeader = vscode.viewPane('Runs').locator('.pane-header');
  assert.doesNotMatch(await runsHeader.innerText(), /running/i);
  // Its training panel shows the stopped run and the curves of the epochs it kept.
  const panel = await vscode.webviewFrame('canvas', { hasText: 'e2e-long', timeoutMs: 30_000 });
  await waitFor(
    'the e2e-long training panel to say stopped',
    async () => (/stopped/i.test(await panel.locator('body').innerText()) ? true : undefined),
    15_000,
  );
  await vscode.screenshot('d2-stopped');
});

step('e. the extension activated, and quickly (Developer: Show Running Extensions)', 'e', async () => {
  await vscode.runCommand('Developer: Show Running Extensions');
  const row = vscode.page.locator('.runtime-extensions-editor .monaco-list-row', {
    hasText: 'Fine-Tune Studio',
  });
  await row.first().waitFor({ state: 'visible' });
  const text = (await row.first().innerText()).replace(/\s+/g, ' ');
  await vscode.screenshot('e-running-extensions');
  // "Startup Activation: 8ms" (activated by workspaceContains while the window opened) or "Activation: 8ms".
  const match = /Activation: (\d+)\s*ms/.exec(text);
  assert.ok(match, `Running Extensions shows an activation time for ${EXTENSION_ID}: ${text}`);
  timings.activation_ms = Number(match[1]);
  console.log(`e2e: ${EXTENSION_ID} activation ${timings.activation_ms} ms (${text})`);
  // The host never loads TensorFlow.js; activation is milliseconds. A generous bound for a busy machine.
  assert.ok(timings.activation_ms < 1500, `activation took ${timings.activation_ms} ms`);
});

/** Picks the row of the open quick pick whose text contains `text` (typed as a filter first). */
async function pickQuickItem(text: string): Promise<void> {
  const input = vscode.page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  await vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor();
  await vscode.page.keyboard.press('Enter');
}

step(
  'f. Export Metrics writes TensorBoard event files; Download Base Model offers the catalogue',
  'f',
  async () => {
    const runDir = listRuns(vscode.workspace).find((dir) => readRunJson(dir)?.name === 'e2e-quick');
    assert.ok(runDir, 'step c left the e2e-quick run');
    await vscode.runCommand('Fine-Tune: Export Metrics (CSV / TensorBoard)');
    await pickQuickItem(path.basename(runDir));
    await pickQuickItem('TensorBoard');
    const files = await waitFor(
      'event files in the run folder',
      () => {
        const dirs = ['train', 'validation'].map((d) => path.join(runDir, 'tensorboard', d));
        const found = dirs.map((d) => (fs.existsSync(d) ? fs.readdirSync(d) : []));
        return found.every((f) => f.some((n) => n.startsWith('events.out.tfevents.'))) ? found : undefined;
      },
      15_000,
    );
    console.log(`e2e: TensorBoard files ${JSON.stringify(files)}`);
    await vscode.screenshot('f1-metrics-exported');
    await vscode.dismiss();
    // The bundled catalogue: MobileNet entries listed (nothing is downloaded: no network in tests).
    await vscode.runCommand('Fine-Tune: Download Base Model');
    await vscode.page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'MobileNet v2 1.0 (224×224)' })
      .first()
      .waitFor({ state: 'visible' });
    await vscode.screenshot('f2-model-catalogue');
    await vscode.dismiss();
  },
);

step('g. two runs selected in Runs open the Compare Runs panel, which shows both', 'g', async () => {
  // Two finished runs written the way the trainer (or the CLI) writes them: they appear through the
  // Runs view's file watcher. Written here, so this step does not depend on the training steps.
  const runsDir = path.join(vscode.workspace, '.finetune', 'runs');
  writeFixtureRun(runsDir, { id: '20250101-090000-e2e-compare-a', name: 'e2e-compare-a', epochs: 6 }, 0);
  writeFixtureRun(
    runsDir,
    {
      id: '20250101-090100-e2e-compare-b',
      name: 'e2e-compare-b',
      epochs: 8,
      config: { freezeUpTo: 'features/pool1', training: { learningRate: 0.0003 } },
    },
    1,
  );
  await vscode.openContainer('Fine-Tune');
  const a = vscode.treeRow('Runs', 'e2e-compare-a');
  const b = vscode.treeRow('Runs', 'e2e-compare-b');
  await a.waitFor({ state: 'visible', timeout: 30_000 });
  await b.waitFor({ state: 'visible', timeout: 30_000 });
  await a.click();
  // A click on a run opens its panel beside (keeping the focus in the view): wait for it, so the panel
  // appears before the clicks that follow rather than in the middle of them.
  await vscode.page
    .locator('.tab', { hasText: 'Training: e2e-compare-a' })
    .first()
    .waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(
    await vscode
      .viewPane('Runs')
      .evaluate((pane) =>
        pane.contains(
          (globalThis as unknown as { document: { activeElement: never } }).document.activeElement,
        ),
      ),
    true,
    'the focus stays in the Runs view after a click opened a run',
  );
  await b.click({ modifiers: ['Control'] });
  await waitFor(
    'both rows to be selected',
    async () =>
      (await a.getAttribute('aria-selected')) === 'true' && (await b.getAttribute('aria-selected')) === 'true'
        ? true
        : undefined,
    10_000,
  );
  await b.click({ button: 'right' });
  // The context menu of a multi-selection offers Compare Selected Runs (`listMultiSelection`).
  // Hover (which focuses the item) then Enter: a plain click sometimes lands while the menu is still being
  // laid out and is lost; the menu then stays open, so retry until it closes.
  const compareItem = vscode.page
    .locator('.context-view .action-label', { hasText: 'Compare Selected Runs' })
    .first();
  await compareItem.waitFor({ state: 'visible', timeout: 10_000 }).catch(async (error: unknown) => {
    // Say what the menu and the selection were, so a failure here can be told apart from a lost click.
    const menu = await vscode.page.locator('.context-view .action-label').allTextContents();
    const selected = [await a.getAttribute('aria-selected'), await b.getAttribute('aria-selected')];
    throw new Error(
      `${String(error)}\ncontext menu: ${JSON.stringify(menu)}; rows a, b selected: ${JSON.stringify(selected)}`,
    );
  });
  await compareItem.hover();
  await vscode.page.keyboard.press('Enter');
  await waitFor(
    'the context menu to close',
    async () => {
      if (!(await compareItem.isVisible())) return true;
      await compareItem.click({ timeout: 2_000 }).catch(() => undefined);
      return undefined;
    },
    15_000,
  );

  const panel = await vscode.webviewFrame('#runs-table', { hasText: 'e2e-compare-b', timeoutMs: 30_000 });
  const names = await panel.locator('#runs-table .run-link').allTextContents();
  assert.deepEqual([...names].sort(), ['e2e-compare-a', 'e2e-compare-b']);
  // The parameters that differ are the columns; the freeze pattern lists the sample model's layers.
  const headers = await panel.locator('#runs-table thead th.param').allTextContents();
  assert.ok(
    headers.some((h) => h.includes('learningRate')),
    `parameter columns: ${headers.join(', ')}`,
  );
  assert.ok(
    headers.some((h) => h.includes('freezeUpTo')),
    `parameter columns: ${headers.join(', ')}`,
  );
  await panel.locator('#freeze-table tr[data-layer="features/pool2"].differs').waitFor({ timeout: 60_000 });
  const canvas = await panel.locator('#curves-canvas').boundingBox();
  assert.ok(
    canvas && canvas.width > 100 && canvas.height > 100,
    `curves chart visible: ${JSON.stringify(canvas)}`,
  );
  assert.equal(await panel.locator('#legend .legend-item').count(), 2);
  assert.deepEqual(vscode.cspViolations, [], 'no CSP violation in the workbench or its webviews');
  await vscode.page.locator('.tab', { hasText: 'Compare 2 Runs' }).first().waitFor({ state: 'visible' });
  await vscode.screenshot('g-compare-runs');
});

step(
  'h. Start Sweep on a .sweep.json runs its trials; the sweep and its trials appear in Runs',
  'h',
  async () => {
    const file = 'e2e.sweep.json';
    fs.writeFileSync(
      path.join(vscode.workspace, file),
      JSON.stringify(
        {
          name: 'e2e-sweep',
          experiment: SAMPLE_EXPERIMENT,
          method: 'grid',
          parameters: { 'head.dropout': { values: [0.1, 0.5] }, 'training.epochs': { values: [2] } },
          parallel: 2,
        },
        null,
        2,
      ),
    );
    await vscode.openFile(file);
    await vscode.runCommand('Fine-Tune: Start Sweep');
    const sweepsDir = path.join(vscode.workspace, '.finetune', 'sweeps');
    const state = await waitFor(
      'the sweep to complete on disk',
      () => {
        const id = fs.existsSync(sweepsDir)
          ? fs.readdirSync(sweepsDir).find((n) => n.endsWith('-e2e-sweep'))
          : undefined;
        const statePath = id ? path.join(sweepsDir, id, 'state.json') : undefined;
        if (!statePath || !fs.existsSync(statePath)) return undefined;
        const value = JSON.parse(fs.readFileSync(statePath, 'utf8')) as {
          status: string;
          trials: { state: string; runId?: string }[];
        };
        return value.status === 'completed' ? value : undefined;
      },
      180_000,
    );
    assert.deepEqual(
      state.trials.map((t) => t.state),
      ['completed', 'completed'],
    );
    await vscode.openContainer('Fine-Tune');
    await expectRunRow('e2e-sweep', 'completed');
    const sweepRow = vscode.treeRow('Runs', 'e2e-sweep');
    assert.match((await sweepRow.getAttribute('aria-label')) ?? '', /2\/2 done · best val_accuracy/);
    // Expanding the sweep shows its trials' runs.
    await sweepRow.click();
    await vscode.treeRow('Runs', 'e2e-sweep #1').waitFor({ state: 'visible', timeout: 15_000 });
    await vscode.screenshot('h-sweep');
  },
);

step(
  'i. Find Label Issues from the palette shows the gallery; a planted label error is listed, explained, moved back and the move undone',
  'i',
  async () => {
    const file = writeVariant('e2e-labels', {});
    const runDir = await startTrainingOn(file);
    const record = await waitFor(
      `${path.basename(runDir)} to finish`,
      () => {
        const run = readRunJson(runDir);
        return run && run.status !== 'running' ? run : undefined;
      },
      240_000,
      1000,
    );
    assert.equal(record.status, 'completed');
    // A label error planted after training: a "zero" in the "one" folder. The dataset then no longer
    // matches what the run trained on, which the panel says.
    const data = path.join(vscode.workspace, 'data/target');
    const truth = path.join(data, 'zero', 'zero_010.png');
    const planted = path.join(data, 'one', 'zero_010.png');
    fs.renameSync(truth, planted);
    // The active experiment's newest run is the one Find Label Issues analyses.
    await vscode.openFile(file);
    await vscode.runCommand('Fine-Tune: Find Label Issues');
    const panel = await vscode.webviewFrame('#issues-gallery .data-card', {
      hasText: 'e2e-labels',
      timeoutMs: 180_000,
    });
    const card = panel.locator('#issues-gallery .data-card[data-file="one/zero_010.png"]');
    await card.waitFor({ state: 'visible', timeout: 30_000 });
    assert.deepEqual(await card.locator('.card-labels .class-name').allTextContents(), ['one', 'zero']);
    // Every thumbnail of the gallery decoded (data: URLs under the webview CSP).
    await panel.waitForFunction(() =>
      [
        ...(
          globalThis as unknown as {
            document: { querySelectorAll(s: string): Iterable<{ complete: boolean; naturalWidth: number }> };
          }
        ).document.querySelectorAll('#issues-gallery img.thumb'),
      ].every((img) => img.complete && img.naturalWidth > 0),
    );
    assert.ok((await panel.locator('#losses-gallery .data-card').count()) > 0, 'top losses of the run');
    assert.equal(await panel.locator('#run-data-match').isVisible(), true, 'the dataset changed banner');
    await vscode.screenshot('i1-label-issues');

    // Grad-CAM of the card's image, computed by the trainer for the run's model.
    await card.locator('[data-action=gradcam]').click();
    await card.locator('img.gradcam-overlay').waitFor({ state: 'visible', timeout: 60_000 });
    await vscode.screenshot('i2-gradcam');

    // Move to the suggested class: a WorkspaceEdit rename in the real VS Code; the card leaves the gallery.
    await card.locator('.move-suggested').click();
    await waitFor(
      'the image to be moved back to zero/',
      () => (fs.existsSync(truth) && !fs.existsSync(planted) ? true : undefined),
      15_000,
    );
    await waitFor(
      'the card to leave the gallery',
      async () => ((await card.count()) === 0 ? true : undefined),
      15_000,
    );
    // The panel's Undo moves it back.
    await panel.locator('#undo-button').click();
    await waitFor(
      'the move to be undone',
      () => (fs.existsSync(planted) && !fs.existsSync(truth) ? true : undefined),
      15_000,
    );
    await card.waitFor({ state: 'visible', timeout: 15_000 });
    assert.deepEqual(vscode.cspViolations, [], 'no CSP violation in the workbench or its webviews');
    await vscode.screenshot('i3-moved-and-undone');
  },
);
