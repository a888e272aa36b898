/**
 * Valid head cuts on layer trees (pure): a chain, a residual block (from the functional graph's inputs),
 * nested models (a cut at a container = after its output), several outputs, and the default cut that
 * engine and host share.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { LayerNode } from '../../src/protocol/layerTree';
import { analyseCuts, defaultCutPath } from '../../src/core/portable/cutPoints';

const leaf = (path: string, className: string, inputs?: string[]): LayerNode => ({
  path,
  name: path.split('/').pop()!,
  className,
  outputShape: [null, 4],
  trainableParams: 0,
  nonTrainableParams: 0,
  ...(inputs ? { inputs } : {}),
});

// stem → body (functional: conv_a → conv_b; add(body input, conv_b); relu) → flatten → dense
const RESIDUAL: LayerNode[] = [
  leaf('stem', 'Conv2D', ['']),
  {
    ...leaf('body', 'Functional', ['stem']),
    output: 'body/relu',
    children: [
      leaf('body/conv_a', 'Conv2D', ['body']),
      leaf('body/conv_b', 'Conv2D', ['body/conv_a']),
      leaf('body/add', 'Add', ['body', 'body/conv_b']),
      leaf('body/relu', 'ReLU', ['body/add']),
    ],
  },
  leaf('flatten', 'Flatten', ['body']),
  leaf('dense', 'Dense', ['flatten']),
];

describe('head cut points', () => {
  it('a chain (a Sequential, no inputs written): every layer and block is a cut; the default is before the last Dense', () => {
    const tree: LayerNode[] = [
      {
        ...leaf('features', 'Sequential'),
        children: [leaf('features/conv', 'Conv2D'), leaf('features/pool', 'MaxPooling2D')],
      },
      leaf('flatten', 'Flatten'),
      leaf('hidden', 'Dense'),
      leaf('out', 'Dense'),
    ];
    const cuts = analyseCuts(tree);
    assert.deepEqual(cuts.valid, ['features', 'features/conv', 'features/pool', 'flatten', 'hidden', 'out']);
    assert.equal(cuts.outputLeaf('features'), 'features/pool');
    assert.equal(defaultCutPath(tree), 'hidden');
  });

  it('inside a residual branch no cut works: the message names the branch, the skip and the cuts that do', () => {
    const cuts = analyseCuts(RESIDUAL);
    assert.deepEqual(cuts.valid, ['stem', 'body', 'body/add', 'body/relu', 'flatten', 'dense']);
    for (const inside of ['body/conv_a', 'body/conv_b']) {
      assert.equal(cuts.isValid(inside), false);
      const problem = cuts.problem(inside)!;
      assert.match(problem, /inside a branch between "stem" and "body\/add"/);
      assert.match(problem, /the output of "stem" skips past it to "body\/add"/);
      assert.match(problem, /Cuts that work: "stem" \(before the branch\) or "body\/add" \(where it joins\)/);
    }
    assert.equal(cuts.problem('body/add'), undefined);
    assert.equal(cuts.problem('not/a/layer'), undefined, 'unknown names are the caller’s message');
    assert.equal(cuts.outputLeaf('body'), 'body/relu');
    assert.equal(defaultCutPath(RESIDUAL), 'flatten');
  });

  it('a nested model whose output is inside a branch is no cut either, and says where it ends', () => {
    const tree: LayerNode[] = [
      leaf('stem', 'Conv2D', ['']),
      // `side` ends on conv_a while the skip from stem is still waiting for the Add outside it.
      { ...leaf('side', 'Sequential', ['stem']), children: [leaf('side/conv_a', 'Conv2D')] },
      leaf('add', 'Add', ['stem', 'side']),
      leaf('dense', 'Dense', ['add']),
    ];
    const cuts = analyseCuts(tree);
    assert.equal(cuts.isValid('side'), false);
    assert.match(
      cuts.problem('side')!,
      /^ends at "side\/conv_a", which is inside a branch between "stem" and "add"/,
    );
    assert.deepEqual(cuts.valid, ['stem', 'add', 'dense']);
  });

  it('the default cut skips back to the last layer a head can follow', () => {
    // The layer before the last Dense is inside a parallel branch: the default is the Concatenate before.
    const tree: LayerNode[] = [
      leaf('a', 'Conv2D', ['']),
      leaf('b', 'Conv2D', ['']),
      leaf('cat', 'Concatenate', ['a', 'b']),
      leaf('flat', 'Flatten', ['cat']),
      leaf('x', 'Dense', ['flat']),
      leaf('y', 'Dense', ['flat']),
      leaf('sum', 'Add', ['x', 'y']),
      leaf('out', 'Dense', ['sum']),
    ];
    const cuts = analyseCuts(tree);
    assert.deepEqual(cuts.valid, ['cat', 'flat', 'sum', 'out']);
    assert.equal(defaultCutPath(tree), 'sum');
    assert.match(cuts.problem('a')!, /between the model input and "cat"/);
    assert.equal(defaultCutPath([leaf('conv', 'Conv2D'), leaf('pool', 'GlobalAveragePooling2D')]), undefined);
  });

  it('a layer with several outputs is no cut', () => {
    const tree: LayerNode[] = [
      {
        ...leaf('split', 'Lambda'),
        outputShape: [
          [null, 2],
          [null, 2],
        ],
      },
      leaf('dense', 'Dense'),
    ];
    const cuts = analyseCuts(tree);
    assert.equal(cuts.isValid('split'), false);
    assert.match(cuts.problem('split')!, /2 outputs/);
  });
});

describe('experiment panel rows', () => {
  it('offer "Set as head cut" only where a cut works', async () => {
    const { layerRows } = await import('../../webview/experiment/layerModel');
    const rows = layerRows(RESIDUAL, 'flatten');
    assert.deepEqual(
      rows.filter((r) => !r.cuttable).map((r) => r.node.path),
      ['body/conv_a', 'body/conv_b'],
    );
  });
});
