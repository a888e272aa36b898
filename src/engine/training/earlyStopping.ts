/**
 * Early stopping with restore-best, written here because tfjs-layers' EarlyStopping throws on
 * `restoreBestWeights`. Pure bookkeeping: the loop feeds one value per epoch and acts on the verdict.
 */
import type { EarlyStoppingConfig, MonitorName } from '../../protocol/experimentConfig';

export interface EpochVerdict {
  /** The monitored value improved on the best by more than minDelta: this epoch is the new best. */
  improved: boolean;
  /** Patience is exhausted: stop after this epoch. */
  stop: boolean;
  bestEpoch: number;
  bestValue: number;
  /** Epochs since the best one. */
  wait: number;
}

export function isHigherBetter(monitor: MonitorName): boolean {
  return monitor === 'accuracy' || monitor === 'val_accuracy';
}

/** What a tracker has seen so far, JSON-serialisable (checkpoints), restorable with `restore`. */
export interface TrackerState {
  /** The best value so far, sign-adjusted (lower is better); null before any finite value (JSON has no ∞). */
  bestScore: number | null;
  bestEpoch: number;
  wait: number;
}

export class BestEpochTracker {
  private bestValue: number;
  private bestEpoch = 0;
  private wait = 0;
  private readonly sign: number;

  /** `config` false: track the best epoch (by val_loss) but never stop. */
  constructor(private readonly config: EarlyStoppingConfig | false) {
    this.sign = config !== false && isHigherBetter(config.monitor) ? -1 : 1;
    this.bestValue = Number.POSITIVE_INFINITY;
  }

  state(): TrackerState {
    return {
      bestScore: Number.isFinite(this.bestValue) ? this.bestValue : null,
      bestEpoch: this.bestEpoch,
      wait: this.wait,
    };
  }

  /** Continues from a saved state, as if the epochs it saw had been fed again. */
  restore(state: TrackerState): void {
    this.bestValue = state.bestScore ?? Number.POSITIVE_INFINITY;
    this.bestEpoch = state.bestEpoch;
    this.wait = state.wait;
  }

  get monitor(): MonitorName {
    return this.config === false ? 'val_loss' : this.config.monitor;
  }

  /** Records an epoch's monitored value (NaN never counts as an improvement). */
  update(epoch: number, value: number): EpochVerdict {
    const minDelta = this.config === false ? 0 : this.config.minDelta;
    const score = this.sign * value;
    const improved = Number.isFinite(score) && (this.bestEpoch === 0 || score < this.bestValue - minDelta);
    if (improved) {
      this.bestValue = score;
      this.bestEpoch = epoch;
      this.wait = 0;
    } else {
      this.wait += 1;
    }
    // Keras semantics: stop once `patience` epochs in a row brought no improvement (patience 0: at the first).
    const stop = this.config !== false && !improved && this.wait >= this.config.patience;
    return {
      improved,
      stop,
      bestEpoch: this.bestEpoch,
      bestValue: this.sign * this.bestValue,
      wait: this.wait,
    };
  }
}
