import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { applyEdits, parse } from 'jsonc-parser';
import type { LayerNode } from '../../src/protocol/layerTree';
import type { LayerEdit } from '../../src/protocol/webviewMessages';
import { currentStates, layerEditTextEdits, layerOrder } from '../../src/host/experiments/layerEdits';

const leaf = (path: string, className = 'Conv2D'): LayerNode => ({
  path,
  name: path.split('/').pop()!,
  className,
  outputShape: [null, 1],
  trainableParams: 1,
  nonTrainableParams: 0,
});
const TREE: LayerNode[] = [
  {
    ...leaf('features', 'Sequential'),
    children: ['conv1', 'bn1', 'pool1', 'conv2', 'bn2', 'pool2'].map((n) => leaf(`features/${n}`)),
  },
  leaf('flatten', 'Flatten'),
  leaf('dense_1', 'Dense'),
  leaf('dense_2', 'Dense'),
];
const FORMAT = { tabSize: 2, insertSpaces: true, eol: '\n' };

function apply(text: string, edit: LayerEdit): string {
  return applyEdits(text, layerEditTextEdits(text, edit, TREE, FORMAT));
}
function states(text: string): Record<string, string> {
  const doc = parse(text) as { freezeUpTo?: string; layers?: Record<string, 'frozen'> };
  return Object.fromEntries(
    currentStates({ freezeUpTo: doc.freezeUpTo, layers: doc.layers ?? {} }, layerOrder(TREE)),
  );
}

const START = `{
  // the sample
  "name": "x",
  "baseModel": "m/model.json",
  "freezeUpTo": "features/pool1"
}`;

describe('layer edits', () => {
  it('ticking a leaf after freezeUpTo adds one layers entry and keeps comments', () => {
    const out = apply(START, { kind: 'setFrozen', path: 'features/conv2', frozen: true });
    assert.match(out, /\/\/ the sample/);
    assert.deepEqual(parse(out).layers, { 'features/conv2': 'frozen' });
    assert.equal(states(out)['features/conv2'], 'frozen');
    assert.equal(states(out)['features/bn2'], 'trainable');
  });

  it('unticking a leaf inside freezeUpTo adds a trainable exception; ticking it again removes it', () => {
    const once = apply(START, { kind: 'setFrozen', path: 'features/bn1', frozen: false });
    assert.deepEqual(parse(once).layers, { 'features/bn1': 'trainable' });
    const twice = apply(once, { kind: 'setFrozen', path: 'features/bn1', frozen: true });
    assert.equal(parse(twice).layers, undefined, 'back to the minimal file');
  });

  it('a nested model checkbox freezes its whole block with one entry', () => {
    const out = apply(START, { kind: 'setFrozen', path: 'features', frozen: true });
    assert.deepEqual(parse(out).layers, { features: 'frozen' });
    assert.ok(
      ['conv1', 'bn1', 'pool1', 'conv2', 'bn2', 'pool2'].every(
        (n) => states(out)[`features/${n}`] === 'frozen',
      ),
    );
    assert.equal(states(out).flatten, 'trainable');
  });

  it('freeze up to here moves freezeUpTo and drops entries it makes redundant', () => {
    const withEntry = apply(START, { kind: 'setFrozen', path: 'features/conv2', frozen: true });
    const out = apply(withEntry, { kind: 'freezeUpTo', path: 'features/pool2' });
    assert.equal(parse(out).freezeUpTo, 'features/pool2');
    assert.equal(parse(out).layers, undefined);
  });

  it('unfreeze from here pulls freezeUpTo back', () => {
    const out = apply(START, { kind: 'unfreezeFrom', path: 'features/bn1' });
    assert.equal(parse(out).freezeUpTo, 'features/conv1');
    assert.equal(states(out)['features/bn1'], 'trainable');
  });

  it('re-initialise toggles, survives unfreeze all, and freezing overrides it', () => {
    const marked = apply(START, { kind: 'setReinit', path: 'dense_1', reinit: true });
    assert.deepEqual(parse(marked).layers, { dense_1: 'reinit' });
    const all = apply(marked, { kind: 'unfreezeAll' });
    assert.equal(parse(all).freezeUpTo, undefined);
    assert.deepEqual(parse(all).layers, { dense_1: 'reinit' });
    const unmarked = apply(marked, { kind: 'setReinit', path: 'dense_1', reinit: false });
    assert.equal(parse(unmarked).layers, undefined);
  });

  it('set as head cut writes head.cutAt', () => {
    const out = apply(START, { kind: 'setCut', path: 'flatten' });
    assert.equal(parse(out).head.cutAt, 'flatten');
  });

  it('a no-op edit produces no text edit', () => {
    assert.deepEqual(
      layerEditTextEdits(START, { kind: 'setFrozen', path: 'features/conv1', frozen: true }, TREE, FORMAT),
      [],
    );
  });
});
