import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExperimentConfig } from '../../src/protocol/experimentConfig';
import { adviseFromCurves, type AdviceInput } from '../../src/core/advice/curveAdvice';
import { experimentConfig } from '../helpers/fixtureConfig';

const base = experimentConfig({ name: 'x', baseModel: '/m/model.json' });
const config: ExperimentConfig = {
  ...base,
  head: { ...base.head, dropout: 0.2 },
  training: { ...base.training, earlyStopping: false },
};
const curve = (rows: [number, number, number, number][]): AdviceInput['metrics'] =>
  rows.map(([loss, accuracy, val_loss, val_accuracy], i) => ({
    epoch: i + 1,
    loss,
    accuracy,
    val_loss,
    val_accuracy,
  }));
const input = (metrics: AdviceInput['metrics'], patch: Partial<AdviceInput> = {}): AdviceInput => ({
  metrics,
  config,
  minImagesPerClass: 100,
  trainablePretrainedParams: 5000,
  cutAt: 'flatten',
  ...patch,
});

describe('advice from the curves', () => {
  it('overfitting: names the epoch, the evidence, and applicable suggestions', () => {
    const advice = adviseFromCurves(
      input(
        curve([
          [1.0, 0.5, 1.0, 0.5],
          [0.7, 0.7, 0.8, 0.7],
          [0.5, 0.8, 0.7, 0.75],
          [0.4, 0.85, 0.75, 0.74],
          [0.3, 0.9, 0.8, 0.73],
          [0.2, 0.95, 0.9, 0.72],
        ]),
      ),
    );
    const over = advice.find((a) => a.id === 'overfitting')!;
    assert.equal(over.title, 'Overfitting from epoch 3');
    assert.match(
      over.evidence,
      /val_loss has risen for 3 epochs in a row \(0\.700 → 0\.900\) while loss fell \(0\.500 → 0\.200\)/,
    );
    const actions = over.suggestions.map((s) => s.action);
    assert.deepEqual(actions[0], { kind: 'setValue', path: ['head', 'dropout'], value: 0.4 });
    assert.ok(actions.some((a) => a?.kind === 'layerEdit' && a.edit.kind === 'freezeUpTo'));
    assert.ok(actions.some((a) => a?.kind === 'setValue' && a.path.join('.') === 'regularization.l2sp'));
    assert.ok(actions.some((a) => a?.kind === 'setValue' && a.path.join('.') === 'training.earlyStopping'));
  });

  it('underfitting: low training accuracy suggests unfreezing and a higher LR', () => {
    const advice = adviseFromCurves(
      input(
        curve([
          [1.6, 0.3, 1.6, 0.3],
          [1.5, 0.35, 1.5, 0.34],
          [1.45, 0.4, 1.46, 0.38],
        ]),
      ),
    );
    const under = advice.find((a) => a.id === 'underfitting')!;
    assert.match(under.evidence, /training accuracy is 0\.400/);
    assert.deepEqual(under.suggestions[1].action, {
      kind: 'setValue',
      path: ['training', 'learningRate'],
      value: 0.003,
    });
  });

  it('a tiny dataset with a trainable base says keep the base frozen', () => {
    const advice = adviseFromCurves(input([], { minImagesPerClass: 12 }));
    assert.equal(advice[0].id, 'small-dataset');
    assert.equal(advice[0].title, 'Dataset has 12 images per class: keep the base frozen');
    assert.deepEqual(
      adviseFromCurves(input([], { minImagesPerClass: 12, trainablePretrainedParams: 0 })),
      [],
    );
  });

  it('both losses rising means a too-high learning rate, not overfitting', () => {
    const advice = adviseFromCurves(
      input(
        curve([
          [0.5, 0.8, 0.6, 0.8],
          [0.6, 0.78, 0.7, 0.77],
          [0.8, 0.75, 0.9, 0.7],
        ]),
      ),
    );
    assert.deepEqual(
      advice.map((a) => a.id),
      ['diverging'],
    );
  });

  it('healthy curves give no advice', () => {
    assert.deepEqual(
      adviseFromCurves(
        input(
          curve([
            [1, 0.5, 1, 0.5],
            [0.6, 0.8, 0.6, 0.8],
            [0.4, 0.9, 0.45, 0.88],
          ]),
        ),
      ),
      [],
    );
  });
});
