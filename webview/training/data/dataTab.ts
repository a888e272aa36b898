/**
 * The training panel's Data tab: the data seen through the model. A toolbar starts (or cancels) the
 * analysis in a trainer process; then the gallery of likely label errors, the validation set's top losses
 * and the duplicates across the split, each card with its actions, and the embedding map. Sections are
 * rebuilt only when what they show changed (a new report, a hidden image, a Grad-CAM answer).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { EmbeddingPoint } from '../../../src/protocol/dataInsight';
import type { DataAction } from '../../../src/protocol/webviewMessages';
import { gradCamKey, type DataTabState } from './dataState';
import { createEmbeddingChart, updateEmbeddingChart, type EmbeddingChart } from './embeddingMap';
import { el } from '../../shared/dom';
import { duplicateCard, iconButton, issueCard, topLossCard, type CardContext } from './gallery';
import { GALLERY_LIMITS } from '../../../src/protocol/dataInsight';

declare global {
  interface Window {
    /** Test hook: the embedding map's Chart (test/webview/dataTab.test.ts clicks its points). */
    __fineTuneEmbedding?: EmbeddingChart;
  }
}

export interface DataTabHandlers {
  onAnalyze(): void;
  onCancel(): void;
  onUndo(): void;
  onAction(action: DataAction, file: string, toClass?: string): void;
  onExplain(file: string, classIndex: number | undefined): void;
  onPoint(point: EmbeddingPoint): void;
}

export interface DataTabView {
  element: HTMLElement;
  update(state: DataTabState, runClassNames: string[]): void;
}

const percent = (v: number): string => `${(v * 100).toFixed(1)}%`;

export function createDataTab(handlers: DataTabHandlers): DataTabView {
  const element = el('section', 'data-tab');
  element.id = 'data-tab';
  const toolbar = element.appendChild(el('div', 'data-toolbar'));
  const analyze = toolbar.appendChild(document.createElement('vscode-button'));
  analyze.id = 'analyze-button';
  analyze.addEventListener('click', () => handlers.onAnalyze());
  const cancel = toolbar.appendChild(document.createElement('vscode-button'));
  cancel.id = 'cancel-analysis';
  cancel.secondary = true;
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => handlers.onCancel());
  const status = toolbar.appendChild(el('span', 'data-status'));
  status.id = 'data-status';
  status.setAttribute('aria-live', 'polite');
  const bar = element.appendChild(el('div', 'progress data-progress'));
  bar.setAttribute('role', 'progressbar');
  const barFill = bar.appendChild(el('div', 'progress-fill'));

  const message = element.appendChild(el('div', 'data-message'));
  message.id = 'data-message';
  message.setAttribute('aria-live', 'polite');
  const messageText = message.appendChild(el('span', 'data-message-text'));
  const undo = message.appendChild(el('button', 'text-button'));
  undo.id = 'undo-button';
  undo.type = 'button';
  undo.addEventListener('click', () => handlers.onUndo());
  const error = element.appendChild(el('div', 'banner banner-error data-error'));
  error.id = 'data-error';
  const summary = element.appendChild(el('p', 'data-summary'));
  summary.id = 'data-summary';
  const notes = element.appendChild(el('ul', 'data-notes'));
  notes.id = 'data-notes';

  const issues = section(element, 'issues', 'Likely label errors');
  const losses = section(element, 'losses', 'Top losses of the validation set');
  const duplicates = section(element, 'duplicates', 'Duplicates across the training / validation split');
  const embedding = section(element, 'embedding', 'Embedding map');
  const layout = embedding.body.appendChild(el('div', 'embedding-layout'));
  const chartBox = layout.appendChild(el('div', 'chart-box embedding-box'));
  const canvas = chartBox.appendChild(document.createElement('canvas'));
  canvas.id = 'embedding-chart';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'Embedding map of the features at the cut');
  const selectedBox = layout.appendChild(el('div', 'embedding-selected card'));
  selectedBox.id = 'embedding-selected';
  let chart: EmbeddingChart | undefined;

  let shown: Partial<Record<'report' | 'hidden' | 'gradCams' | 'explaining' | 'selected', unknown>> = {};
  return {
    element,
    update(state, runClassNames) {
      const running = state.status === 'running';
      analyze.textContent = state.report ? 'Run again' : 'Find label issues';
      analyze.disabled = running;
      cancel.hidden = !running;
      bar.hidden = !running;
      const fraction = state.progress?.fraction;
      barFill.style.width = `${Math.round((fraction ?? 0) * 100)}%`;
      bar.classList.toggle('indeterminate', running && fraction === undefined);
      status.textContent = running
        ? (state.progress?.message ?? 'Working…')
        : state.report
          ? ''
          : 'Trains the experiment’s head K times on the frozen features to predict every image out of sample, then lists the images whose folder is probably wrong.';
      message.hidden = !state.message;
      messageText.textContent = state.message ?? '';
      undo.hidden = !state.undo;
      undo.textContent = state.undo ? `Undo: ${state.undo}` : '';
      error.hidden = !state.error;
      error.textContent = state.error ?? '';

      const report = state.report;
      for (const s of [issues, losses, duplicates, embedding]) s.element.hidden = !report;
      if (!report) {
        summary.hidden = true;
        notes.replaceChildren();
        shown = {};
        return;
      }
      summary.hidden = false;
      const { train, val, skipped } = report.images;
      summary.textContent =
        `${train + val} images (${train} training, ${val} validation${skipped ? `, ${skipped} unreadable` : ''}) · ` +
        `${report.folds}-fold out-of-sample accuracy ${percent(report.outOfSampleAccuracy)} · ` +
        `${report.mode} · ${report.backend} · ${report.seconds.toFixed(1)} s` +
        (state.reviewed > 0
          ? ` · ${state.reviewed} reviewed image${state.reviewed === 1 ? '' : 's'} not shown`
          : '');
      if (shown.report !== report) {
        notes.replaceChildren(
          ...report.notes.map((note) => {
            const li = el('li');
            li.textContent = note;
            return li;
          }),
        );
      }
      const classNames = report.classNames.length > 0 ? report.classNames : runClassNames;
      const hidden = new Set(state.hidden);
      const cardsChanged =
        shown.report !== report ||
        shown.hidden !== state.hidden ||
        shown.gradCams !== state.gradCams ||
        shown.explaining !== state.explaining;
      if (cardsChanged) {
        const context: CardContext = {
          classNames,
          thumbnails: report.thumbnails ?? {},
          gradCams: state.gradCams,
          explaining: state.explaining,
          handlers,
        };
        const issueList = report.issues.slice(0, GALLERY_LIMITS.issues).filter((i) => !hidden.has(i.file));
        issues.title.textContent = `Likely label errors (${issueList.length}${report.issues.length > GALLERY_LIMITS.issues ? ` of ${report.issues.length}` : ''})`;
        issues.caption.textContent =
          report.issues.length === 0
            ? 'None found: every image’s out-of-sample prediction agrees with its folder.'
            : `Most likely first. Confident learning estimates ${report.estimatedIssues} mislabelled image${report.estimatedIssues === 1 ? '' : 's'} (marked with a star); the others are predicted as another class.`;
        issues.gallery.replaceChildren(...issueList.map((issue, i) => issueCard(issue, i + 1, context)));

        const lossList = (report.topLosses ?? []).filter((l) => !hidden.has(l.file));
        losses.element.hidden = !report.topLosses;
        losses.caption.textContent = report.runId
          ? `The validation images run ${report.runId}’s saved model gets most wrong, largest loss first.`
          : '';
        losses.gallery.replaceChildren(...lossList.map((loss, i) => topLossCard(loss, i + 1, context)));

        const pairs = report.duplicates
          .slice(0, GALLERY_LIMITS.duplicates)
          .filter((d) => !hidden.has(d.val) && !hidden.has(d.train));
        duplicates.title.textContent = `Duplicates across the training / validation split (${pairs.length})`;
        duplicates.caption.textContent =
          pairs.length === 0
            ? `No validation image has a training image with features more alike than cosine ${report.duplicateThreshold}, nor an identical file.`
            : 'A validation image that also is a training image measures memory, not generalisation: it inflates val_accuracy.';
        duplicates.gallery.replaceChildren(...pairs.map((pair) => duplicateCard(pair, context)));
      }
      if (
        report.embedding &&
        (shown.report !== report || shown.hidden !== state.hidden || shown.selected !== state.selected)
      ) {
        const map = report.embedding;
        embedding.caption.textContent =
          `PCA of the features at "${map.layer}" (${percent(map.explained[0])} and ${percent(map.explained[1])} of the variance). ` +
          'Colour: folder. Cross: predicted as another class out of sample. Large: flagged. Click a point to see its image.' +
          (map.sampled
            ? ` Showing ${map.points.length} of ${map.total} images (all flagged ones, a sample of the rest).`
            : '');
        chart ??= window.__fineTuneEmbedding = createEmbeddingChart(canvas, (point) =>
          handlers.onPoint(point),
        );
        updateEmbeddingChart(chart, map, classNames, hidden, state.selected?.file);
        renderSelected(selectedBox, state, classNames, handlers);
      }
      embedding.element.hidden = !report.embedding;
      shown = {
        report,
        hidden: state.hidden,
        gradCams: state.gradCams,
        explaining: state.explaining,
        selected: state.selected,
      };
    },
  };
}

function renderSelected(
  box: HTMLElement,
  state: DataTabState,
  classNames: string[],
  handlers: DataTabHandlers,
): void {
  const selected = state.selected;
  const point = selected ? state.report?.embedding?.points.find((p) => p.file === selected.file) : undefined;
  if (!selected || !point) {
    box.replaceChildren(el('span', 'muted'));
    box.firstChild!.textContent = 'Click a point to see its image.';
    return;
  }
  const parts: Node[] = [];
  if (selected.dataUrl) {
    const img = document.createElement('img');
    img.className = 'selected-image';
    img.alt = point.file;
    img.src = selected.dataUrl;
    parts.push(img);
  } else {
    const note = el('span', selected.error ? 'muted error-text' : 'muted');
    note.textContent = selected.error ?? 'Loading the image…';
    parts.push(note);
  }
  const name = el('div', 'selected-file');
  name.textContent = point.file;
  const labels = el('div', 'card-labels');
  const label = el('span', 'class-name');
  label.textContent = classNames[point.label] ?? `#${point.label}`;
  const predicted = el('span', 'class-name');
  predicted.textContent = classNames[point.predicted] ?? `#${point.predicted}`;
  labels.append('folder ', label, ' · predicted ', predicted, ` · ${point.split}`);
  const actions = el('div', 'card-actions');
  actions.append(
    iconButton('go-to-file', `Open ${point.file}`, 'open', () => handlers.onAction('open', point.file)),
    iconButton('flame', 'Grad-CAM in the gallery card', 'gradcam', () =>
      handlers.onExplain(point.file, point.predicted),
    ),
  );
  parts.push(name, labels, actions);
  const cam = state.explaining[point.file];
  const entry = cam !== undefined ? state.gradCams[gradCamKey(point.file, cam)] : undefined;
  if (entry?.status === 'done') {
    const img = document.createElement('img');
    img.className = 'selected-image gradcam-overlay';
    img.alt = `Grad-CAM of ${point.file}`;
    img.src = entry.result.overlay;
    parts.push(img);
  }
  box.replaceChildren(...parts);
}

function section(parent: HTMLElement, id: string, title: string) {
  const element = parent.appendChild(el('section', 'data-section'));
  element.id = `${id}-section`;
  const head = element.appendChild(el('h2', 'section-title'));
  head.textContent = title;
  const caption = element.appendChild(el('p', 'section-caption'));
  const body = element.appendChild(el('div', 'section-body'));
  const gallery = body.appendChild(el('div', 'gallery'));
  gallery.id = `${id}-gallery`;
  return { element, title: head, caption, body, gallery };
}
