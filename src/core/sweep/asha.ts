/**
 * ASHA — asynchronous successive halving (Li et al. 2020), in its stopping form (as Ray Tune's
 * ASHAScheduler): rungs at minEpochs·η^k epochs below the trials' epoch budget; when a trial reaches a
 * rung, its metric (best so far) is compared with what the trials that reached that rung before it
 * recorded there, and it goes on only when it is within the best 1/η of them (ties go on). Decisions are
 * made as trials arrive — no trial waits for another — so it works with any number in parallel and on
 * any executor. Pure: the sweep controller feeds it epochs read from run folders and keeps its records in
 * the sweep's state, so a resumed sweep decides exactly as it would have.
 */
import type { AshaConfig, AshaRecord, SweepGoal } from '../../protocol/sweepConfig';

/** Epoch counts of the rungs below `maxEpochs` (a trial at its last epoch is done, not judged). */
export function ashaRungs(config: Pick<AshaConfig, 'minEpochs' | 'reductionFactor'>, maxEpochs: number) {
  const rungs: number[] = [];
  for (let r = config.minEpochs; r < maxEpochs; r *= config.reductionFactor) rungs.push(r);
  return rungs;
}

/** Linear-interpolation quantile (numpy's default) of unsorted values, q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export interface AshaDecision {
  rung: number;
  /** 1-based index of the rung (rung 1 = minEpochs). */
  rungIndex: number;
  value: number;
  /** The value a trial needed to go on; undefined when it was the first at the rung. */
  cutoff?: number;
  /** Trials compared with (the others that reached the rung before). */
  compared: number;
  stop: boolean;
}

export class Asha {
  private readonly records: AshaRecord[];

  constructor(
    private readonly config: Pick<AshaConfig, 'reductionFactor'>,
    private readonly goal: SweepGoal,
    readonly rungs: readonly number[],
    recorded: readonly AshaRecord[] = [],
  ) {
    this.records = recorded.map((r) => ({ ...r }));
  }

  get recorded(): AshaRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /**
   * A trial's metric per completed epoch (index 0 = epoch 1). Returns a decision for each rung it reached
   * since the last call, in rung order; the first decision that stops the trial is the last one returned.
   */
  observe(trial: number, history: readonly number[]): AshaDecision[] {
    const decisions: AshaDecision[] = [];
    for (const [index, rung] of this.rungs.entries()) {
      if (history.length < rung) break;
      if (this.records.some((r) => r.rung === rung && r.trial === trial)) continue;
      const value = this.bestOf(history.slice(0, rung));
      if (value === undefined) break;
      const others = this.records.filter((r) => r.rung === rung).map((r) => r.value);
      const cutoff = others.length === 0 ? undefined : this.cutoff(others);
      const stop = cutoff !== undefined && (this.goal === 'maximize' ? value < cutoff : value > cutoff);
      this.records.push({ rung, trial, value });
      decisions.push({ rung, rungIndex: index + 1, value, cutoff, compared: others.length, stop });
      if (stop) break;
    }
    return decisions;
  }

  /** The value of the worst trial still inside the best 1/η of `values`. */
  private cutoff(values: number[]): number {
    const keep = 1 / this.config.reductionFactor;
    return this.goal === 'maximize' ? quantile(values, 1 - keep) : quantile(values, keep);
  }

  private bestOf(values: readonly number[]): number | undefined {
    const finite = values.filter((v) => Number.isFinite(v));
    if (finite.length === 0) return undefined;
    return this.goal === 'maximize' ? Math.max(...finite) : Math.min(...finite);
  }
}

/** The end reason a trial stopped at a rung records: which rung, which epoch, and why. */
export function ashaStopReason(
  decision: AshaDecision,
  metric: string,
  goal: SweepGoal,
  reductionFactor: number,
  epochsPlanned: number,
): string {
  const fmt = (v: number): string => String(Number(v.toPrecision(4)));
  const side = goal === 'maximize' ? 'below' : 'above';
  return (
    `ASHA: stopped at rung ${decision.rungIndex} (epoch ${decision.rung} of ${epochsPlanned}): ` +
    `${metric} ${fmt(decision.value)} is ${side} the rung's cutoff ${fmt(decision.cutoff ?? decision.value)} ` +
    `(only the best 1/${reductionFactor} of the ${decision.compared + 1} trials that reached it go on)`
  );
}
