/**
 * The trials of a sweep, decided up front: a grid is every combination of the values (the first
 * parameter varying slowest, as nested loops in file order); a random sweep draws maxTrials points from a
 * generator seeded by the sweep's seed, one draw per parameter per trial in file order — so the same file
 * gives the same trials on any machine, and trial k does not depend on how many trials follow it. Deciding
 * them up front is what lets a Slurm array index name its trial and a resumed sweep continue exactly.
 */
import type { Distribution, ParamValue, SweepConfig, SweepParameter } from '../../protocol/sweepConfig';
import { createRng, type Rng } from '../rng';

export type TrialParams = Record<string, ParamValue>;

/** Integer ranges expand to their values in a grid; beyond this many, a range is not a grid dimension. */
export const MAX_GRID_RANGE = 1000;

export const isValuesParameter = (p: SweepParameter): p is { values: ParamValue[] } => 'values' in p;

export function distributionOf(p: SweepParameter): Distribution | undefined {
  return isValuesParameter(p) ? undefined : (p.distribution ?? 'uniform');
}

/** A parameter's values in a grid, or undefined when it is a continuous range (no finite grid). */
export function gridValues(p: SweepParameter): ParamValue[] | undefined {
  if (isValuesParameter(p)) return p.values;
  if (distributionOf(p) !== 'int_uniform') return undefined;
  const count = p.max - p.min + 1;
  if (count > MAX_GRID_RANGE) return undefined;
  return Array.from({ length: count }, (_, i) => p.min + i);
}

/** How many combinations the grid has, and the factor each parameter contributes. */
export function gridSize(parameters: Record<string, SweepParameter>): { size: number; factors: number[] } {
  const factors = Object.values(parameters).map((p) => gridValues(p)?.length ?? Infinity);
  return { size: factors.reduce((a, b) => a * b, 1), factors };
}

export function gridTrials(parameters: Record<string, SweepParameter>): TrialParams[] {
  let combos: TrialParams[] = [{}];
  for (const [key, p] of Object.entries(parameters)) {
    const values = gridValues(p);
    if (values === undefined) throw new Error(`${key} is a continuous range: a grid needs values`);
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: copyValue(value) })));
  }
  return combos;
}

/** One draw of a parameter: a value from its list, or a point of its range by its distribution. */
export function drawParameter(p: SweepParameter, rng: Rng): ParamValue {
  if (isValuesParameter(p)) return copyValue(p.values[rng.int(p.values.length)]);
  const u = rng.next();
  switch (distributionOf(p)) {
    case 'int_uniform':
      return Math.min(p.max, p.min + Math.floor(u * (p.max - p.min + 1)));
    case 'log_uniform': {
      const value = Math.exp(Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min)));
      // exp(log(x)) can land one rounding step outside the range: the range is a promise.
      return Math.min(p.max, Math.max(p.min, value));
    }
    default:
      return Math.min(p.max, p.min + u * (p.max - p.min));
  }
}

export function randomTrials(
  parameters: Record<string, SweepParameter>,
  count: number,
  seed: number,
): TrialParams[] {
  const rng = createRng(`sweep:${seed}`);
  return Array.from({ length: count }, () =>
    Object.fromEntries(Object.entries(parameters).map(([key, p]) => [key, drawParameter(p, rng)])),
  );
}

/** The trials of a (validated) sweep, trial 0 first. */
export function sweepTrials(sweep: Pick<SweepConfig, 'method' | 'parameters' | 'maxTrials' | 'seed'>) {
  return sweep.method === 'grid'
    ? gridTrials(sweep.parameters)
    : randomTrials(sweep.parameters, sweep.maxTrials, sweep.seed);
}

function copyValue(value: ParamValue): ParamValue {
  return value !== null && typeof value === 'object'
    ? (JSON.parse(JSON.stringify(value)) as ParamValue)
    : value;
}
