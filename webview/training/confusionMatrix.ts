/**
 * The evaluation section, shown once summary.json exists: the confusion matrix (rows = true class,
 * columns = predicted; each cell shaded by its share of the row, so a rare class's mistakes stand out as
 * much as a frequent one's), the per-class precision / recall / F1 / support table, and the validation
 * images of the clicked cell. Class names and file names are file-derived: textContent only.
 */
import type { RunSummary } from '../../src/protocol/runRecord';
import { gradCamKey, type GradCamEntry } from './data/dataState';
import { formatLoss, formatPercent, imagesEvaluated } from '../shared/format';
import type { CellSelection } from './state';
import { el } from '../shared/dom';

export interface EvaluationHandlers {
  onCell(trueIndex: number, predictedIndex: number): void;
  onImage(file: string): void;
  /** Grad-CAM of a listed image for the predicted class of its cell. */
  onGradCam?(file: string, classIndex: number): void;
}

export interface EvaluationView {
  element: HTMLElement;
  /** `gradCams`: the Grad-CAM answers so far (gradCamKey), drawn under their file. */
  update(
    summary: RunSummary | undefined,
    cell: CellSelection | undefined,
    gradCams?: Record<string, GradCamEntry>,
  ): void;
}

export function createEvaluation(handlers: EvaluationHandlers): EvaluationView {
  const element = el('section', 'evaluation');
  element.hidden = true;
  element.appendChild(el('h2', 'section-title')).textContent = 'Evaluation of the saved model';
  const caption = element.appendChild(el('p', 'evaluation-caption'));
  const layout = element.appendChild(el('div', 'evaluation-layout'));
  const matrixCard = layout.appendChild(el('div', 'card matrix-card'));
  const tableCard = layout.appendChild(el('div', 'card per-class-card'));
  const cellImages = element.appendChild(el('div', 'card cell-images'));
  cellImages.id = 'cell-images';
  cellImages.setAttribute('aria-live', 'polite');

  // Rebuilding the tables on every batch would be wasted work: only a new summary or selection counts.
  let shownSummary: RunSummary | undefined;
  let shownCell: CellSelection | undefined;
  let shownCams: Record<string, GradCamEntry> | undefined;
  return {
    element,
    update(summary, cell, gradCams) {
      if (summary === shownSummary && cell === shownCell && gradCams === shownCams) return;
      element.hidden = !summary;
      if (summary && summary !== shownSummary) {
        caption.textContent =
          `Model saved at epoch ${summary.epoch}, on ${imagesEvaluated(summary)}: ` +
          `accuracy ${formatPercent(summary.accuracy)}, val_loss ${formatLoss(summary.val_loss)}. ` +
          'Click a cell to list its images.';
        tableCard.replaceChildren(perClassTable(summary));
      }
      if (summary) {
        matrixCard.replaceChildren(matrixTable(summary, cell, handlers.onCell));
        renderCellImages(cellImages, summary, cell, handlers, gradCams ?? {});
      }
      shownSummary = summary;
      shownCell = cell;
      shownCams = gradCams;
    },
  };
}

function matrixTable(
  summary: RunSummary,
  selected: CellSelection | undefined,
  onCell: EvaluationHandlers['onCell'],
): HTMLTableElement {
  const names = summary.classNames;
  const table = el('table', 'matrix');
  table.id = 'confusion-matrix';
  const caption = table.appendChild(el('caption', 'table-caption'));
  caption.textContent = 'Confusion matrix';
  caption.title = 'Rows: true class. Columns: predicted class. Shading: share of the row.';
  const head = table.createTHead().insertRow();
  const corner = head.appendChild(el('th', 'corner'));
  corner.appendChild(el('span', 'corner-true')).textContent = 'true ↓';
  corner.appendChild(el('span', 'corner-predicted')).textContent = 'predicted →';
  for (const name of names) head.appendChild(classHeader(name, 'col'));
  const body = table.createTBody();
  summary.confusion.forEach((row, t) => {
    const tr = body.insertRow();
    tr.appendChild(classHeader(names[t] ?? `#${t}`, 'row'));
    const rowTotal = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const td = tr.insertCell();
      const share = rowTotal > 0 ? count / rowTotal : 0;
      const button = td.appendChild(el('button', `cell ${t === p ? 'cell-correct' : 'cell-error'}`));
      button.type = 'button';
      button.dataset.true = String(t);
      button.dataset.predicted = String(p);
      button.textContent = String(count);
      // The tint grows with the row share; the square root keeps a 10–20% confusion (the ones worth a
      // look) clearly visible next to a 90% diagonal. Bold text marks the majority of a row.
      button.style.setProperty('--intensity', Math.sqrt(share).toFixed(3));
      button.classList.toggle('cell-strong', share >= 0.5);
      button.classList.toggle('cell-empty', count === 0);
      button.setAttribute(
        'aria-label',
        `true ${names[t] ?? t}, predicted ${names[p] ?? p}: ${count} image${count === 1 ? '' : 's'}, ` +
          `${formatPercent(share)} of the row`,
      );
      button.title = `${names[t] ?? t} → ${names[p] ?? p}: ${count} (${formatPercent(share)} of ${names[t] ?? t})`;
      if (selected && selected.trueIndex === t && selected.predictedIndex === p) {
        button.classList.add('cell-selected');
        button.setAttribute('aria-pressed', 'true');
      }
      button.addEventListener('click', () => onCell(t, p));
    });
  });
  return table;
}

function classHeader(name: string, scope: 'row' | 'col'): HTMLTableCellElement {
  const th = el('th', scope === 'row' ? 'row-header' : 'col-header');
  th.scope = scope;
  th.title = name;
  th.appendChild(el('span', 'class-name')).textContent = name;
  return th;
}

function perClassTable(summary: RunSummary): HTMLTableElement {
  const table = el('table', 'per-class');
  table.id = 'per-class';
  table.appendChild(el('caption', 'table-caption')).textContent = 'Per-class metrics';
  const head = table.createTHead().insertRow();
  for (const title of ['Class', 'Precision', 'Recall', 'F1', 'Support']) {
    const th = head.appendChild(el('th', title === 'Class' ? '' : 'num'));
    th.scope = 'col';
    th.textContent = title;
  }
  const body = table.createTBody();
  for (const c of summary.perClass) {
    const tr = body.insertRow();
    const name = tr.appendChild(el('th', 'row-header'));
    name.scope = 'row';
    name.title = c.className;
    name.appendChild(el('span', 'class-name')).textContent = c.className;
    for (const value of [c.precision, c.recall]) numberCell(tr, formatPercent(value));
    const f1 = numberCell(tr, formatPercent(c.f1));
    f1.classList.add('f1');
    f1.style.setProperty('--f1', String(Number.isFinite(c.f1) ? c.f1 : 0));
    numberCell(tr, String(c.support));
  }
  return table;
}

function numberCell(tr: HTMLTableRowElement, text: string): HTMLTableCellElement {
  const td = tr.insertCell();
  td.className = 'num';
  td.textContent = text;
  return td;
}

function renderCellImages(
  container: HTMLElement,
  summary: RunSummary,
  cell: CellSelection | undefined,
  handlers: EvaluationHandlers,
  gradCams: Record<string, GradCamEntry>,
): void {
  container.hidden = !cell;
  if (!cell) {
    container.replaceChildren();
    return;
  }
  const names = summary.classNames;
  const heading = el('h3', 'cell-images-title');
  heading.append('True ', textSpan('class-name', names[cell.trueIndex] ?? `#${cell.trueIndex}`));
  if (cell.trueIndex === cell.predictedIndex) {
    heading.append(', predicted correctly');
  } else {
    heading.append(
      ', predicted as ',
      textSpan('class-name', names[cell.predictedIndex] ?? `#${cell.predictedIndex}`),
    );
  }
  const parts: Node[] = [heading];
  if (!cell.files) {
    parts.push(textSpan('muted loading', 'Loading images…'));
  } else if (cell.files.length === 0) {
    parts.push(textSpan('muted', 'No validation images in this cell.'));
  } else {
    heading.append(` (${cell.files.length})`);
    const list = el('ul', 'file-list');
    // Most confident first: a confident mistake says more about the data (a mislabelled image?).
    const files = [...cell.files].sort((a, b) => b.confidence - a.confidence);
    for (const { file, confidence } of files) {
      const item = list.appendChild(el('li'));
      const button = item.appendChild(el('button', 'file-link'));
      button.type = 'button';
      button.dataset.file = file;
      button.title = `Open ${file}`;
      const icon = button.appendChild(el('span', 'codicon codicon-file-media'));
      icon.setAttribute('aria-hidden', 'true');
      button.appendChild(el('span', 'file-name')).textContent = file;
      button.appendChild(el('span', 'confidence')).textContent = formatPercent(confidence);
      button.addEventListener('click', () => handlers.onImage(file));
      const onGradCam = handlers.onGradCam;
      if (onGradCam) {
        const cam = item.appendChild(el('button', 'icon-button gradcam-button'));
        cam.type = 'button';
        cam.title = `Grad-CAM of ${file} for ${names[cell.predictedIndex] ?? cell.predictedIndex}`;
        cam.setAttribute('aria-label', cam.title);
        cam.appendChild(el('span', 'codicon codicon-flame')).setAttribute('aria-hidden', 'true');
        cam.addEventListener('click', () => onGradCam(file, cell.predictedIndex));
        const entry = gradCams[gradCamKey(file, cell.predictedIndex)];
        if (entry) item.appendChild(gradCamFigure(file, entry));
      }
    }
    parts.push(list);
  }
  container.replaceChildren(...parts);
}

/** A Grad-CAM answer under its file in the drill-down list: the overlay, or why there is none. */
function gradCamFigure(file: string, entry: GradCamEntry): HTMLElement {
  const figure = el('figure', 'gradcam-figure');
  if (entry.status === 'loading') {
    figure.appendChild(textSpan('muted', 'Computing Grad-CAM…'));
  } else if (entry.status === 'failed') {
    figure.appendChild(textSpan('muted error-text', entry.error));
  } else {
    const img = figure.appendChild(document.createElement('img'));
    img.className = 'gradcam-overlay';
    img.alt = `Grad-CAM of ${file}`;
    img.src = entry.result.overlay;
    figure.appendChild(el('figcaption')).textContent =
      `${entry.result.className}: ${formatPercent(entry.result.probability)} · layer ${entry.result.layer} (${entry.result.mapSize.join('×')})`;
  }
  return figure;
}

function textSpan(className: string, text: string): HTMLSpanElement {
  const span = el('span', className);
  span.textContent = text;
  return span;
}
