/**
 * The gallery cards of the Data tab: one per label issue, top loss or duplicate pair, with its thumbnail
 * (a `data:` URL made by the trainer), what the model thinks of it, and the actions on it. Built with
 * plain elements (a gallery holds hundreds of cards; it must open in well under a second), and every
 * file-derived string — file and class names — goes in through textContent or attributes, never markup.
 */
import type { DuplicatePair, LabelIssue, TopLoss } from '../../../src/protocol/dataInsight';
import type { DataAction } from '../../../src/protocol/webviewMessages';
import { el } from '../../shared/dom';
import { gradCamKey, type GradCamEntry } from './dataState';

export interface GalleryHandlers {
  onAction(action: DataAction, file: string, toClass?: string): void;
  /** Show (or hide, with classIndex undefined) the Grad-CAM of an image for a class. */
  onExplain(file: string, classIndex: number | undefined): void;
}

export interface CardContext {
  classNames: string[];
  thumbnails: Record<string, string>;
  gradCams: Record<string, GradCamEntry>;
  /** file → the class whose Grad-CAM the card shows. */
  explaining: Record<string, number>;
  handlers: GalleryHandlers;
}

const percent = (v: number): string => `${(v * 100).toFixed(v >= 0.995 || v < 0.005 ? 0 : 1)}%`;

export function issueCard(issue: LabelIssue, rank: number, context: CardContext): HTMLElement {
  const card = baseCard(issue.file, context);
  card.classList.add('issue-card');
  card.dataset.rank = String(rank);
  const labels = card.querySelector('.card-body')!.appendChild(el('div', 'card-labels'));
  labels.append(classSpan(issue.label, 'given'), arrow(), classSpan(issue.suggested, 'suggested'));
  labels.title = `In the folder "${issue.label}"; the out-of-sample models say "${issue.suggested}"`;
  const score = card.querySelector('.card-body')!.appendChild(el('div', 'card-score'));
  score.textContent = `score ${percent(issue.score)} · p(${issue.label}) ${percent(issue.selfConfidence)} · ${issue.split}`;
  if (issue.confident) {
    const star = score.insertBefore(el('span', 'codicon codicon-star-full confident-mark'), score.firstChild);
    star.title = 'One of the images confident learning estimates to be mislabelled';
    star.setAttribute('aria-label', 'confident learning estimate');
  }
  addActions(card, issue.file, issue.label, issue.suggested, context);
  return card;
}

export function topLossCard(loss: TopLoss, rank: number, context: CardContext): HTMLElement {
  const card = baseCard(loss.file, context);
  card.classList.add('loss-card');
  card.dataset.rank = String(rank);
  const body = card.querySelector('.card-body')!;
  const labels = body.appendChild(el('div', 'card-labels'));
  labels.append(
    text('true '),
    classSpan(loss.label, 'given'),
    text(' · predicted '),
    classSpan(loss.predicted, 'suggested'),
  );
  body.appendChild(el('div', 'card-score')).textContent =
    `p(${loss.predicted}) ${percent(loss.probability)} · p(${loss.label}) ${percent(loss.labelProbability)} · loss ${loss.loss.toFixed(2)}`;
  addActions(
    card,
    loss.file,
    loss.label,
    loss.predicted === loss.label ? undefined : loss.predicted,
    context,
  );
  return card;
}

export function duplicateCard(pair: DuplicatePair, context: CardContext): HTMLElement {
  const card = el('div', 'data-card duplicate-card');
  card.dataset.file = pair.val;
  card.dataset.train = pair.train;
  const images = card.appendChild(el('div', 'pair-images'));
  images.append(thumbBox(pair.train, context), thumbBox(pair.val, context));
  const body = card.appendChild(el('div', 'card-body'));
  body.appendChild(el('div', 'card-score')).textContent = pair.identical
    ? 'identical files'
    : `cosine similarity ${pair.similarity.toFixed(4)}`;
  for (const [role, file, label] of [
    ['training', pair.train, pair.trainLabel],
    ['validation', pair.val, pair.valLabel],
  ] as const) {
    const line = body.appendChild(el('div', 'pair-line'));
    line.append(text(`${role}: `));
    const name = line.appendChild(el('button', 'file-link'));
    name.type = 'button';
    name.title = `Open ${file}`;
    name.textContent = file;
    name.dataset.action = 'open';
    name.dataset.file = file;
    name.addEventListener('click', () => context.handlers.onAction('open', file));
    line.append(text(' '), classSpan(label, 'given'));
  }
  const actions = body.appendChild(el('div', 'card-actions'));
  actions.append(
    iconButton('trash', `Delete the validation copy ${pair.val} (to the trash)`, 'delete', () =>
      context.handlers.onAction('delete', pair.val),
    ),
    iconButton('check', 'Mark as reviewed (not shown again)', 'review', () =>
      context.handlers.onAction('review', pair.val),
    ),
  );
  return card;
}

function baseCard(file: string, context: CardContext): HTMLElement {
  const card = el('div', 'data-card');
  card.dataset.file = file;
  card.appendChild(thumbBox(file, context));
  const body = card.appendChild(el('div', 'card-body'));
  const name = body.appendChild(el('button', 'file-link card-file'));
  name.type = 'button';
  name.title = `Open ${file}`;
  name.textContent = file;
  name.dataset.action = 'open';
  name.addEventListener('click', () => context.handlers.onAction('open', file));
  return card;
}

function thumbBox(file: string, context: CardContext): HTMLElement {
  const box = el('div', 'thumb-box');
  const explained = context.explaining[file];
  const entry = explained !== undefined ? context.gradCams[gradCamKey(file, explained)] : undefined;
  const url = entry?.status === 'done' ? entry.result.overlay : context.thumbnails[file];
  if (url) {
    const img = box.appendChild(document.createElement('img'));
    img.className = entry?.status === 'done' ? 'thumb gradcam-overlay' : 'thumb';
    img.alt = file;
    img.decoding = 'async';
    img.src = url;
  } else {
    const icon = box.appendChild(el('span', 'codicon codicon-file-media thumb-missing'));
    icon.title = 'No preview (the file could not be decoded)';
  }
  if (entry?.status === 'loading')
    box.appendChild(el('span', 'codicon codicon-loading codicon-modifier-spin thumb-busy'));
  if (entry?.status === 'failed') {
    const error = box.appendChild(el('span', 'thumb-error'));
    error.textContent = entry.error;
  }
  if (entry?.status === 'done') {
    const caption = box.appendChild(el('span', 'thumb-caption'));
    caption.textContent = `Grad-CAM: ${entry.result.className} ${percent(entry.result.probability)}`;
  }
  return box;
}

/** Open, move to the suggested class, move to another class, delete, reviewed, Grad-CAM. */
function addActions(
  card: HTMLElement,
  file: string,
  label: string,
  suggested: string | undefined,
  context: CardContext,
): void {
  const { handlers, classNames } = context;
  const actions = card.querySelector('.card-body')!.appendChild(el('div', 'card-actions'));
  actions.appendChild(
    iconButton('go-to-file', `Open ${file}`, 'open', () => handlers.onAction('open', file)),
  );
  if (suggested !== undefined && suggested !== label) {
    const move = actions.appendChild(el('button', 'text-button move-suggested'));
    move.type = 'button';
    move.dataset.action = 'move';
    move.title = `Move the file into the class folder "${suggested}" (undoable)`;
    move.appendChild(el('span', 'codicon codicon-arrow-right'));
    move.appendChild(el('span', 'class-name')).textContent = suggested;
    move.addEventListener('click', () => handlers.onAction('move', file, suggested));
  }
  const select = actions.appendChild(document.createElement('select'));
  select.className = 'move-select';
  select.title = 'Move to another class folder';
  select.setAttribute('aria-label', `Move ${file} to another class`);
  const placeholder = select.appendChild(document.createElement('option'));
  placeholder.value = '';
  placeholder.textContent = 'Move to…';
  for (const name of classNames) {
    if (name === label) continue;
    const option = select.appendChild(document.createElement('option'));
    option.value = name;
    option.textContent = name;
  }
  select.addEventListener('change', () => {
    if (select.value) handlers.onAction('move', file, select.value);
    select.value = '';
  });
  actions.append(
    iconButton('trash', `Delete ${file} (to the trash)`, 'delete', () => handlers.onAction('delete', file)),
    iconButton('check', 'Mark as reviewed (not shown again)', 'review', () =>
      handlers.onAction('review', file),
    ),
  );
  const explained = context.explaining[file];
  const camButton = actions.appendChild(
    iconButton('flame', 'Grad-CAM: where the evidence for the class is', 'gradcam', () =>
      handlers.onExplain(
        file,
        explained !== undefined ? undefined : Math.max(0, classNames.indexOf(suggested ?? label)),
      ),
    ),
  );
  camButton.setAttribute('aria-pressed', String(explained !== undefined));
  if (explained !== undefined) {
    const camClass = actions.appendChild(document.createElement('select'));
    camClass.className = 'gradcam-class';
    camClass.title = 'The class Grad-CAM explains';
    camClass.setAttribute('aria-label', 'Grad-CAM class');
    classNames.forEach((name, k) => {
      const option = camClass.appendChild(document.createElement('option'));
      option.value = String(k);
      option.textContent = name;
      option.selected = k === explained;
    });
    camClass.addEventListener('change', () => handlers.onExplain(file, Number(camClass.value)));
  }
}

export function iconButton(
  icon: string,
  title: string,
  action: string,
  onClick: () => void,
): HTMLButtonElement {
  const button = el('button', 'icon-button');
  button.type = 'button';
  button.title = title;
  button.setAttribute('aria-label', title);
  button.dataset.action = action;
  button.appendChild(el('span', `codicon codicon-${icon}`)).setAttribute('aria-hidden', 'true');
  button.addEventListener('click', onClick);
  return button;
}

function classSpan(name: string, kind: string): HTMLElement {
  const span = el('span', `class-name class-${kind}`);
  span.textContent = name;
  return span;
}

function arrow(): HTMLElement {
  const span = el('span', 'codicon codicon-arrow-right');
  span.setAttribute('aria-hidden', 'true');
  return span;
}

function text(value: string): Text {
  return document.createTextNode(value);
}
