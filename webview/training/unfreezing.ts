/**
 * Gradual unfreezing in the training panel: which phase the run is in, which pre-trained layers train
 * now, and when the next block unfreezes. Layer paths come from the model file: text only.
 */
import type { TrainingPanelState } from '../../src/protocol/webviewMessages';

export interface UnfreezingView {
  element: HTMLElement;
  update(run: TrainingPanelState | undefined): void;
}

const MAX_CHIPS = 10;

export function createUnfreezingView(): UnfreezingView {
  const element = document.createElement('div');
  element.id = 'unfreezing-banner';
  element.className = 'banner banner-phase';
  element.setAttribute('role', 'status');
  element.hidden = true;
  const icon = element.appendChild(document.createElement('span'));
  icon.className = 'codicon codicon-layers';
  icon.setAttribute('aria-hidden', 'true');
  const body = element.appendChild(document.createElement('div'));
  body.className = 'banner-body';
  const title = body.appendChild(document.createElement('strong'));
  const text = body.appendChild(document.createElement('span'));
  text.className = 'banner-text';
  const chips = body.appendChild(document.createElement('span'));
  chips.className = 'layer-chips';
  const next = body.appendChild(document.createElement('span'));
  next.className = 'banner-hint';
  let shown: string | undefined;

  return {
    element,
    update(run) {
      const info = run?.unfreezing;
      const key = JSON.stringify([info, run?.status]);
      if (key === shown) return;
      shown = key;
      element.hidden = !info;
      if (!run || !info) return;
      const running = run.status === 'running';
      const of = info.phases !== undefined ? ` of ${info.phases}` : '';
      title.textContent =
        info.phase === 0
          ? `Gradual unfreezing: head only${info.phases !== undefined ? ` (${info.phases} blocks wait)` : ''}.`
          : `Gradual unfreezing: phase ${info.phase}${of}.`;
      const trainable = info.trainable ?? [];
      // Subjects: "the new head" alone, or "the new head and …" (plural).
      const one = running ? 'trains' : 'trained';
      const many = running ? 'train' : 'trained';
      text.textContent =
        info.phase === 0
          ? `Since epoch ${info.since} only the new head ${one}; the pre-trained layers wait.`
          : info.trainable
            ? `Since epoch ${info.since} the new head and ${trainable.length} pre-trained layer${trainable.length === 1 ? '' : 's'} ${many}:`
            : `Since epoch ${info.since} the new head and the top ${info.phase} block${info.phase === 1 ? '' : 's'} ${many}.`;
      const shownChips = trainable.slice(0, MAX_CHIPS).map((path) => {
        const code = document.createElement('code');
        code.className = 'layer-chip';
        code.textContent = path;
        return code;
      });
      if (trainable.length > MAX_CHIPS) {
        const more = document.createElement('span');
        more.className = 'muted';
        more.textContent = `+${trainable.length - MAX_CHIPS} more`;
        more.title = trainable.slice(MAX_CHIPS).join('\n');
        shownChips.push(more);
      }
      chips.replaceChildren(...shownChips);
      chips.hidden = shownChips.length === 0;
      if (info.next && running) {
        const layers = info.next.layers ?? [];
        next.textContent = `Next: epoch ${info.next.epoch} unfreezes ${layers.length > 0 ? layers.slice(0, 4).join(', ') + (layers.length > 4 ? ', …' : '') : 'the next block'}.`;
      } else if (!info.next && info.phase > 0 && running) {
        next.textContent = 'Every block is unfrozen now.';
      } else next.textContent = '';
    },
  };
}
