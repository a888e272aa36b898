/**
 * The augmentation preview at the end of the Augmentation section: real training images of the dataset,
 * each before and after the file's augmentation settings. The host makes them (a one-shot trainer process)
 * when the page asks: after the settings that change the images (augmentation, dataset, model) settle,
 * and on Shuffle (a new seed: other images, other random draws). Images arrive as PNG data URLs (the CSP
 * allows `img-src data:`); class and file names are text only.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { AugmentationPreviewImage } from '../../src/protocol/augmentationPreview';
import type { ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { ExperimentPanelState, HostToExperimentPanel } from '../../src/protocol/webviewMessages';
import { textEl } from '../shared/escape';

/** Settings are typed a key at a time: ask once they have been still this long. */
export const PREVIEW_DEBOUNCE_MS = 500;

type PreviewMessage = Extract<HostToExperimentPanel, { type: 'augmentationPreview' }>;

export interface AugmentationPreviewView {
  element: HTMLElement;
  update(state: ExperimentPanelState): void;
  receive(message: PreviewMessage): void;
  /** Whether the section is open: a closed one asks for nothing until it is opened. */
  setOpen(open: boolean): void;
}

const DATA_URL = /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/;

function isActive(config: ExperimentConfig | undefined): boolean {
  const a = config?.augmentation;
  return (
    !!a &&
    (a.flipHorizontal ||
      a.rotation > 0 ||
      a.zoom > 0 ||
      a.translate > 0 ||
      a.brightness > 0 ||
      a.contrast > 0)
  );
}

function icon(name: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = `codicon codicon-${name}`;
  span.setAttribute('aria-hidden', 'true');
  return span;
}

export function createAugmentationPreview(
  request: (seed: number) => void,
  open: boolean,
): AugmentationPreviewView {
  const element = document.createElement('div');
  element.className = 'aug-preview';
  element.setAttribute('aria-label', 'Augmentation preview');

  const head = document.createElement('div');
  head.className = 'aug-head';
  const titles = document.createElement('div');
  titles.append(
    textEl('div', 'Preview', 'aug-title'),
    textEl('div', 'Training images before (left) and after (right) the settings above.', 'muted'),
  );
  const shuffle = document.createElement('vscode-button');
  shuffle.className = 'aug-shuffle';
  shuffle.secondary = true;
  shuffle.title = 'Other images, other random draws';
  shuffle.append(icon('refresh'), document.createTextNode('Shuffle'));
  head.append(titles, shuffle);

  const status = document.createElement('div');
  status.className = 'aug-status';
  status.setAttribute('role', 'status');
  const grid = document.createElement('div');
  grid.className = 'aug-grid';
  element.append(head, status, grid);

  let seed = 1;
  let sectionOpen = open;
  let lastKey: string | undefined;
  let wantedKey: string | undefined;
  let pending = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let state: ExperimentPanelState | undefined;

  const setStatus = (kind: 'loading' | 'error' | 'info' | 'none', text = ''): void => {
    status.className = `aug-status ${kind}`;
    status.hidden = kind === 'none';
    const glyph = kind === 'loading' ? 'loading codicon-modifier-spin' : kind === 'error' ? 'error' : 'info';
    status.replaceChildren(...(kind === 'none' ? [] : [icon(glyph), textEl('span', text)]));
  };
  setStatus('none');

  const ask = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!sectionOpen || wantedKey === undefined) return;
    lastKey = wantedKey;
    pending = true;
    element.classList.add('pending');
    setStatus('loading', grid.childElementCount > 0 ? 'Updating…' : 'Reading training images…');
    request(seed);
  };

  shuffle.addEventListener('click', () => {
    if (shuffle.hasAttribute('disabled')) return;
    seed = (seed % 0x7ffffffe) + 1;
    ask();
  });

  const render = (images: AugmentationPreviewImage[]): void => {
    const cells = images.map((image) => {
      const figure = document.createElement('figure');
      figure.className = 'aug-cell';
      const pair = document.createElement('div');
      pair.className = 'aug-pair';
      for (const [which, url] of [
        ['original', image.original],
        ['augmented', image.augmented],
      ] as const) {
        const img = document.createElement('img');
        img.className = `aug-img ${which}`;
        img.alt = `${image.className}: ${image.file} (${which})`;
        img.title = `${which}: ${image.file}`;
        if (typeof url === 'string' && DATA_URL.test(url)) img.src = url;
        pair.append(img);
      }
      const caption = document.createElement('figcaption');
      caption.append(textEl('span', image.className, 'aug-class'), textEl('span', image.file, 'aug-file'));
      caption.title = `${image.className} — ${image.file}`;
      figure.append(pair, caption);
      return figure;
    });
    grid.replaceChildren(...cells);
  };

  return {
    element,
    update(next) {
      state = next;
      const config = next.config;
      shuffle.toggleAttribute('disabled', !config);
      if (!config) {
        clearTimeout(timer);
        wantedKey = undefined;
        lastKey = undefined;
        grid.replaceChildren();
        setStatus('info', 'The preview appears once the problems above are fixed.');
        return;
      }
      // Only what changes the images asks for a new preview (not the learning rate, not the layers).
      wantedKey = JSON.stringify([config.augmentation, config.dataset, config.baseModel]);
      if (wantedKey === lastKey) return;
      clearTimeout(timer);
      timer = setTimeout(ask, lastKey === undefined ? 0 : PREVIEW_DEBOUNCE_MS);
    },
    receive(message) {
      if (message.seed !== seed || !state) return;
      pending = false;
      element.classList.remove('pending');
      if (message.error) {
        grid.replaceChildren();
        setStatus('error', message.error);
        return;
      }
      render(Array.isArray(message.images) ? message.images : []);
      if (message.images.length === 0) setStatus('info', 'No training images to show.');
      else if (!isActive(state.config)) {
        setStatus(
          'info',
          'Augmentation is off: both images of each pair are the same. Turn on a setting above.',
        );
      } else setStatus('none');
    },
    setOpen(isOpen) {
      sectionOpen = isOpen;
      if (isOpen && wantedKey !== undefined && wantedKey !== lastKey && !pending) ask();
    },
  };
}
