/**
 * Banners under the header: the overfitting warning (when the engine signalled it, or any epoch carries
 * the flag) and the end of the run (why it ended, or its error). Texts from the engine go in through
 * textContent.
 */
import type { TrainingPanelState } from '../../src/protocol/webviewMessages';
import { firstOverfitEpoch } from './state';

const OVERFIT_HINT =
  'Consider more dropout, stronger augmentation, freezing more layers, L2-SP or early stopping.';

export interface BannersView {
  element: HTMLElement;
  update(run: TrainingPanelState | undefined): void;
}

export function createBanners(): BannersView {
  const element = document.createElement('div');
  element.className = 'banners';

  const overfit = banner('overfit-banner', 'banner-warning', 'codicon-warning');
  overfit.root.setAttribute('role', 'alert');
  const end = banner('end-banner', 'banner-info', 'codicon-info');
  element.append(overfit.root, end.root);

  return {
    element,
    update(run) {
      const from = run ? firstOverfitEpoch(run) : undefined;
      overfit.root.hidden = !run || from === undefined;
      if (run && from !== undefined) {
        const epoch = run.overfitting?.epoch ?? from;
        overfit.title.textContent = `Overfitting detected at epoch ${epoch}.`;
        // Runs read back from disk may carry only the per-epoch flag, whose meaning is fixed.
        overfit.text.textContent =
          run.overfitting?.reason ?? 'val_loss kept rising while the training loss fell.';
        // The advice below says the same with the run's numbers, and applies it with a click.
        overfit.hint.textContent = run.advice?.some((a) => a.id === 'overfitting')
          ? 'One-click fixes are under Advice, below the charts.'
          : OVERFIT_HINT;
      }

      const message = run ? endMessage(run) : undefined;
      end.root.hidden = !message;
      if (run && message) {
        const failed = run.status === 'failed' || run.status === 'crashed';
        end.root.className = `banner ${failed ? 'banner-error' : 'banner-info'}`;
        end.icon.className = `codicon ${failed ? 'codicon-error' : run.status === 'stopped' ? 'codicon-debug-stop' : 'codicon-pass'}`;
        end.title.textContent = message.title;
        end.text.textContent = message.text;
        end.text.classList.toggle('error-text', failed && Boolean(run.error));
        end.hint.textContent = '';
      }
    },
  };
}

function endMessage(run: TrainingPanelState): { title: string; text: string } | undefined {
  switch (run.status) {
    case 'running':
      return undefined;
    case 'completed':
      return { title: 'Run completed.', text: run.endReason ?? '' };
    case 'stopped':
      return { title: 'Run stopped.', text: run.endReason ?? '' };
    case 'failed':
      return { title: 'Run failed.', text: run.error ?? run.endReason ?? '' };
    case 'crashed':
      return { title: 'The trainer process crashed.', text: run.error ?? run.endReason ?? '' };
  }
}

function banner(id: string, kind: string, icon: string) {
  const root = document.createElement('div');
  root.id = id;
  root.className = `banner ${kind}`;
  root.hidden = true;
  const iconEl = root.appendChild(document.createElement('span'));
  iconEl.className = `codicon ${icon}`;
  iconEl.setAttribute('aria-hidden', 'true');
  const body = root.appendChild(document.createElement('div'));
  body.className = 'banner-body';
  const title = body.appendChild(document.createElement('strong'));
  const text = body.appendChild(document.createElement('span'));
  text.className = 'banner-text';
  const hint = body.appendChild(document.createElement('span'));
  hint.className = 'banner-hint';
  return { root, icon: iconEl, title, text, hint };
}
