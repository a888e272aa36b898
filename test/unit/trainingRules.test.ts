/** Early stopping, the overfitting signal and the summary metrics on scripted sequences. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DEFAULT_EARLY_STOPPING } from '../../src/protocol/experimentConfig';
import { BestEpochTracker } from '../../src/engine/training/earlyStopping';
import { overfittingSignal } from '../../src/core/portable/overfitting';
import { buildSummary } from '../../src/engine/training/summary';

/** Feeds values until the tracker says stop; returns the epoch it stopped at (or the last) and the best. */
function replay(tracker: BestEpochTracker, values: number[]): { stoppedAt: number; best: number } {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const verdict = tracker.update(i + 1, values[i]);
    best = verdict.bestEpoch;
    if (verdict.stop) return { stoppedAt: i + 1, best };
  }
  return { stoppedAt: values.length, best };
}

describe('early stopping', () => {
  it('stops `patience` epochs after the best val_loss', () => {
    const tracker = new BestEpochTracker({ ...DEFAULT_EARLY_STOPPING, patience: 3 });
    assert.deepEqual(replay(tracker, [1.0, 0.8, 0.7, 0.75, 0.72, 0.69, 0.9, 0.95, 0.99, 0.5]), {
      stoppedAt: 9,
      best: 6,
    });
  });

  it('minDelta: improvements smaller than it do not count', () => {
    const tracker = new BestEpochTracker({ ...DEFAULT_EARLY_STOPPING, patience: 2, minDelta: 0.05 });
    assert.deepEqual(replay(tracker, [1.0, 0.97, 0.96, 0.5]), { stoppedAt: 3, best: 1 });
  });

  it('val_accuracy is maximised', () => {
    const tracker = new BestEpochTracker({ ...DEFAULT_EARLY_STOPPING, monitor: 'val_accuracy', patience: 2 });
    assert.deepEqual(replay(tracker, [0.5, 0.7, 0.6, 0.65, 0.9]), { stoppedAt: 4, best: 2 });
  });

  it('patience 0 stops at the first epoch without improvement (as Keras)', () => {
    const tracker = new BestEpochTracker({ ...DEFAULT_EARLY_STOPPING, patience: 0 });
    assert.deepEqual(replay(tracker, [1, 0.9, 0.95, 0.1]), { stoppedAt: 3, best: 2 });
  });

  it('turned off: tracks the best epoch by val_loss, never stops; NaN never becomes best', () => {
    const tracker = new BestEpochTracker(false);
    assert.equal(tracker.monitor, 'val_loss');
    assert.deepEqual(replay(tracker, [1, 0.5, NaN, 2, 3, 4, 5, 6]), { stoppedAt: 8, best: 2 });
  });
});

describe('overfitting signal', () => {
  const curve = (pairs: [number, number][]) =>
    pairs.map(([loss, val_loss], i) => ({ epoch: i + 1, loss, val_loss }));

  it('turns on when val_loss rose `patience` epochs in a row while loss fell, naming the start', () => {
    const history = curve([
      [1.0, 1.0],
      [0.8, 0.9],
      [0.6, 0.85],
      [0.5, 0.9],
      [0.4, 0.95],
    ]);
    assert.equal(overfittingSignal(history.slice(0, 4), 2).overfitting, false);
    const signal = overfittingSignal(history, 2);
    assert.equal(signal.overfitting, true);
    assert.equal(signal.streak, 2);
    assert.equal(signal.since, 3);
    assert.match(signal.reason!, /val_loss rose 2 epochs in a row \(since epoch 3\) while loss fell/);
  });

  it('does not fire when both losses rise (divergence, not overfitting) or the streak breaks', () => {
    assert.equal(
      overfittingSignal(
        curve([
          [1, 1],
          [1.1, 1.2],
          [1.2, 1.3],
          [1.3, 1.4],
        ]),
        2,
      ).overfitting,
      false,
    );
    assert.equal(
      overfittingSignal(
        curve([
          [1, 1],
          [0.9, 1.1],
          [0.8, 1.0],
          [0.7, 1.05],
        ]),
        2,
      ).overfitting,
      false,
    );
  });
});

describe('summary', () => {
  it('confusion matrix, per-class precision/recall and the misclassified files', () => {
    const p = (file: string, t: number, pr: number) => ({
      file,
      trueIndex: t,
      predictedIndex: pr,
      confidence: 0.9,
    });
    const summary = buildSummary(
      [p('a1', 0, 0), p('a2', 0, 1), p('b1', 1, 1), p('b2', 1, 1), p('c1', 2, 0)],
      ['a', 'b', 'c'],
      4,
      0.5,
    );
    assert.deepEqual(summary.confusion, [
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    assert.equal(summary.accuracy, 3 / 5);
    assert.deepEqual(
      summary.perClass.map((c) => [c.className, c.precision, c.recall, c.support]),
      [
        ['a', 0.5, 0.5, 2],
        ['b', 2 / 3, 1, 2],
        ['c', 0, 0, 1],
      ],
    );
    assert.deepEqual(
      summary.misclassified.map((m) => [m.file, m.trueClass, m.predictedClass]),
      [
        ['a2', 'a', 'b'],
        ['c1', 'c', 'a'],
      ],
    );
  });
});
