/** When a chart's value axis is logarithmic: the training panel's and the compare panel's LR curves. */

/**
 * A log axis only pays off when the values cover at least a factor of ten (a decaying schedule, or a
 * fine-tune multiplier of 0.1); it cannot show zero or negative values.
 */
export function spansDecade(values: readonly number[]): boolean {
  if (values.length === 0 || values.some((v) => v <= 0)) return false;
  return Math.max(...values) / Math.min(...values) >= 10;
}
