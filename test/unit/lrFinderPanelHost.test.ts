/**
 * Host side of the LR finder panel, in plain Node with the vscode stand-in: what it posts, that "Use"
 * becomes exactly one edit of training.learningRate through the ExperimentService, that forged messages
 * change nothing, and that the panel follows the file's learning rate.
 */
import { vscode } from '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LrFinderResult } from '../../src/protocol/lrFinder';
import type { HostToLrFinderPanel } from '../../src/protocol/webviewMessages';
import {
  LR_FINDER_VIEW_TYPE,
  LrFinderPanel,
  isSavedLrFinderState,
} from '../../src/host/panels/lrFinderPanel';

const RESULT: LrFinderResult = {
  points: [
    { lr: 1e-5, loss: 2, smoothed: 2 },
    { lr: 1e-4, loss: 1.5, smoothed: 1.8 },
    { lr: 1e-3, loss: 0.8, smoothed: 1.3 },
  ],
  suggestion: 1e-4,
  minLossLr: 1e-3,
  stoppedEarly: false,
  backend: 'cpu',
  startLr: 1e-5,
  endLr: 1e-3,
  steps: 3,
  experimentName: 'demo',
  currentLr: 0.01,
  seconds: 1,
};

/** The ExperimentService as the panel uses it: the file's text, setValue, and change events. */
function fakeExperiments(initial: string) {
  let text = initial;
  const changed = new vscode.EventEmitter<unknown>();
  const edits: { uri: string; path: (string | number)[]; value: unknown }[] = [];
  return {
    edits,
    setText(next: string, uri: unknown) {
      text = next;
      changed.fire(uri);
    },
    service: {
      onDidChange: changed.event,
      text: async () => text,
      setValue: async (uri: { fsPath: string }, jsonPath: (string | number)[], value: unknown) => {
        edits.push({ uri: uri.fsPath, path: jsonPath, value });
        return true;
      },
    },
  };
}

const experimentText = (lr: number): string =>
  JSON.stringify({
    name: 'demo',
    baseModel: 'm/model.json',
    dataset: { path: 'd', imageSize: [8, 8] },
    training: { learningRate: lr },
  });

function open(uriPath: string, experiments: ReturnType<typeof fakeExperiments>, findAgain: unknown[]) {
  const uri = vscode.Uri.file(uriPath);
  LrFinderPanel.show(uri as never, RESULT, {
    extensionUri: vscode.Uri.file('/ext') as never,
    log: vscode.createLogChannel() as never,
    experiments: experiments.service as never,
    findAgain: (u) => void findAgain.push(u),
  });
  const panel = vscode.panels[vscode.panels.length - 1];
  return { uri, panel };
}

const waitFor = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), 'condition reached');
};

describe('LR finder panel host', () => {
  it('opens one panel per experiment and posts the result with the rate in the file', async () => {
    const experiments = fakeExperiments(experimentText(0.01));
    const { uri, panel } = open('/ws/demo.finetune.json', experiments, []);
    assert.equal(panel.viewType, LR_FINDER_VIEW_TYPE);
    assert.equal(panel.title, 'LR Finder: demo');
    await panel.deliver({ type: 'ready' });
    await waitFor(() => panel.posted.length === 1);
    const init = panel.posted[0] as Extract<HostToLrFinderPanel, { type: 'init' }>;
    assert.equal(init.type, 'init');
    assert.deepEqual(init.state, { experimentPath: uri.fsPath, result: RESULT, currentLr: 0.01 });

    // A second sweep of the same file reuses the panel and redraws it.
    const before = vscode.panels.length;
    open('/ws/demo.finetune.json', experiments, []);
    assert.equal(vscode.panels.length, before);
    await waitFor(() => panel.posted.length === 2);
    panel.dispose();
  });

  it('"Use" writes training.learningRate once; forged messages write nothing', async () => {
    const experiments = fakeExperiments(experimentText(0.01));
    const findAgain: unknown[] = [];
    const { uri, panel } = open('/ws/use.finetune.json', experiments, findAgain);
    await panel.deliver({ type: 'ready' });
    for (const junk of [
      { type: 'useLearningRate', value: -0.001 },
      { type: 'useLearningRate', value: '0.001' },
      { type: 'useLearningRate', value: Number.NaN },
      { type: 'useLearningRate' },
      { type: 'setValue', path: ['training', 'epochs'], value: 1 },
      null,
    ])
      await panel.deliver(junk);
    assert.deepEqual(experiments.edits, []);
    await panel.deliver({ type: 'useLearningRate', value: 0.00032 });
    assert.deepEqual(experiments.edits, [
      { uri: uri.fsPath, path: ['training', 'learningRate'], value: 0.00032 },
    ]);
    await panel.deliver({ type: 'findAgain' });
    assert.deepEqual(findAgain, [uri]);
    panel.dispose();
  });

  it('follows the learning rate in the file, and says when the file is unreadable', async () => {
    const experiments = fakeExperiments(experimentText(0.01));
    const { uri, panel } = open('/ws/follow.finetune.json', experiments, []);
    await panel.deliver({ type: 'ready' });
    await waitFor(() => panel.posted.length === 1);
    experiments.setText(experimentText(0.00032), uri);
    await waitFor(() => panel.posted.length === 2);
    assert.deepEqual(panel.posted[1], { type: 'currentLr', value: 0.00032 });
    experiments.setText('{ "name": ', uri);
    await waitFor(() => panel.posted.length === 3);
    assert.deepEqual(panel.posted[2], { type: 'currentLr', value: undefined });
    panel.dispose();
  });

  it('reopens after a reload only from a saved state that looks like its own', () => {
    assert.ok(isSavedLrFinderState({ experimentPath: '/ws/a.finetune.json', result: RESULT }));
    assert.ok(!isSavedLrFinderState({ experimentPath: '/ws/a.json', result: RESULT }));
    assert.ok(!isSavedLrFinderState({ experimentPath: '/ws/a.finetune.json', result: { points: 'x' } }));
    assert.ok(!isSavedLrFinderState(null));
  });
});
