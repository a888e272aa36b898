/** The training panel's tab bar (Training | Data), an ARIA tablist of plain buttons. */
import type { TrainingPanelTab } from '../../src/protocol/webviewMessages';

export interface TabsView {
  element: HTMLElement;
  update(tab: TrainingPanelTab): void;
}

const TABS: { id: TrainingPanelTab; label: string; icon: string }[] = [
  { id: 'training', label: 'Training', icon: 'graph-line' },
  { id: 'data', label: 'Data', icon: 'file-media' },
];

export function createTabs(onSelect: (tab: TrainingPanelTab) => void): TabsView {
  const element = document.createElement('div');
  element.className = 'panel-tabs';
  element.setAttribute('role', 'tablist');
  const buttons = TABS.map(({ id, label, icon }) => {
    const button = element.appendChild(document.createElement('button'));
    button.type = 'button';
    button.className = 'panel-tab';
    button.id = `tab-${id}`;
    button.setAttribute('role', 'tab');
    button.setAttribute('aria-controls', `${id}-tab`);
    const glyph = button.appendChild(document.createElement('span'));
    glyph.className = `codicon codicon-${icon}`;
    glyph.setAttribute('aria-hidden', 'true');
    button.append(label);
    button.addEventListener('click', () => onSelect(id));
    return { id, button };
  });
  return {
    element,
    update(tab) {
      for (const { id, button } of buttons) {
        button.setAttribute('aria-selected', String(id === tab));
        button.tabIndex = id === tab ? 0 : -1;
      }
    },
  };
}
