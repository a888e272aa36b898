/**
 * The panel's header: run name, status badge, backend (and the GPU adapter on webgpu), epoch N of M with a progress bar, the best epoch,
 * training time, and a Stop button while the run is in progress. Built once; `update` rewrites text only
 * (called up to ~10×/s while batches stream in). File-derived strings go in through textContent.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { RunStatus } from '../../src/protocol/runRecord';
import type { TrainingPanelState } from '../../src/protocol/webviewMessages';
import { formatDuration, formatLoss, formatPercent } from '../shared/format';
import { bestMetrics, elapsedSeconds, progressFraction } from './state';
import { el } from '../shared/dom';

const STATUS_ICON: Record<RunStatus, string> = {
  running: 'codicon-loading codicon-modifier-spin',
  completed: 'codicon-pass',
  stopped: 'codicon-debug-stop',
  failed: 'codicon-error',
  crashed: 'codicon-error',
};

export interface HeaderView {
  element: HTMLElement;
  update(run: TrainingPanelState | undefined): void;
}

export function createHeader(onStop: () => void): HeaderView {
  const element = el('header', 'run-header');
  const titleRow = element.appendChild(el('div', 'title-row'));
  const name = titleRow.appendChild(el('h1', 'panel-title run-name'));
  const badge = titleRow.appendChild(el('span', 'status-badge'));
  badge.setAttribute('role', 'status');
  const badgeIcon = badge.appendChild(el('span', 'codicon'));
  badgeIcon.setAttribute('aria-hidden', 'true');
  const badgeLabel = badge.appendChild(el('span', 'status-label'));
  titleRow.appendChild(el('span', 'spacer'));
  const stop = titleRow.appendChild(document.createElement('vscode-button'));
  stop.id = 'stop-button';
  stop.secondary = true;
  stop.title = 'Stop the run after the current batch (the best model so far is kept)';
  const stopIcon = stop.appendChild(el('span', 'codicon codicon-debug-stop'));
  stopIcon.slot = 'content-before';
  const stopLabel = stop.appendChild(document.createTextNode('Stop'));

  const facts = element.appendChild(el('div', 'facts'));
  const backend = fact(facts, 'Backend');
  const adapter = fact(facts, 'GPU adapter');
  const epoch = fact(facts, 'Epoch');
  const best = fact(facts, 'Best');
  const time = fact(facts, 'Training time');
  const progress = element.appendChild(el('div', 'progress'));
  progress.setAttribute('role', 'progressbar');
  progress.setAttribute('aria-label', 'Epochs completed');
  const progressFill = progress.appendChild(el('div', 'progress-fill'));

  // One Stop per run: after the click the button waits for the host's `status` (a graceful stop ends
  // after the current batch), so a second click cannot queue a second request.
  let stopRequestedFor: string | undefined;
  let currentRunId: string | undefined;
  stop.addEventListener('click', () => {
    if (stop.disabled || !currentRunId) return;
    stopRequestedFor = currentRunId;
    stop.disabled = true;
    stopLabel.textContent = 'Stopping…';
    onStop();
  });

  return {
    element,
    update(run) {
      element.hidden = !run;
      if (!run) return;
      currentRunId = run.runId;
      name.textContent = run.name;
      name.title = `${run.name} (${run.runId})`;
      badge.className = `status-badge status-${run.status}`;
      badgeIcon.className = `codicon ${STATUS_ICON[run.status] ?? 'codicon-circle-outline'}`;
      badgeLabel.textContent = run.status;

      const running = run.status === 'running';
      stop.hidden = !running;
      const stopping = running && stopRequestedFor === run.runId;
      stop.disabled = stopping;
      stopLabel.textContent = stopping ? 'Stopping…' : 'Stop';

      backend.textContent = run.backend || '—';
      const adapterText = typeof run.adapter === 'string' ? run.adapter : '';
      adapter.textContent = adapterText;
      (adapter.parentElement as HTMLElement).hidden = !adapterText;
      const done = run.metrics.length > 0 ? run.metrics[run.metrics.length - 1].epoch : 0;
      epoch.textContent = `${done} of ${run.epochsPlanned}`;
      const b = bestMetrics(run);
      best.textContent = b
        ? `epoch ${b.epoch} · val_loss ${formatLoss(b.val_loss)} · val_acc ${formatPercent(b.val_accuracy)}`
        : '—';
      time.textContent = run.metrics.length > 0 ? formatDuration(elapsedSeconds(run)) : '—';

      const fraction = progressFraction(run);
      progress.hidden = !running;
      progress.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
      progressFill.style.width = `${(fraction * 100).toFixed(1)}%`;
    },
  };
}

function fact(parent: HTMLElement, label: string): HTMLElement {
  const item = parent.appendChild(el('div', 'fact'));
  item.appendChild(el('span', 'fact-label')).textContent = label;
  return item.appendChild(el('span', 'fact-value'));
}
