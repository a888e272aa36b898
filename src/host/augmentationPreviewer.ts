/**
 * The experiment panel's augmentation preview, computed without TensorFlow.js in the host: a short-lived
 * trainer process started with `--preview-augmentation <experiment>` answers with the images and exits
 * (as ModelDescriber does for layer trees). The latest request wins: settings change while a preview is
 * being made, so a new request ends the one in flight rather than queueing behind it.
 */
import type { ChildProcess } from 'node:child_process';
import { forkTrainer } from './forkTrainer';
import {
  DEFAULT_PREVIEW_COUNT,
  TRAINER_PREVIEW_AUGMENTATION_ARG,
  TRAINER_PREVIEW_COUNT_ARG,
  TRAINER_PREVIEW_SEED_ARG,
  type AugmentationPreviewImage,
} from '../protocol/augmentationPreview';
import { isTrainerToHost } from '../protocol/messageGuards';

/** A request that a newer one replaced: nobody waits for its answer any more. */
export class PreviewSupersededError extends Error {
  constructor() {
    super('A newer augmentation preview was requested.');
  }
}

export const RESTRICTED_PREVIEW_MESSAGE =
  "The augmentation preview is disabled in Restricted Mode: it runs TensorFlow.js and the image decoder on this workspace's image files. Trust the workspace to see it.";

export class AugmentationPreviewer {
  private inFlight: { child: ChildProcess; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly trainerScript: string,
    private readonly timeoutMs = 60000,
    /** Workspace Trust: workspace images are only decoded while this says yes. */
    private readonly trusted: () => boolean = () => true,
  ) {}

  preview(
    experimentPath: string,
    seed: number,
    count = DEFAULT_PREVIEW_COUNT,
  ): Promise<AugmentationPreviewImage[]> {
    this.cancel();
    if (!this.trusted()) return Promise.reject(new Error(RESTRICTED_PREVIEW_MESSAGE));
    return new Promise((resolve, reject) => {
      const { child, stderrTail } = forkTrainer(this.trainerScript, [
        TRAINER_PREVIEW_AUGMENTATION_ARG,
        experimentPath,
        TRAINER_PREVIEW_COUNT_ARG,
        String(count),
        TRAINER_PREVIEW_SEED_ARG,
        String(seed),
      ]);
      const mine = { child, reject };
      this.inFlight = mine;
      let settled = false;
      const settle = (action: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.inFlight === mine) this.inFlight = undefined;
        action();
      };
      mine.reject = (error) => settle(() => reject(error));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(() =>
          reject(new Error(`The augmentation preview took longer than ${this.timeoutMs / 1000} s.`)),
        );
      }, this.timeoutMs);
      child.on('message', (message: unknown) => {
        if (!isTrainerToHost(message)) return;
        if (message.type === 'augmentationPreview') settle(() => resolve(message.images));
        else if (message.type === 'failed') settle(() => reject(new Error(message.error)));
      });
      child.on('error', (error) => settle(() => reject(error)));
      child.on('close', (code) =>
        settle(() =>
          reject(
            new Error(
              `The augmentation preview exited (code ${code}) without an answer. ${stderrTail().trim()}`,
            ),
          ),
        ),
      );
    });
  }

  /** Ends the preview in flight (its promise rejects with PreviewSupersededError). */
  cancel(): void {
    const current = this.inFlight;
    if (!current) return;
    this.inFlight = undefined;
    current.child.kill('SIGKILL');
    current.reject(new PreviewSupersededError());
  }

  dispose(): void {
    this.cancel();
  }
}
