/** The training panel's evaluation caption says when Stop cut the evaluation of the best model short. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { RunSummary } from '../../src/protocol/runRecord';
import { imagesEvaluated } from '../../webview/shared/format';

function summary(evaluated: number, validationCount?: number): RunSummary {
  return {
    epoch: 3,
    classNames: ['a', 'b'],
    confusion: [],
    perClass: [],
    accuracy: 1,
    val_loss: 0.1,
    misclassified: [],
    predictions: Array.from({ length: evaluated }, (_, i) => ({
      file: `${i}.png`,
      trueIndex: 0,
      predictedIndex: 0,
      confidence: 1,
    })),
    ...(validationCount === undefined ? {} : { validationCount }),
  };
}

describe('evaluation caption', () => {
  it('counts the images evaluated, and says so when it was not all of them', () => {
    assert.equal(imagesEvaluated(summary(240, 240)), '240 validation images');
    assert.equal(
      imagesEvaluated(summary(240)),
      '240 validation images',
      'summaries written before the field',
    );
    assert.equal(
      imagesEvaluated(summary(512, 5000)),
      '512 of 5000 validation images (the run was stopped: the evaluation was cut short)',
    );
  });
});
