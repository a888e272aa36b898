/**
 * The Compare panel on a sweep's trials: the host says which sweep (name and metric), so the page is
 * titled after it and the parallel-coordinates chart ends on — and colours the lines by — the sweep's own
 * metric (best val_loss for a val_loss sweep); a user's later choice of outcome is kept for that sweep.
 * The reducer directly, and the bundled page in headless Chromium (needs `node scripts/build.mjs`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { listRuns } from '../../src/core/runs/readRuns';
import { comparePanelState } from '../../src/host/panels/compareState';
import type { ComparePanelState } from '../../src/protocol/webviewMessages';
import { DEFAULT_UI, reduce, sweepOutcome } from '../../webview/compare/model';
import { writeFixtureRun } from './compareFixtures';
import { closeBrowser, openWebview } from './harness';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-compare-sweep-'));
after(async () => {
  await closeBrowser();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Three trials of a sweep over the learning rate and dropout. */
function sweepState(metric: 'val_loss' | 'val_accuracy'): ComparePanelState {
  const runsDir = path.join(tmp, metric, '.finetune', 'runs');
  [0.001, 0.003, 0.01].forEach((lr, i) =>
    writeFixtureRun(
      runsDir,
      {
        id: `2025010${i}-100000-lr-${i}`,
        name: `lr #${i}`,
        epochs: 6,
        overfitAt: 3 + i,
        config: { training: { learningRate: lr }, head: { dropout: 0.1 * (i + 1) } },
      },
      i,
    ),
  );
  const runs = listRuns(runsDir);
  return {
    ...comparePanelState(runs, { source: 'configs', rows: [], notes: [] }),
    sweep: { name: 'lr', metric },
  };
}

describe('Compare panel on a sweep', () => {
  it('chooses the outcome from the sweep metric once per sweep, then keeps the user’s choice', () => {
    assert.equal(sweepOutcome('val_loss', 'bestValAccuracy'), 'bestValLoss');
    assert.equal(sweepOutcome('accuracy', 'durationS'), 'durationS');
    const state = sweepState('val_loss');
    const first = reduce({ ui: DEFAULT_UI }, { type: 'init', state });
    assert.equal(first.ui.outcome, 'bestValLoss');
    const chosen = { ...first, ui: { ...first.ui, outcome: 'durationS' as const } };
    assert.equal(reduce(chosen, { type: 'init', state }).ui.outcome, 'durationS', 'same sweep: choice kept');
    const plain = { ...state };
    delete plain.sweep;
    assert.equal(
      reduce(chosen, { type: 'init', state: plain }).ui.outcome,
      'durationS',
      'plain runs: untouched',
    );
  });

  it('titles the page after the sweep and colours the parallel chart by its metric', async () => {
    const view = await openWebview('compare', { width: 1280, height: 1500 });
    try {
      await view.page.waitForFunction(() => '__fineTuneCompare' in globalThis);
      await view.send({ type: 'init', state: sweepState('val_loss') });
      await view.page.locator('.compare-title', { hasText: 'Sweep' }).waitFor();
      assert.equal(await view.page.textContent('.compare-title'), 'Sweep lr: its trials');
      const drawn = (await view.page.evaluate('__fineTuneCompare.parallel()')) as {
        axes: string[];
        lines: { dir: string }[];
      };
      assert.deepEqual(drawn.axes, ['training.learningRate', 'head.dropout', 'best val_loss']);
      assert.equal(drawn.lines.length, 3);
      assert.equal(
        await view.page.evaluate(`document.getElementById('outcome-select').value`),
        'bestValLoss',
      );
      assert.deepEqual(view.problems, []);
    } finally {
      await view.close();
    }
  });
});
