import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ExperimentConfig } from '../../src/protocol/experimentConfig';
import { adviseFromCurves, type AdviceInput } from '../../src/core/advice/curveAdvice';
import { OverfittingSignalCallback } from '../../src/engine/training/callbacks/overfittingSignal';
import { FitProgress } from '../../src/engine/training/callbacks/trainingCallback';
import { experimentConfig } from '../helpers/fixtureConfig';
import { epochMetrics } from './trainingCallbacks/metricsFixture';

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

  it('a saturated run (loss far above ln K, not falling) is advised as the engine ends it: diverged, lower the rate', () => {
    const saturated = curve([
      [8.29, 0.33, 10.75, 0.33],
      [10.75, 0.33, 10.75, 0.33],
    ]);
    const lr = { ...config, training: { ...config.training, learningRate: 1000000 } };
    const plain = adviseFromCurves(input(saturated, { config: lr, numClasses: 3 }));
    assert.deepEqual(
      plain.map((a) => a.id),
      ['diverged'],
      'only this advice: the others would only confuse',
    );
    assert.match(
      plain[0].evidence,
      /^The loss has stayed far above 1\.10, the loss of guessing among 3 classes/,
    );
    assert.deepEqual(plain[0].suggestions[0].action, {
      kind: 'setValue',
      path: ['training', 'learningRate'],
      value: 0.001,
    });
    const withFinder = adviseFromCurves(
      input(saturated, { config: lr, numClasses: 3, lrSuggestion: 0.00314 }),
    );
    assert.match(withFinder[0].suggestions[0].label, /finder's suggestion: 1000000 → 0\.0031/);
    assert.deepEqual(withFinder[0].suggestions[0].action, {
      kind: 'setValue',
      path: ['training', 'learningRate'],
      value: 0.0031,
    });
    assert.equal(withFinder[0].suggestions.length, 1);
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

  it('overfitting: the advice turns on at the same epoch as the engine’s flag, for any overfitPatience', () => {
    // val_loss up while loss falls for 1, then 2, then 4 epochs in a row.
    const rows: [number, number][] = [
      [1.0, 1.0],
      [0.9, 1.1],
      [0.95, 1.0],
      [0.8, 1.05],
      [0.7, 1.1],
      [0.75, 1.0],
      [0.6, 1.05],
      [0.5, 1.1],
      [0.4, 1.2],
      [0.3, 1.3],
    ];
    for (const overfitPatience of [1, 2, 3, 4]) {
      const cfg = { ...config, training: { ...config.training, overfitPatience } };
      const engine = new OverfittingSignalCallback(overfitPatience);
      const state = new FitProgress();
      const flags: boolean[] = [];
      const advised: boolean[] = [];
      rows.forEach(([loss, val_loss], i) => {
        const metrics = epochMetrics({ epoch: i + 1, loss, val_loss, accuracy: 0.9, val_accuracy: 0.8 });
        state.history.push(metrics);
        engine.afterEpoch({ metrics, isBest: false, bestEpoch: 0 }, state);
        flags.push(metrics.overfitting);
        const advice = adviseFromCurves(input(state.history, { config: cfg }));
        advised.push(advice.some((a) => a.id === 'overfitting'));
      });
      assert.ok(flags.some(Boolean), `patience ${overfitPatience}: the curve overfits`);
      assert.deepEqual(advised, flags, `patience ${overfitPatience}`);
    }
  });
});
