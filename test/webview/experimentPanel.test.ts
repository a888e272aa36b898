/**
 * Experiment panel: the pure parts (field rules on the real schema, layer-tree rules) directly, and the
 * bundled page in headless Chromium under the real CSP shell, driven by host messages (needs
 * `node scripts/build.mjs`).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULTS, type ExperimentConfig, type LayerState } from '../../src/protocol/experimentConfig';
import { EXPERIMENT_SCHEMA } from '../../src/protocol/experimentSchema';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import sharp from 'sharp';
import {
  checkValue,
  descriptionOf,
  enumOf,
  formatFieldValue,
  isRequired,
  parseBlocksText,
  parseFieldText,
  schemaAt,
  valueAt,
  type JsonPath,
} from '../../webview/experiment/fieldRules';
import { formatShape, freezeMark, layerRows, paramTotals } from '../../webview/experiment/layerModel';
import { SETTINGS_SECTIONS } from '../../webview/experiment/settingsSpec';
import {
  lrCurve,
  multiplierRows,
  techniqueSettings,
  unfreezePlan,
} from '../../webview/experiment/techniqueModel';
import { closeBrowser, openWebview, type WebviewPage } from './harness';

// ───────────────────────── Fixtures ─────────────────────────

const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '<script>alert(1)</script>';

function layer(
  path: string,
  className: string,
  outputShape: (number | null)[],
  trainableParams: number,
  nonTrainableParams = 0,
): LayerNode {
  return {
    path,
    name: path.split('/').pop() as string,
    className,
    outputShape,
    trainableParams,
    nonTrainableParams,
  };
}

/** A small CNN whose middle block is a nested Sequential model; the head is cut after dense_1. */
function fixtureLayers(names: { conv1?: string; bn?: string } = {}): LayerNode[] {
  const conv1 = layer('conv1', 'Conv2D', [null, 26, 26, 8], 80);
  if (names.conv1) conv1.name = names.conv1;
  const bn = layer('block/bn', 'BatchNormalization', [null, 11, 11, 16], 32, 32);
  if (names.bn) bn.name = names.bn;
  return [
    conv1,
    layer('pool1', 'MaxPooling2D', [null, 13, 13, 8], 0),
    {
      ...layer('block', 'Sequential', [null, 11, 11, 16], 1200, 32),
      children: [
        layer('block/conv2', 'Conv2D', [null, 11, 11, 16], 1168),
        bn,
        layer('block/relu', 'ReLU', [null, 11, 11, 16], 0),
      ],
    },
    layer('flatten', 'Flatten', [null, 1936], 0),
    layer('dense_1', 'Dense', [null, 64], 123968),
    layer('dense_2', 'Dense', [null, 10], 650),
  ];
}

const LAYER_STATES: Record<string, LayerState> = {
  conv1: 'frozen',
  pool1: 'frozen',
  'block/conv2': 'frozen',
  'block/bn': 'trainable',
  'block/relu': 'trainable',
  flatten: 'trainable',
  dense_1: 'reinit',
  dense_2: 'trainable',
};

function fixtureConfig(): ExperimentConfig {
  const copy = JSON.parse(JSON.stringify(DEFAULTS)) as typeof DEFAULTS;
  return {
    name: 'digits-frozen-conv',
    baseModel: '/ws/models/base/model.json',
    dataset: { path: '/ws/data/digits', imageSize: [28, 28], ...copy.dataset, validationSplit: 0.25 },
    freezeUpTo: 'pool1',
    layers: { 'block/conv2': 'frozen', dense_1: 'reinit' },
    head: { ...copy.head, cutAt: 'dense_1', hiddenUnits: [128], dropout: 0.5 },
    regularization: copy.regularization,
    augmentation: copy.augmentation,
    training: { ...copy.training, epochs: 20 },
  };
}

function fixtureState(overrides: Partial<ExperimentPanelState> = {}): ExperimentPanelState {
  return {
    experimentPath: '/ws/digits-frozen-conv.finetune.json',
    document: {
      name: 'digits-frozen-conv',
      baseModel: 'models/base/model.json',
      dataset: { path: 'data/digits', validationSplit: 0.25 },
      freezeUpTo: 'pool1',
      layers: { 'block/conv2': 'frozen', dense_1: 'reinit' },
      head: { cutAt: 'dense_1', hiddenUnits: [128], dropout: 0.5 },
      training: { epochs: 20, learningRate: 0.001 },
    },
    config: fixtureConfig(),
    errors: [],
    warnings: [],
    layers: fixtureLayers(),
    layerStates: { ...LAYER_STATES },
    cutAt: 'dense_1',
    ...overrides,
  };
}

// ───────────────────────── Page helpers ─────────────────────────

type Posted = { type: string; [key: string]: unknown };

interface RowInfo {
  checked: boolean;
  indeterminate: boolean;
  disabled: boolean;
  classes: string[];
  badges: string[];
}

function rowInfo(page: Page, path: string): Promise<RowInfo | null> {
  return page.evaluate(`(() => {
    const row = [...document.querySelectorAll('.layer-row')].find((r) => r.dataset.path === ${JSON.stringify(path)});
    if (!row) return null;
    const box = row.querySelector('vscode-checkbox');
    return {
      checked: box.checked,
      indeterminate: box.indeterminate,
      disabled: box.disabled,
      classes: [...row.classList],
      badges: [...row.querySelectorAll('.badge')].map((b) => b.textContent),
    };
  })()`);
}

const visibleRowPaths = (page: Page): Promise<string[]> =>
  page.evaluate(`[...document.querySelectorAll('.layer-row[data-path]')].map((r) => r.dataset.path)`);

const row = (page: Page, path: string) => page.locator(`.layer-row[data-path="${path}"]`);
const field = (page: Page, key: string) => page.locator(`vscode-form-group[data-key="${key}"]`);
const input = (page: Page, key: string) => field(page, key).locator('vscode-textfield input');

/** What the page posted apart from augmentation-preview requests (a valid file asks for one on its own). */
async function postedEdits(view: WebviewPage): Promise<Posted[]> {
  return ((await view.posted()) as Posted[]).filter((m) => m.type !== 'previewAugmentation');
}

async function postedAfter(view: WebviewPage, count: number): Promise<Posted[]> {
  return ((await view.posted()) as Posted[]).slice(count);
}

/** Waits until the page has posted a message matching `match` after the first `count` messages. */
async function waitForPost(
  view: WebviewPage,
  count: number,
  match: (m: Posted) => boolean,
  timeoutMs = 3000,
): Promise<Posted> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await postedAfter(view, count)).find(match);
    if (found) return found;
    if (Date.now() > deadline) {
      throw new Error(`no matching post; got ${JSON.stringify(await postedAfter(view, count))}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openPanel(state = fixtureState(), options: { width?: number; height?: number } = {}) {
  const view = await openWebview('experiment', { width: 1200, height: 900, ...options });
  await view.send({ type: 'init', state });
  await view.page.locator('.layer-row[data-path="conv1"]').waitFor();
  return view;
}

const RESOURCE_404 =
  'console: Failed to load resource: the server responded with a status of 404 (Not Found)';

/**
 * No page error, CSP violation or dialog. Headless Chromium also asks the test server for /favicon.ico, a
 * request VS Code's webviews never make, which the harness reports as a 404 console error: that message is
 * tolerated only when every resource the page itself loaded (scripts, styles, fonts) was served.
 */
async function assertClean(view: WebviewPage): Promise<void> {
  const failed = await view.page.evaluate(
    `performance.getEntriesByType('resource').filter((e) => (e.responseStatus ?? 200) >= 400).map((e) => e.name)`,
  );
  assert.deepEqual(
    (failed as string[]).filter((url) => new URL(url).pathname !== '/favicon.ico'),
    [],
  );
  assert.deepEqual(
    view.problems.filter((p) => p !== RESOURCE_404),
    [],
  );
  assert.deepEqual(view.dialogs, []);
}

const isSetValue = (path: JsonPath) => (m: Posted) =>
  m.type === 'setValue' && JSON.stringify(m.path) === JSON.stringify(path);

// ───────────────────────── Field rules (pure, on the real schema) ─────────────────────────

describe('fieldRules on EXPERIMENT_SCHEMA', () => {
  const parse = (path: JsonPath, text: string) => {
    const schema = schemaAt(EXPERIMENT_SCHEMA, path);
    assert.ok(schema, `schema for ${path.join('.')}`);
    return parseFieldText(schema, text, isRequired(EXPERIMENT_SCHEMA, path));
  };
  const ok = (path: JsonPath, text: string, value: unknown) =>
    assert.deepEqual(parse(path, text), { ok: true, value });
  const rejects = (path: JsonPath, text: string, message: RegExp) => {
    const result = parse(path, text);
    assert.equal(result.ok, false, `${path.join('.')} = ${JSON.stringify(text)} should be rejected`);
    if (!result.ok) assert.match(result.message, message);
  };

  it('finds every field of the panel in the schema, each with a description', () => {
    for (const section of SETTINGS_SECTIONS) {
      for (const spec of section.fields) {
        const schema = schemaAt(EXPERIMENT_SCHEMA, spec.path);
        assert.ok(schema, spec.path.join('.'));
        assert.ok(descriptionOf(schema).length > 10, `description of ${spec.path.join('.')}`);
      }
    }
    // earlyStopping's keys live in the object branch of an anyOf; `layers` uses additionalProperties.
    assert.equal(schemaAt(EXPERIMENT_SCHEMA, ['training', 'earlyStopping', 'patience'])?.type, 'integer');
    assert.deepEqual(enumOf(schemaAt(EXPERIMENT_SCHEMA, ['layers', 'conv1'])), [
      'frozen',
      'trainable',
      'reinit',
    ]);
    assert.equal(schemaAt(EXPERIMENT_SCHEMA, ['dataset', 'imageSize', 0])?.type, 'integer');
    assert.equal(schemaAt(EXPERIMENT_SCHEMA, ['training', 'noSuchKey']), undefined);
  });

  it('applies exclusive and inclusive bounds', () => {
    ok(['training', 'learningRate'], '0.01', 0.01);
    ok(['training', 'learningRate'], '1e-3', 0.001);
    rejects(['training', 'learningRate'], '0', /greater than 0/);
    rejects(['training', 'learningRate'], '-1', /greater than 0/);
    ok(['head', 'dropout'], '0', 0);
    ok(['head', 'dropout'], '0.999', 0.999);
    rejects(['head', 'dropout'], '1', /less than 1/);
    rejects(['head', 'dropout'], '-0.1', /at least 0/);
    ok(['augmentation', 'rotation'], '180', 180);
    rejects(['augmentation', 'rotation'], '180.5', /at most 180/);
    rejects(['training', 'momentum'], '1', /less than 1/);
    ok(['regularization', 'l2sp'], '0.0001', 0.0001);
    rejects(['regularization', 'l2'], '-0.5', /at least 0/);
    rejects(['dataset', 'validationSplit'], '1', /less than 1/);
  });

  it('requires whole numbers where the schema says integer, and rejects non-numbers', () => {
    ok(['training', 'epochs'], '12', 12);
    rejects(['training', 'epochs'], '2.5', /whole number/);
    rejects(['training', 'epochs'], '0', /at least 1/);
    rejects(['training', 'batchSize'], 'abc', /whole number/);
    ok(['training', 'seed'], '-7', -7);
    rejects(['training', 'earlyStopping', 'patience'], '-1', /at least 0/);
    rejects(['training', 'overfitPatience'], '0', /at least 1/);
    rejects(['training', 'learningRate'], '0x10', /Enter a number/);
    rejects(['training', 'learningRate'], 'Infinity', /Enter a number/);
    rejects(['training', 'learningRate'], '1.2.3', /Enter a number/);
  });

  it('parses comma lists and checks their items and length', () => {
    ok(['head', 'hiddenUnits'], '128, 64', [128, 64]);
    ok(['head', 'hiddenUnits'], '[256]', [256]);
    ok(['head', 'hiddenUnits'], '[]', []);
    rejects(['head', 'hiddenUnits'], '128, 0', /Value 2: must be at least 1/);
    rejects(['head', 'hiddenUnits'], '12.5', /Value 1: must be a whole number/);
    rejects(['head', 'hiddenUnits'], '128, x', /Value 2 \("x"\)/);
    ok(['dataset', 'imageSize'], '224 224', [224, 224]);
    rejects(['dataset', 'imageSize'], '224', /exactly 2 values/);
    rejects(['dataset', 'imageSize'], '1, 2, 3', /exactly 2 values/);
    ok(['dataset', 'pixelRange'], '-1, 1', [-1, 1]);
  });

  it('checks enums, and treats an empty field as "remove the key" unless it is required', () => {
    ok(['training', 'optimizer'], 'sgd', 'sgd');
    rejects(['training', 'optimizer'], 'adamw', /one of: adam, sgd, rmsprop/);
    rejects(
      ['training', 'earlyStopping', 'monitor'],
      'val_f1',
      /one of: val_loss, val_accuracy, loss, accuracy/,
    );
    assert.deepEqual(enumOf(schemaAt(EXPERIMENT_SCHEMA, ['training', 'backend'])), [
      'auto',
      'tensorflow-gpu',
      'webgpu',
      'tensorflow',
      'wasm',
      'cpu',
    ]);
    ok(['training', 'learningRate'], '   ', undefined);
    ok(['head', 'hiddenUnits'], '', undefined);
    assert.equal(isRequired(EXPERIMENT_SCHEMA, ['name']), true);
    assert.equal(isRequired(EXPERIMENT_SCHEMA, ['dataset', 'path']), true);
    assert.equal(isRequired(EXPERIMENT_SCHEMA, ['training', 'epochs']), false);
    rejects(['name'], '', /Required/);
    rejects(['dataset', 'path'], ' ', /Required/);
    ok(['name'], ' my run ', 'my run');
  });

  it('checks whole values, including the anyOf of earlyStopping', () => {
    const es = schemaAt(EXPERIMENT_SCHEMA, ['training', 'earlyStopping']);
    assert.ok(es);
    assert.equal(checkValue(es, false), undefined);
    assert.equal(checkValue(es, { patience: 2 }), undefined);
    assert.match(checkValue(es, true) ?? '', /.+/);
    assert.match(checkValue(es, { patience: -1 }) ?? '', /patience: must be at least 0/);
    assert.match(checkValue(es, { patience: 2, typo: 1 }) ?? '', /Unknown key "typo"/);
    assert.match(
      checkValue(EXPERIMENT_SCHEMA, { training: { epochs: 0 } }) ?? '',
      /training: epochs: must be at least 1/,
    );
  });

  it('formats stored values for text fields and reads values by path', () => {
    assert.equal(formatFieldValue([128, 64]), '128, 64');
    assert.equal(formatFieldValue(0.001), '0.001');
    assert.equal(formatFieldValue(undefined), '');
    const doc = { training: { earlyStopping: false }, head: { hiddenUnits: [1, 2] } };
    assert.equal(valueAt(doc, ['training', 'earlyStopping', 'patience']), undefined);
    assert.equal(valueAt(doc, ['head', 'hiddenUnits', 1]), 2);
    assert.equal(valueAt(doc, ['toString']), undefined);
  });
});

describe('layer tree rules', () => {
  const rows = layerRows(fixtureLayers(), 'dense_1');
  const afterCut = new Set(rows.filter((r) => r.afterCut && !r.node.children).map((r) => r.node.path));

  it('orders rows depth-first and marks what the cut removes', () => {
    assert.deepEqual(
      rows.map((r) => `${r.depth}:${r.node.path}${r.isCut ? '*' : ''}${r.afterCut ? '-' : ''}`),
      [
        '0:conv1',
        '0:pool1',
        '0:block',
        '1:block/conv2',
        '1:block/bn',
        '1:block/relu',
        '0:flatten',
        '0:dense_1*',
        '0:dense_2-',
      ],
    );
    // A cut on a nested model puts the head line after its last layer.
    const blockCut = layerRows(fixtureLayers(), 'block');
    assert.deepEqual(
      blockCut.filter((r) => r.endsCutBlock).map((r) => r.node.path),
      ['block/relu'],
    );
    assert.equal(blockCut.find((r) => r.node.path === 'block/bn')?.afterCut, false);
    assert.equal(blockCut.find((r) => r.node.path === 'flatten')?.afterCut, true);
  });

  it('marks a nested model frozen, trainable or mixed from its leaves', () => {
    const block = rows.find((r) => r.node.path === 'block');
    assert.ok(block);
    assert.equal(freezeMark(block, afterCut, LAYER_STATES), 'mixed');
    const allFrozen = { ...LAYER_STATES, 'block/bn': 'frozen' as const, 'block/relu': 'frozen' as const };
    assert.equal(freezeMark(block, afterCut, allFrozen), 'frozen');
    assert.equal(freezeMark(block, afterCut, {}), 'trainable');
  });

  it('totals trainable, frozen, non-trainable and replaced parameters', () => {
    assert.deepEqual(paramTotals(rows, LAYER_STATES), {
      trainable: 32 + 123968,
      frozen: 80 + 1168,
      nonTrainable: 32,
      replaced: 650,
    });
    assert.equal(formatShape([null, 26, 26, 8]), '26 × 26 × 8');
    assert.equal(
      formatShape([
        [null, 4],
        [null, null, 2],
      ]),
      '4; ? × 2',
    );
  });
});

// ───────────────────────── The page in headless Chromium ─────────────────────────

describe('experiment panel webview', { timeout: 60_000 }, () => {
  after(closeBrowser);

  it('posts ready first and renders the tree: nesting, checkbox states, cut and greyed layers', async () => {
    const view = await openPanel();
    try {
      const { page } = view;
      assert.deepEqual(await postedEdits(view), [{ type: 'ready' }]);
      assert.deepEqual(await visibleRowPaths(page), [
        'conv1',
        'pool1',
        'block',
        'block/conv2',
        'block/bn',
        'block/relu',
        'flatten',
        'dense_1',
        'dense_2',
      ]);
      assert.equal(await page.locator('h1').textContent(), 'digits-frozen-conv');
      const conv1 = await rowInfo(page, 'conv1');
      assert.equal(conv1?.checked, true);
      assert.equal((await rowInfo(page, 'block/bn'))?.checked, false);
      const block = await rowInfo(page, 'block');
      assert.equal(block?.indeterminate, true);
      assert.equal(block?.checked, false);
      const dense1 = await rowInfo(page, 'dense_1');
      assert.deepEqual(dense1?.badges, ['reinit', 'head cut']);
      assert.ok(dense1?.classes.includes('is-cut'));
      assert.equal(dense1?.checked, false);
      const dense2 = await rowInfo(page, 'dense_2');
      assert.ok(dense2?.classes.includes('after-cut'));
      assert.equal(dense2?.disabled, true);
      assert.ok(!(await rowInfo(page, 'flatten'))?.classes.includes('after-cut'));
      assert.equal(await page.locator('.cut-line').count(), 1);
      // The head line sits between the cut layer and the replaced one.
      const order = await page.evaluate(
        `[...document.querySelectorAll('.layer-row[data-path], .cut-line')].map((e) => e.dataset.path ?? 'CUT').slice(-3)`,
      );
      assert.deepEqual(order, ['dense_1', 'CUT', 'dense_2']);
      assert.deepEqual(
        await page.locator('.totals .figure-value').allTextContents(),
        ['124,000', '1,248', '32', '650'], // trainable, frozen, non-trainable, replaced by head
      );
      assert.equal(await row(page, 'conv1').locator('.cell-shape').textContent(), '26 × 26 × 8');
      assert.equal(await row(page, 'block').locator('.cell-class').textContent(), 'Sequential');

      // Collapse and expand the nested model.
      await row(page, 'block').locator('button.twistie').click();
      assert.deepEqual(await visibleRowPaths(page), [
        'conv1',
        'pool1',
        'block',
        'flatten',
        'dense_1',
        'dense_2',
      ]);
      assert.equal(await row(page, 'block').getAttribute('aria-expanded'), 'false');
      await row(page, 'block').locator('button.twistie').click();
      assert.equal((await visibleRowPaths(page)).length, 9);
      assert.deepEqual(await postedEdits(view), [{ type: 'ready' }], 'expanding is local: nothing posted');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('posts layer edits for checkboxes, row actions and Unfreeze all', async () => {
    const view = await openPanel();
    try {
      const { page } = view;
      let count = (await view.posted()).length;
      const expectEdit = async (edit: object) => {
        const m = await waitForPost(view, count, (p) => p.type === 'layerEdit');
        assert.deepEqual(m, { type: 'layerEdit', edit });
        count = (await view.posted()).length;
      };
      await row(page, 'conv1').locator('vscode-checkbox').click();
      await expectEdit({ kind: 'setFrozen', path: 'conv1', frozen: false });
      await row(page, 'flatten').locator('vscode-checkbox').click();
      await expectEdit({ kind: 'setFrozen', path: 'flatten', frozen: true });
      await row(page, 'block/bn').locator('vscode-checkbox').click();
      await expectEdit({ kind: 'setFrozen', path: 'block/bn', frozen: true });
      // The mixed nested model: one edit for the whole block, with the container's path.
      await row(page, 'block').locator('vscode-checkbox').click();
      await expectEdit({ kind: 'setFrozen', path: 'block', frozen: true });

      await row(page, 'block/bn').hover();
      assert.equal(
        await page.evaluate(
          `getComputedStyle(document.querySelector('.layer-row[data-path="block/bn"] .cell-actions')).opacity`,
        ),
        '1',
      );
      await row(page, 'block/bn').getByRole('button', { name: 'Freeze up to here' }).click();
      await expectEdit({ kind: 'freezeUpTo', path: 'block/bn' });
      await row(page, 'pool1').getByRole('button', { name: 'Unfreeze from here' }).click();
      await expectEdit({ kind: 'unfreezeFrom', path: 'pool1' });
      await row(page, 'flatten').getByRole('button', { name: 'Re-initialise (fresh weights)' }).click();
      await expectEdit({ kind: 'setReinit', path: 'flatten', reinit: true });
      await row(page, 'dense_1')
        .getByRole('button', { name: /undo re-initialise/ })
        .click();
      await expectEdit({ kind: 'setReinit', path: 'dense_1', reinit: false });
      await row(page, 'block').getByRole('button', { name: 'Set as head cut' }).click();
      await expectEdit({ kind: 'setCut', path: 'block' });
      await row(page, 'dense_2').getByRole('button', { name: 'Set as head cut' }).click();
      await expectEdit({ kind: 'setCut', path: 'dense_2' });
      await page.locator('vscode-button.unfreeze-all').click();
      await expectEdit({ kind: 'unfreezeAll' });
      await page.locator('vscode-button.start-training').click();
      await waitForPost(view, count, (p) => p.type === 'startTraining');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('validates settings inline and posts only valid values, typed as the schema says', async () => {
    const view = await openPanel();
    try {
      const { page } = view;
      let count = (await view.posted()).length;
      const lr = input(page, 'training.learningRate');
      assert.equal(await lr.inputValue(), '0.001');
      assert.equal(await input(page, 'head.hiddenUnits').inputValue(), '128');
      // Keys the file leaves out show the resolved value as a placeholder, and the schema's description.
      assert.equal(await input(page, 'training.batchSize').inputValue(), '');
      assert.equal(await input(page, 'training.batchSize').getAttribute('placeholder'), '32');
      assert.equal(await input(page, 'dataset.imageSize').getAttribute('placeholder'), '28, 28');
      assert.match(
        (await field(page, 'training.batchSize').locator('vscode-form-helper').textContent()) ?? '',
        /per gradient step/,
      );

      await lr.fill('0.01');
      assert.deepEqual(await waitForPost(view, count, isSetValue(['training', 'learningRate'])), {
        type: 'setValue',
        path: ['training', 'learningRate'],
        value: 0.01,
      });
      count = (await view.posted()).length;

      await lr.fill('-1'); // no Enter: the typing debounce checks it
      const error = field(page, 'training.learningRate').locator('.field-error');
      await error.waitFor();
      assert.match((await error.textContent()) ?? '', /greater than 0/);
      assert.equal(
        await field(page, 'training.learningRate').locator('vscode-textfield').getAttribute('invalid'),
        '',
      );

      const dropout = input(page, 'head.dropout');
      await dropout.fill('1');
      await dropout.press('Enter');
      const dropoutError = field(page, 'head.dropout').locator('.field-error');
      await dropoutError.waitFor();
      assert.match((await dropoutError.textContent()) ?? '', /less than 1/);
      // Both checks have run (their messages show), and neither value was posted.
      assert.deepEqual(await postedAfter(view, count), []);

      await dropout.fill('0.3');
      await dropout.press('Enter');
      await waitForPost(view, count, (m) => isSetValue(['head', 'dropout'])(m) && m.value === 0.3);
      assert.equal(await dropoutError.isVisible(), false);
      count = (await view.posted()).length;

      await input(page, 'head.hiddenUnits').fill('128, 64');
      await input(page, 'head.hiddenUnits').press('Enter');
      const units = await waitForPost(view, count, isSetValue(['head', 'hiddenUnits']));
      assert.deepEqual(units.value, [128, 64]);
      count = (await view.posted()).length;

      // Emptying a field removes the key (value undefined, so it is absent from the posted JSON).
      await input(page, 'training.epochs').fill('');
      await input(page, 'training.epochs').press('Enter');
      const removed = await waitForPost(view, count, isSetValue(['training', 'epochs']));
      assert.equal('value' in removed, false);
      count = (await view.posted()).length;

      const optimizer = page.locator('#field-training-optimizer');
      await optimizer.click();
      await optimizer.locator('li.option', { hasText: 'sgd' }).click();
      assert.deepEqual(await waitForPost(view, count, isSetValue(['training', 'optimizer'])), {
        type: 'setValue',
        path: ['training', 'optimizer'],
        value: 'sgd',
      });
      count = (await view.posted()).length;

      await page.locator('#field-augmentation-flipHorizontal').click();
      const flip = await waitForPost(view, count, isSetValue(['augmentation', 'flipHorizontal']));
      assert.equal(flip.value, true);
      count = (await view.posted()).length;

      // Early stopping off writes false, and its settings are disabled until it is on again.
      await page.locator('#field-training-earlyStopping').click();
      const off = await waitForPost(view, count, isSetValue(['training', 'earlyStopping']));
      assert.equal(off.value, false);
      const doc = fixtureState().document as { training: Record<string, unknown> };
      await view.send({
        type: 'update',
        state: fixtureState({ document: { ...doc, training: { ...doc.training, earlyStopping: false } } }),
      });
      assert.equal(await input(page, 'training.earlyStopping.patience').isDisabled(), true);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('keeps a half-typed value, focus and scroll through an update, and takes the file value afterwards', async () => {
    const view = await openPanel(fixtureState(), { height: 600 });
    try {
      const { page } = view;
      const lr = input(page, 'training.learningRate');
      await lr.focus();
      await lr.press('Control+a');
      await lr.pressSequentially('0.0');
      await page.evaluate(`document.querySelector('.settings-pane').scrollTop = 400`);
      const scrollBefore = await page.evaluate(`document.querySelector('.settings-pane').scrollTop`);
      const doc = fixtureState().document as { training: Record<string, unknown> };
      // An update caused elsewhere (epochs changed in the file) arrives mid-typing.
      await view.send({
        type: 'update',
        state: fixtureState({
          document: { ...doc, training: { ...doc.training, epochs: 30, learningRate: 0.005 } },
        }),
      });
      assert.equal(await lr.inputValue(), '0.0');
      assert.equal(await input(page, 'training.epochs').inputValue(), '30');
      assert.equal(await page.evaluate(`document.activeElement?.id`), 'field-training-learningRate');
      assert.equal(await page.evaluate(`document.querySelector('.settings-pane').scrollTop`), scrollBefore);
      const count = (await view.posted()).length;
      await lr.pressSequentially('2');
      const posted = await waitForPost(view, count, isSetValue(['training', 'learningRate']));
      assert.equal(posted.value, 0.02);

      // Once the user has left the field, the file's value wins again.
      await page.locator('h1').click();
      await view.send({
        type: 'update',
        state: fixtureState({ document: { ...doc, training: { ...doc.training, learningRate: 0.3 } } }),
      });
      assert.equal(await lr.inputValue(), '0.3');

      // A focused tree checkbox stays focused across the tree's rebuild.
      await row(page, 'flatten').locator('vscode-checkbox').focus();
      await view.send({ type: 'update', state: fixtureState() });
      assert.equal(
        await page.evaluate(`document.activeElement?.closest('.layer-row')?.dataset.path`),
        'flatten',
      );
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('restores the last state on reload before init, including collapsed blocks', async () => {
    const first = await openPanel();
    let saved: unknown;
    try {
      await row(first.page, 'block').locator('button.twistie').click();
      saved = await first.page.evaluate(`globalThis.__state`);
    } finally {
      await first.close();
    }
    const view = await openWebview('experiment', { state: saved });
    try {
      await view.page.locator('.layer-row[data-path="conv1"]').waitFor();
      assert.deepEqual(await postedEdits(view), [{ type: 'ready' }]);
      assert.equal(await visibleRowPaths(view.page).then((p) => p.includes('block/conv2')), false);
      assert.equal(await input(view.page, 'training.learningRate').inputValue(), '0.001');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('shows host errors and warnings as text, and a layer error instead of the tree', async () => {
    const errors = [`/ws/x.finetune.json:3:5: training.epochs must be >= 1 <b>bold</b>`];
    const warnings = [`unknown key "${XSS_IMG}"`];
    const view = await openPanel(fixtureState({ errors, warnings }));
    try {
      const { page } = view;
      assert.deepEqual(await page.locator('.problems .problem-text').allTextContents(), [
        ...errors,
        ...warnings,
      ]);
      assert.equal(await page.locator('.problems b, .problems img').count(), 0);
      assert.equal(await page.locator('.problem.error').count(), 1);
      assert.equal(await page.locator('.problem.warning').count(), 1);
      assert.equal(await page.locator('vscode-button.start-training').getAttribute('disabled'), '');

      await view.send({
        type: 'update',
        state: fixtureState({ layers: undefined, layersError: `Cannot read ${XSS_SCRIPT}/model.json` }),
      });
      assert.equal(await page.locator('.layer-row[data-path]').count(), 0);
      assert.equal(await page.locator('.layers-error').textContent(), `Cannot read ${XSS_SCRIPT}/model.json`);
      assert.equal(await page.locator('.problems').isVisible(), false);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('renders hostile layer names and classes as text', async () => {
    const layers = fixtureLayers({ conv1: XSS_SCRIPT, bn: XSS_IMG });
    layers[1].className = XSS_IMG;
    const view = await openPanel(
      fixtureState({
        layers,
        cutAt: XSS_SCRIPT,
        document: { ...fixtureState().document, name: XSS_IMG, head: { cutAt: XSS_SCRIPT } },
      }),
    );
    try {
      const { page } = view;
      await page.waitForTimeout(100); // an injected image would have fired onerror by now
      assert.equal(await row(page, 'conv1').locator('.layer-name').textContent(), XSS_SCRIPT);
      assert.equal(await row(page, 'block/bn').locator('.layer-name').textContent(), XSS_IMG);
      assert.equal(await row(page, 'pool1').locator('.cell-class').textContent(), XSS_IMG);
      assert.equal(await page.locator('h1').textContent(), XSS_IMG);
      assert.equal(await page.locator('.cut-display code').textContent(), XSS_SCRIPT);
      assert.equal(await page.locator('img').count(), 0);
      assert.equal(await page.locator('script').count(), 1, 'only the bundle');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('looks like a VS Code panel in the default and a dark theme (screenshots)', async () => {
    const view = await openPanel(
      fixtureState({
        warnings: [
          'digits-frozen-conv.finetune.json:12:3: unknown key "learningrate" (did you mean learningRate?)',
        ],
      }),
      { width: 1280, height: 860 },
    );
    try {
      const { page } = view;
      await row(page, 'block/bn').hover();
      await page.screenshot({ path: '/tmp/experiment-panel-light.png' });
      await page.evaluate(`(() => {
        const vars = {
          '--vscode-foreground': '#cccccc', '--vscode-descriptionForeground': '#9d9d9d',
          '--vscode-editor-background': '#1f1f1f', '--vscode-panel-border': '#2b2b2b',
          '--vscode-focusBorder': '#0078d4', '--vscode-icon-foreground': '#cccccc',
          '--vscode-errorForeground': '#f85149', '--vscode-editorError-foreground': '#f14c4c',
          '--vscode-editorWarning-foreground': '#cca700', '--vscode-textCodeBlock-background': '#2b2b2b',
          '--vscode-button-background': '#0078d4', '--vscode-button-hoverBackground': '#026ec1',
          '--vscode-button-secondaryBackground': '#313131', '--vscode-button-secondaryForeground': '#cccccc',
          '--vscode-button-secondaryHoverBackground': '#3c3c3c',
          '--vscode-settings-textInputBackground': '#313131', '--vscode-settings-textInputForeground': '#cccccc',
          '--vscode-settings-textInputBorder': '#3c3c3c', '--vscode-settings-dropdownBackground': '#313131',
          '--vscode-settings-dropdownForeground': '#cccccc', '--vscode-settings-dropdownBorder': '#3c3c3c',
          '--vscode-settings-dropdownListBorder': '#454545', '--vscode-settings-checkboxBackground': '#313131',
          '--vscode-settings-checkboxForeground': '#cccccc', '--vscode-settings-checkboxBorder': '#3c3c3c',
          '--vscode-checkbox-background': '#313131', '--vscode-checkbox-foreground': '#cccccc',
          '--vscode-checkbox-border': '#3c3c3c', '--vscode-input-placeholderForeground': '#989898',
          '--vscode-inputValidation-errorBackground': '#5a1d1d', '--vscode-inputValidation-errorBorder': '#be1100',
          '--vscode-list-hoverBackground': '#2a2d2e', '--vscode-list-hoverForeground': '#cccccc',
          '--vscode-list-focusOutline': '#0078d4', '--vscode-toolbar-hoverBackground': 'rgba(90, 93, 94, 0.31)',
          '--vscode-inputOption-activeBackground': 'rgba(36, 137, 219, 0.51)',
          '--vscode-sideBar-background': '#181818', '--vscode-sideBarSectionHeader-background': '#181818',
          '--vscode-sideBarTitle-foreground': '#cccccc', '--vscode-badge-background': '#616161',
          '--vscode-badge-foreground': '#f8f8f8', '--vscode-charts-blue': '#3794ff',
          '--vscode-charts-green': '#89d185', '--vscode-charts-orange': '#d18616',
          '--vscode-charts-purple': '#b180d7', '--vscode-charts-red': '#f14c4c',
        };
        for (const [k, v] of Object.entries(vars)) document.body.style.setProperty(k, v);
      })()`);
      await page.screenshot({ path: '/tmp/experiment-panel-dark.png' });
      await input(page, 'head.dropout').fill('1');
      await input(page, 'head.dropout').press('Enter');
      await field(page, 'head.dropout').locator('.field-error').waitFor();
      await page
        .locator('vscode-collapsible[data-section="head"]')
        .screenshot({ path: '/tmp/experiment-panel-dark-error.png' });
      await page.setViewportSize({ width: 640, height: 900 });
      await page.screenshot({ path: '/tmp/experiment-panel-narrow.png', fullPage: false });
      assert.equal(
        await page.evaluate(`getComputedStyle(document.querySelector('.panes')).display`),
        'block',
      );
      await assertClean(view);
    } finally {
      await view.close();
    }
  });
});

// ───────────────────────── Techniques and augmentation preview (issue 7) ─────────────────────────

/** conv1 frozen, every other layer up to the cut (dense_1) trainable: three blocks to unfreeze. */
const TECHNIQUE_STATES: Record<string, LayerState> = {
  ...LAYER_STATES,
  'block/conv2': 'trainable',
  pool1: 'trainable',
  dense_1: 'trainable',
};

/** The fixture with these training settings in the file and in the resolved config. */
function techniquesState(training: Record<string, unknown>, overrides: Partial<ExperimentPanelState> = {}) {
  const base = fixtureState();
  const doc = base.document as { training: Record<string, unknown> };
  const config = base.config as ExperimentConfig;
  const resolved = JSON.parse(JSON.stringify(training)) as Record<string, unknown>;
  if (resolved.schedule)
    resolved.schedule = { ...DEFAULTS.training.schedule, ...(resolved.schedule as object) };
  return fixtureState({
    document: {
      ...doc,
      layers: { conv1: 'frozen' },
      freezeUpTo: undefined,
      training: { ...doc.training, ...training },
    },
    config: { ...config, training: { ...config.training, ...resolved } as ExperimentConfig['training'] },
    layerStates: { ...TECHNIQUE_STATES },
    ...overrides,
  });
}

const GU = { headEpochs: 2, everyEpochs: 3, blocks: 'auto' };
/** Longer than the page's preview debounce (PREVIEW_DEBOUNCE_MS, 500 ms, in a DOM module this file cannot import). */
const PREVIEW_SETTLE_MS = 800;

describe('techniques (pure): the drawings use the engine’s own schedule and plan', () => {
  it('lrCurve: warm-up then cosine per batch; step and plateau per epoch as steps', () => {
    const cosine = lrCurve(
      techniqueSettings(techniquesState({ schedule: { type: 'cosine', warmupEpochs: 2 } })),
    );
    assert.equal(cosine.stepped, false);
    assert.equal(cosine.points.length, 12 * 20 + 1); // 240 samples over 20 epochs, plus the end
    assert.equal(cosine.points[0].y, 0);
    const peak = cosine.points.find((p) => p.x === 2);
    assert.equal(peak?.y, 0.001);
    assert.ok(cosine.points[cosine.points.length - 1].y < 1e-12);
    assert.match(cosine.summary, /^Starts at 0, peaks at 0\.001 \(epoch 2\)/);
    const step = lrCurve(
      techniqueSettings(techniquesState({ schedule: { type: 'step', stepEpochs: 5, gamma: 0.5 } })),
    );
    assert.equal(step.stepped, true);
    assert.equal(step.points.length, 40);
    assert.deepEqual(
      step.points.filter((_, i) => i % 10 === 0).map((p) => p.y),
      [0.001, 0.0005, 0.00025, 0.000125],
    );
    assert.match(
      lrCurve(techniqueSettings(techniquesState({ schedule: { type: 'plateau' } }))).summary,
      /depends on the run/,
    );
  });

  it('a half-typed file still draws: valid values of the document over the defaults', () => {
    const state = techniquesState(
      { schedule: { type: 'onecycle', pctStart: 5 }, epochs: 8 },
      { config: undefined },
    );
    const settings = techniqueSettings(state);
    assert.equal(settings.schedule.type, 'onecycle');
    assert.equal(
      settings.schedule.pctStart,
      DEFAULTS.training.schedule.pctStart,
      'an invalid value is not drawn',
    );
    assert.equal(settings.epochs, 8);
  });

  it('unfreezePlan and multiplierRows: blocks from the top, epochs from headEpochs/everyEpochs', () => {
    const state = techniquesState({ gradualUnfreezing: GU });
    const plan = unfreezePlan(state, techniqueSettings(state));
    assert.equal(plan.kind, 'plan');
    if (plan.kind !== 'plan') return;
    assert.deepEqual(
      plan.timeline.steps.map((s) => [s.epoch, s.block]),
      [
        [3, ['dense_1']],
        [6, ['block/conv2', 'block/bn', 'block/relu', 'flatten']],
        [9, ['pool1']],
      ],
    );
    assert.equal(plan.timeline.headOnlyEpochs, 2);
    const frozen = techniquesState(
      { gradualUnfreezing: GU },
      { layerStates: { ...LAYER_STATES, 'block/bn': 'frozen', 'block/relu': 'frozen', flatten: 'frozen' } },
    );
    assert.equal(unfreezePlan(frozen, techniqueSettings(frozen)).kind, 'nothingTrainable');
    const geometric = techniquesState({ discriminativeLr: { mode: 'geometric', lowestMultiplier: 0.001 } });
    assert.deepEqual(
      multiplierRows(geometric, techniqueSettings(geometric)).map((r) => [
        r.layers[0],
        +r.multiplier.toPrecision(6),
      ]),
      [
        ['pool1', 0.001],
        ['block/conv2', 0.01],
        ['dense_1', 0.1],
      ],
    );
  });

  it('parseBlocksText: "auto", a comma list (spaces inside paths kept), empty removes the key', () => {
    const schema = schemaAt(EXPERIMENT_SCHEMA, ['training', 'gradualUnfreezing', 'blocks'])!;
    assert.deepEqual(parseBlocksText(schema, 'auto'), { ok: true, value: 'auto' });
    assert.deepEqual(parseBlocksText(schema, ' top block/conv 2 , dense_1 '), {
      ok: true,
      value: ['top block/conv 2', 'dense_1'],
    });
    assert.deepEqual(parseBlocksText(schema, ''), { ok: true, value: undefined });
    assert.equal(parseBlocksText(schema, ',').ok, false);
  });
});

describe('experiment panel: techniques and augmentation preview', { timeout: 60_000 }, () => {
  after(closeBrowser);

  const visible = (page: Page, key: string) => field(page, key).isVisible();

  async function choose(page: Page, selectId: string, option: string): Promise<void> {
    const select = page.locator(`#${selectId}`);
    await select.click();
    await select.locator('li.option', { hasText: option }).click();
  }

  it('schedule fields follow the schedule type, the curve follows the schedule, and each value posts', async () => {
    const view = await openPanel(techniquesState({ schedule: { type: 'cosine', warmupEpochs: 2 } }));
    try {
      const { page } = view;
      assert.equal(await visible(page, 'training.schedule.warmupEpochs'), true);
      assert.equal(await visible(page, 'training.schedule.minLearningRate'), true);
      assert.equal(await visible(page, 'training.schedule.stepEpochs'), false);
      assert.equal(await visible(page, 'training.schedule.gamma'), false);
      const curve = field(page, 'training.schedule.curve');
      const points = async () =>
        ((await curve.locator('polyline').getAttribute('points')) ?? '').trim().split(/\s+/).length;
      assert.equal(await points(), 241);
      assert.match(
        (await curve.locator('.lr-curve-summary').textContent()) ?? '',
        /^Starts at 0, peaks at 0\.001/,
      );

      let count = (await view.posted()).length;
      const warmup = input(page, 'training.schedule.warmupEpochs');
      await warmup.fill('3');
      await warmup.press('Enter');
      assert.equal(
        (await waitForPost(view, count, isSetValue(['training', 'schedule', 'warmupEpochs']))).value,
        3,
      );
      count = (await view.posted()).length;
      await warmup.fill('-1');
      await warmup.press('Enter');
      await field(page, 'training.schedule.warmupEpochs').locator('.field-error').waitFor();

      for (const [key, text, value] of [
        ['labelSmoothing', '0.1', 0.1],
        ['mixup', '0.4', 0.4],
        ['cutmix', '1', 1],
        ['weightDecay', '0.01', 0.01],
      ] as const) {
        await input(page, `training.${key}`).fill(text);
        await input(page, `training.${key}`).press('Enter');
        assert.equal((await waitForPost(view, count, isSetValue(['training', key]))).value, value);
      }
      await input(page, 'training.labelSmoothing').fill('1');
      await input(page, 'training.labelSmoothing').press('Enter');
      const smoothingError = field(page, 'training.labelSmoothing').locator('.field-error');
      await smoothingError.waitFor();
      assert.match((await smoothingError.textContent()) ?? '', /less than 1/);
      assert.equal(
        (await postedAfter(view, count)).filter(
          (m) => isSetValue(['training', 'labelSmoothing'])(m) && m.value === 1,
        ).length,
        0,
        'an invalid value is never posted',
      );

      count = (await view.posted()).length;
      await choose(page, 'field-training-schedule-type', 'step');
      assert.equal(
        (await waitForPost(view, count, isSetValue(['training', 'schedule', 'type']))).value,
        'step',
      );
      await view.send({ type: 'update', state: techniquesState({ schedule: { type: 'step' } }) });
      assert.equal(await visible(page, 'training.schedule.stepEpochs'), true);
      assert.equal(await visible(page, 'training.schedule.gamma'), true);
      assert.equal(await visible(page, 'training.schedule.warmupEpochs'), false);
      assert.equal(await points(), 40, 'a per-epoch schedule is drawn as steps');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('gradual unfreezing: the switch writes its settings, the plan shows which blocks unfreeze when, blocks parse', async () => {
    const view = await openPanel(techniquesState({}));
    try {
      const { page } = view;
      assert.equal(await visible(page, 'training.gradualUnfreezing.headEpochs'), false);
      assert.equal(await visible(page, 'training.gradualUnfreezing.plan'), false);
      let count = (await view.posted()).length;
      await page.locator('#field-training-gradualUnfreezing').click();
      assert.deepEqual(
        (await waitForPost(view, count, isSetValue(['training', 'gradualUnfreezing']))).value,
        {
          headEpochs: 2,
          everyEpochs: 2,
          blocks: 'auto',
        },
      );

      await view.send({ type: 'update', state: techniquesState({ gradualUnfreezing: GU }) });
      const plan = field(page, 'training.gradualUnfreezing.plan');
      await plan.waitFor();
      assert.deepEqual(await plan.locator('.plan-epoch').allTextContents(), [
        'Epochs 1–2',
        'Epoch 3',
        'Epoch 6',
        'Epoch 9',
      ]);
      assert.deepEqual(await plan.locator('.plan-step').nth(2).locator('.layer-chip').allTextContents(), [
        'block/conv2',
        'block/bn',
        'block/relu',
        'flatten',
      ]);
      count = (await view.posted()).length;
      const blocks = input(page, 'training.gradualUnfreezing.blocks');
      assert.equal(await blocks.inputValue(), 'auto');
      await blocks.fill('dense_1, block');
      await blocks.press('Enter');
      assert.deepEqual(
        (await waitForPost(view, count, isSetValue(['training', 'gradualUnfreezing', 'blocks']))).value,
        ['dense_1', 'block'],
      );
      await input(page, 'training.gradualUnfreezing.headEpochs').fill('0');
      await input(page, 'training.gradualUnfreezing.headEpochs').press('Enter');
      assert.equal(
        (await waitForPost(view, count, isSetValue(['training', 'gradualUnfreezing', 'headEpochs']))).value,
        0,
      );

      // Too few epochs for every block: the plan says which never unfreeze; a block matching nothing is named.
      await view.send({
        type: 'update',
        state: techniquesState({
          epochs: 5,
          gradualUnfreezing: { ...GU, blocks: ['dense_1', XSS_IMG, 'pool1'] },
        }),
      });
      const notes = await plan.locator('.plan-note').allTextContents();
      assert.ok(
        notes.some((n) => /never unfreeze within 5 epochs/.test(n)),
        notes.join(' | '),
      );
      assert.ok(
        notes.some((n) => n.includes(`"${XSS_IMG}"`)),
        'the unknown block is named, as text',
      );

      count = (await view.posted()).length;
      await page.locator('#field-training-gradualUnfreezing').click();
      const off = await waitForPost(view, count, isSetValue(['training', 'gradualUnfreezing']));
      assert.equal('value' in off, false, 'off removes the key (the default is off)');
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('discriminative learning rates: geometric writes a lowest multiplier; multipliers show lowest first', async () => {
    const view = await openPanel(techniquesState({}));
    try {
      const { page } = view;
      assert.equal(await visible(page, 'training.discriminativeLr.lowestMultiplier'), false);
      let count = (await view.posted()).length;
      await choose(page, 'field-training-discriminativeLr', 'geometric');
      assert.deepEqual((await waitForPost(view, count, isSetValue(['training', 'discriminativeLr']))).value, {
        mode: 'geometric',
        lowestMultiplier: 0.001,
      });
      await view.send({
        type: 'update',
        state: techniquesState({ discriminativeLr: { mode: 'geometric', lowestMultiplier: 0.001 } }),
      });
      assert.equal(await visible(page, 'training.discriminativeLr.lowestMultiplier'), true);
      const rows = field(page, 'training.discriminativeLr').locator('.multiplier-list li');
      assert.deepEqual(await rows.locator('.multiplier').allTextContents(), ['× 0.001', '× 0.01', '× 0.1']);
      count = (await view.posted()).length;
      await choose(page, 'field-training-discriminativeLr', 'groups');
      assert.deepEqual((await waitForPost(view, count, isSetValue(['training', 'discriminativeLr']))).value, {
        mode: 'groups',
        groups: [],
      });
      await view.send({
        type: 'update',
        state: techniquesState({ discriminativeLr: { mode: 'groups', groups: [] } }),
      });
      assert.match(
        (await field(page, 'training.discriminativeLr').locator('.plan-note').textContent()) ?? '',
        /training\.discriminativeLr\.groups/,
      );
      count = (await view.posted()).length;
      await choose(page, 'field-training-discriminativeLr', 'single');
      const single = await waitForPost(view, count, isSetValue(['training', 'discriminativeLr']));
      assert.equal('value' in single, false);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  const pixel = (color: string): string => {
    // 1×1 PNGs of a colour, enough for the page (the engine test checks real previews).
    const bytes: Record<string, string> = {
      red: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
      blue: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
    };
    return `data:image/png;base64,${bytes[color]}`;
  };

  it('augmentation preview: one request per change of what the images depend on; data URLs shown, names as text; Shuffle asks with a new seed', async () => {
    const view = await openPanel();
    try {
      const { page } = view;
      const isPreview = (seed: number) => (m: Posted) => m.type === 'previewAugmentation' && m.seed === seed;
      await waitForPost(view, 0, isPreview(1));
      const images = [
        { file: `${XSS_IMG}/a.png`, className: XSS_SCRIPT, original: pixel('red'), augmented: pixel('blue') },
        { file: 'b/<b>b</b>.png', className: 'b', original: pixel('blue'), augmented: 'javascript:alert(1)' },
      ];
      await view.send({ type: 'augmentationPreview', seed: 1, images });
      const cells = page.locator('.aug-cell');
      await cells.first().waitFor();
      assert.equal(await cells.count(), 2);
      assert.deepEqual(await page.locator('.aug-class').allTextContents(), [XSS_SCRIPT, 'b']);
      assert.deepEqual(await page.locator('.aug-file').allTextContents(), [
        `${XSS_IMG}/a.png`,
        'b/<b>b</b>.png',
      ]);
      assert.equal(await cells.nth(0).locator('img.original').getAttribute('src'), pixel('red'));
      assert.equal(await cells.nth(0).locator('img.augmented').getAttribute('src'), pixel('blue'));
      assert.equal(
        await cells.nth(1).locator('img.augmented').getAttribute('src'),
        null,
        'only PNG data URLs',
      );
      assert.equal(
        await page.locator('.aug-preview img:not(.aug-img), .aug-preview b, .aug-preview script').count(),
        0,
      );

      // An answer to another seed is not this grid's.
      await view.send({ type: 'augmentationPreview', seed: 7, images: [] });
      assert.equal(await cells.count(), 2);

      // The same settings again ask for nothing; a changed augmentation asks once, after the debounce.
      let count = (await view.posted()).length;
      await view.send({ type: 'update', state: fixtureState() });
      await page.waitForTimeout(PREVIEW_SETTLE_MS);
      assert.deepEqual(await postedAfter(view, count), []);
      const config = fixtureConfig();
      const rotated = { ...config, augmentation: { ...config.augmentation, rotation: 10 } };
      for (const rotation of [5, 10]) {
        await view.send({
          type: 'update',
          state: fixtureState({
            config: { ...rotated, augmentation: { ...rotated.augmentation, rotation } },
          }),
        });
      }
      await waitForPost(view, count, isPreview(1));
      await page.waitForTimeout(PREVIEW_SETTLE_MS);
      assert.equal((await postedAfter(view, count)).length, 1, 'typing 5 then 10 asks once');

      count = (await view.posted()).length;
      await page.locator('.aug-shuffle').click();
      await waitForPost(view, count, isPreview(2));
      await view.send({ type: 'augmentationPreview', seed: 2, images: [], error: `Cannot read ${XSS_IMG}` });
      const status = page.locator('.aug-status.error');
      await status.waitFor();
      assert.equal(await status.textContent(), `Cannot read ${XSS_IMG}`);
      assert.equal(await cells.count(), 0);

      // A file with problems: nothing to preview until they are fixed.
      count = (await view.posted()).length;
      await view.send({ type: 'update', state: fixtureState({ config: undefined, errors: ['x: bad'] }) });
      await page.locator('.aug-status.info').waitFor();
      await page.waitForTimeout(100);
      assert.deepEqual(await postedAfter(view, count), []);
      await assertClean(view);
    } finally {
      await view.close();
    }
  });

  it('looks right in the default and a dark theme (screenshots of Techniques and the preview)', async () => {
    const state = techniquesState({
      epochs: 12,
      schedule: { type: 'onecycle' },
      gradualUnfreezing: GU,
      discriminativeLr: { mode: 'geometric', lowestMultiplier: 0.001 },
    });
    const config = state.config as ExperimentConfig;
    state.config = { ...config, augmentation: { ...config.augmentation, rotation: 20 } };
    (state.document as Record<string, unknown>).augmentation = { rotation: 20 };
    // Tall enough that the settings pane does not scroll (element screenshots of a scrolled pane show the
    // sticky top bar over them).
    const view = await openPanel(state, { width: 1280, height: 4200 });
    try {
      const { page } = view;
      const digit = async (text: string, angle: number, color: string): Promise<string> => {
        const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="56" height="56"><rect width="56" height="56" fill="#111"/><text x="28" y="44" font-size="40" text-anchor="middle" fill="${color}" transform="rotate(${angle} 28 28)" font-family="sans-serif">${text}</text></svg>`;
        const png = await sharp(Buffer.from(svg)).png().toBuffer();
        return `data:image/png;base64,${png.toString('base64')}`;
      };
      const images = [];
      for (let i = 0; i < 12; i++) {
        const label = String(i % 4);
        images.push({
          file: `digit_${label}/img_${100 + i}.png`,
          className: `digit_${label}`,
          original: await digit(label, 0, '#eee'),
          augmented: await digit(label, (i % 2 ? 1 : -1) * (6 + i * 2), '#eee'),
        });
      }
      await view.send({ type: 'augmentationPreview', seed: 1, images });
      await page.locator('.aug-cell').first().waitFor();
      const techniques = page.locator('vscode-collapsible[data-section="techniques"]');
      const augmentation = page.locator('vscode-collapsible[data-section="augmentation"]');
      await techniques.screenshot({ path: '/tmp/experiment-techniques-light.png' });
      await augmentation.screenshot({ path: '/tmp/experiment-augmentation-light.png' });
      await page.evaluate(`(() => {
        const vars = {
          '--vscode-foreground': '#cccccc', '--vscode-descriptionForeground': '#9d9d9d',
          '--vscode-editor-background': '#1f1f1f', '--vscode-panel-border': '#2b2b2b',
          '--vscode-textCodeBlock-background': '#2b2b2b', '--vscode-charts-blue': '#3794ff',
          '--vscode-charts-green': '#89d185', '--vscode-charts-purple': '#b180d7',
          '--vscode-editorWarning-foreground': '#cca700',
          '--vscode-button-secondaryBackground': '#313131', '--vscode-button-secondaryForeground': '#cccccc',
          '--vscode-settings-textInputBackground': '#313131', '--vscode-settings-textInputForeground': '#cccccc',
          '--vscode-settings-textInputBorder': '#3c3c3c', '--vscode-settings-dropdownBackground': '#313131',
          '--vscode-settings-dropdownForeground': '#cccccc', '--vscode-settings-dropdownBorder': '#3c3c3c',
          '--vscode-settings-checkboxBackground': '#313131', '--vscode-settings-checkboxBorder': '#3c3c3c',
          '--vscode-checkbox-background': '#313131', '--vscode-checkbox-border': '#3c3c3c',
          '--vscode-sideBar-background': '#181818', '--vscode-sideBarSectionHeader-background': '#181818',
          '--vscode-sideBarTitle-foreground': '#cccccc', '--vscode-icon-foreground': '#cccccc',
        };
        for (const [k, v] of Object.entries(vars)) document.body.style.setProperty(k, v);
      })()`);
      await techniques.screenshot({ path: '/tmp/experiment-techniques-dark.png' });
      await augmentation.screenshot({ path: '/tmp/experiment-augmentation-dark.png' });
      await assertClean(view);
    } finally {
      await view.close();
    }
  });
});
