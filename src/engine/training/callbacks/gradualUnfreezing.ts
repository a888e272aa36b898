/**
 * Gradual unfreezing as a callback: at the start of every epoch the groups learn which pre-trained
 * layers take part (learningRateGroups.ts; the plan itself is layerGroups.ts), and the run says so — a
 * `phase` event and a log line at the first epoch and whenever a block unfreezes.
 */
import type { TrainingEvent } from '../../../protocol/trainingEvents';
import type { UnfreezePhase } from '../../../core/portable/layerGroups';
import type { FitState, TrainingCallback } from './trainingCallback';

/** What the callback drives (LearningRateGroups). */
export interface UnfreezingRates {
  /** Applies the phase of a 1-based epoch; undefined when gradual unfreezing is off. */
  enterEpoch(epoch: number): UnfreezePhase | undefined;
  readonly blocks: readonly string[][];
}

export class GradualUnfreezingCallback implements TrainingCallback {
  constructor(
    private readonly rates: UnfreezingRates,
    private readonly emit: (event: TrainingEvent) => void,
  ) {}

  beforeEpoch(epoch: number, state: FitState): void {
    const phase = this.rates.enterEpoch(epoch);
    state.unfreezePhase = phase?.phase;
    if (!phase || (phase.unfrozenNow.length === 0 && epoch !== 1)) return;
    const phases = this.rates.blocks.length;
    this.emit({
      type: 'phase',
      epoch,
      phase: phase.phase,
      phases,
      trainable: phase.trainable,
      unfrozenNow: phase.unfrozenNow,
    });
    this.emit({
      type: 'log',
      level: 'info',
      message:
        phase.phase === 0
          ? `gradual unfreezing: epoch ${epoch} trains the head only (${phases} blocks wait)`
          : `gradual unfreezing: epoch ${epoch} unfreezes ${phase.unfrozenNow.join(', ')} (block ${phase.phase} of ${phases})`,
    });
  }
}
