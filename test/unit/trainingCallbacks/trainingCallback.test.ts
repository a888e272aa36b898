/** The callback list: order, the two strengths of cancellation, and how checkpoint shares merge. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  CallbackList,
  CancelFit,
  FitProgress,
  type TrainingCallback,
} from '../../../src/engine/training/callbacks/trainingCallback';

describe('training callbacks: the list', () => {
  it('fires every event to the callbacks in list order, awaiting each', async () => {
    const calls: string[] = [];
    const recorder = (name: string): TrainingCallback => ({
      beforeFit: async () => {
        await new Promise((r) => setTimeout(r, name === 'a' ? 5 : 0));
        calls.push(`${name}.beforeFit`);
      },
      beforeEpoch: (epoch) => void calls.push(`${name}.beforeEpoch ${epoch}`),
      afterBatch: (logs) => void calls.push(`${name}.afterBatch ${logs.batch}`),
      afterFit: (outcome) => void calls.push(`${name}.afterFit ${outcome.status}`),
    });
    const list = new CallbackList([recorder('a'), {}, recorder('b')]);
    const state = new FitProgress();
    await list.beforeFit(state);
    await list.beforeEpoch(3, state);
    await list.afterBatch(
      { epoch: 3, batch: 2, batches: 4, loss: 1, penalty: 0, accuracy: 1, size: 8, lr: 0.1 },
      state,
    );
    await list.afterFit({ status: 'completed', endReason: 'done' }, state);
    assert.deepEqual(calls, [
      'a.beforeFit',
      'b.beforeFit',
      'a.beforeEpoch 3',
      'b.beforeEpoch 3',
      'a.afterBatch 2',
      'b.afterBatch 2',
      'a.afterFit completed',
      'b.afterFit completed',
    ]);
  });

  it('CancelFit stops the event at the callback that throws: later callbacks do not get it', async () => {
    const seen: string[] = [];
    const list = new CallbackList([
      { beforeBatch: () => void seen.push('first') },
      {
        beforeBatch: () => {
          throw new CancelFit({ status: 'stopped', endReason: 'asked to' });
        },
      },
      { beforeBatch: () => void seen.push('third') },
    ]);
    await assert.rejects(
      list.beforeBatch({ epoch: 1, batch: 1, batches: 1 }, new FitProgress()),
      (e: unknown) => e instanceof CancelFit && e.outcome.status === 'stopped',
    );
    assert.deepEqual(seen, ['first']);
  });

  it('stopAfterEpoch keeps the first request, unless a later one is more severe (failed beats completed)', () => {
    const state = new FitProgress();
    const request = () => state.stopRequest;
    assert.equal(request(), undefined);
    state.stopAfterEpoch({ status: 'completed', endReason: 'early stopping' });
    state.stopAfterEpoch({ status: 'completed', endReason: 'another' });
    assert.equal(request()?.endReason, 'early stopping');
    state.stopAfterEpoch({ status: 'failed', endReason: 'diverged', error: 'Training diverged' });
    assert.equal(request()?.status, 'failed');
    state.stopAfterEpoch({ status: 'stopped', endReason: 'stop file' });
    assert.equal(request()?.status, 'failed', 'a gentler request never replaces a failure');
  });

  it("merges the callbacks' checkpoint shares, extra objects key by key", async () => {
    const list = new CallbackList([
      { checkpointState: () => ({ extra: { schedule: { best: 1, wait: 0, rate: 0.1 } } }) },
      { checkpointState: () => ({ tracker: { bestScore: 0.5, bestEpoch: 2, wait: 1 }, bestWeights: null }) },
      { checkpointState: () => ({ extra: { divergence: { streak: 1 } } }) },
      {},
    ]);
    assert.deepEqual(await list.checkpointState(), {
      extra: { schedule: { best: 1, wait: 0, rate: 0.1 }, divergence: { streak: 1 } },
      tracker: { bestScore: 0.5, bestEpoch: 2, wait: 1 },
      bestWeights: null,
    });
  });

  it('a resumed fit starts from the checkpoint history', () => {
    const history = [{ epoch: 1 }, { epoch: 2 }] as never[];
    const state = new FitProgress({ history } as never);
    assert.equal(state.history.length, 2);
    assert.notEqual(state.history, history, 'a copy: the checkpoint is not modified');
  });
});
