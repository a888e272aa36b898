/**
 * The learning-rate finder's arithmetic on scripted curves: the sweep's rates, the debiased moving
 * average, the stop rule, and where the suggestion lands.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  SMOOTHING_BETA,
  SmoothedLoss,
  hasDiverged,
  logSlopes,
  suggestLearningRate,
  sweepLearningRate,
  type CurvePoint,
} from '../../src/engine/training/lrSuggestion';

const STEPS = 100;
const lrs = Array.from({ length: STEPS }, (_, i) => sweepLearningRate(i, STEPS, 1e-7, 10));

/** A scripted curve over the default sweep: loss as a function of log10(lr). */
function curve(lossAt: (log10lr: number) => number, count = STEPS): CurvePoint[] {
  return lrs.slice(0, count).map((lr) => ({ lr, smoothed: lossAt(Math.log10(lr)) }));
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

describe('learning-rate sweep', () => {
  it('grows exponentially from the start to the end rate', () => {
    assert.equal(lrs[0], 1e-7);
    assert.ok(Math.abs(lrs[STEPS - 1] - 10) < 1e-9);
    const ratio = lrs[1] / lrs[0];
    for (let i = 1; i < STEPS; i++) assert.ok(Math.abs(lrs[i] / lrs[i - 1] - ratio) < 1e-9);
    // 8 decades in 99 steps.
    assert.ok(Math.abs(Math.log10(ratio) - 8 / 99) < 1e-12);
  });

  it('the debiased average of a constant loss is that constant from the first step', () => {
    const smoothing = new SmoothedLoss();
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(smoothing.add(2.5) - 2.5) < 1e-12);
  });

  it('the average follows the EMA with β = 0.98, divided by 1 − βⁿ', () => {
    const smoothing = new SmoothedLoss();
    const losses = [3, 1, 2, 0.5];
    let average = 0;
    losses.forEach((loss, i) => {
      average = SMOOTHING_BETA * average + (1 - SMOOTHING_BETA) * loss;
      const expected = average / (1 - SMOOTHING_BETA ** (i + 1));
      assert.ok(Math.abs(smoothing.add(loss) - expected) < 1e-12);
    });
    // Two steps in, the first loss still weighs about as much as the second (0.98 : 1).
    const two = new SmoothedLoss();
    two.add(3);
    assert.ok(Math.abs(two.add(1) - (0.98 * 3 + 1) / 1.98) < 1e-12);
  });

  it('stops beyond 4× the minimum or on a loss that is not finite', () => {
    assert.equal(hasDiverged(1, 1.9, 0.5), false);
    assert.equal(hasDiverged(1, 2.0, 0.5), false);
    assert.equal(hasDiverged(1, 2.01, 0.5), true);
    assert.equal(hasDiverged(Number.NaN, 1, 1), true);
    assert.equal(hasDiverged(Number.POSITIVE_INFINITY, 1, 1), true);
    assert.equal(hasDiverged(1, Number.NaN, 1), true);
  });
});

describe('the suggestion', () => {
  it('is the rate where the loss falls fastest against log lr', () => {
    // Falls from 2.0 to 0.5, fastest at lr = 1e-4, then blows up beyond 0.1.
    const points = curve((x) => 2 - 1.5 * sigmoid(3 * (x + 4)) + Math.max(0, x + 1) ** 2 * 3);
    const { suggestion, minLossLr, note } = suggestLearningRate(points);
    assert.ok(Math.abs(Math.log10(suggestion) + 4) <= 0.05, `suggestion ${suggestion} is near 1e-4`);
    const lowest = points.reduce((a, b) => (b.smoothed < a.smoothed ? b : a));
    assert.equal(minLossLr, lowest.lr);
    assert.equal(note, undefined);
  });

  it('moves with the curve: a descent centred on 1e-2 gives 1e-2', () => {
    const points = curve((x) => 2 - 1.5 * sigmoid(4 * (x + 2)));
    assert.ok(Math.abs(Math.log10(suggestLearningRate(points).suggestion) + 2) <= 0.05);
  });

  it('ignores a steeper fall after the minimum (the collapse after a blow-up)', () => {
    // Gentle descent to a minimum at 1e-3, a climb, then a cliff at 1e-1 (down to 1.5, still above
    // the minimum) — far steeper than the descent.
    const points = curve((x) => {
      if (x <= -3) return 1 + 0.05 * (x + 3) ** 2;
      if (x <= -1) return 1 + 0.6 * (x + 3);
      return Math.max(1.5, 2.2 - 20 * (x + 1));
    });
    const { suggestion, minLossLr } = suggestLearningRate(points);
    assert.ok(suggestion <= minLossLr, `suggestion ${suggestion} ≤ minimum at ${minLossLr}`);
    assert.ok(Math.abs(Math.log10(minLossLr) + 3) < 0.1);
  });

  it('skips the first tenth of the points, where the average rests on few losses', () => {
    // A sharp drop within the first 5 points, then a gentler real descent centred on 1e-3.
    const points = curve((x) => (x < -6.7 ? 3 : 2) - 1 * sigmoid(3 * (x + 3)));
    const { suggestion } = suggestLearningRate(points);
    assert.ok(Math.abs(Math.log10(suggestion) + 3) <= 0.05, `suggestion ${suggestion} is near 1e-3`);
  });

  it('falls back to the lowest loss ÷ 10, with a note, when the loss never falls', () => {
    const points = curve((x) => 1 + Math.exp(x), 60);
    const { suggestion, minLossLr, note } = suggestLearningRate(points);
    assert.equal(minLossLr, points[0].lr);
    assert.ok(Math.abs(suggestion - points[0].lr / 10) < 1e-20);
    assert.match(note ?? '', /never fell/);
  });

  it('says when the loss barely fell', () => {
    const points = curve((x) => 1 - 0.02 * sigmoid(3 * (x + 4)));
    assert.match(suggestLearningRate(points).note ?? '', /fell only 2\.0%/);
  });

  it('with too few points, gives the lowest loss ÷ 10 and says why', () => {
    const points: CurvePoint[] = [
      { lr: 1e-3, smoothed: 2 },
      { lr: 1e-2, smoothed: 1 },
      { lr: 1e-1, smoothed: 9 },
    ];
    const { suggestion, minLossLr, note } = suggestLearningRate(points);
    assert.equal(minLossLr, 1e-2);
    assert.ok(Math.abs(suggestion - 1e-3) < 1e-15);
    assert.match(note ?? '', /Only 3 steps/);
  });

  it('slopes are taken against log10(lr), central inside and one-sided at the ends', () => {
    const points = [1e-4, 1e-3, 1e-2, 1e-1].map((lr) => ({ lr, smoothed: -2 * Math.log10(lr) + 1 }));
    for (const slope of logSlopes(points)) assert.ok(Math.abs(slope + 2) < 1e-12);
  });
});
