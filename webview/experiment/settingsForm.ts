/**
 * The settings half of the experiment panel: one field per setting of SETTINGS_SECTIONS, laid out like
 * VS Code's Settings editor. The form is built once and then only updated, so focus, caret and scroll
 * survive host updates; a text field the user is typing in (or left holding an invalid value) keeps its
 * text. Values are checked against the schema before they are posted: an invalid value shows a message
 * under the field and is never sent.
 */
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-form-group/index.js';
import '@vscode-elements/elements/dist/vscode-form-helper/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { DEFAULTS } from '../../src/protocol/experimentConfig';
import { EXPERIMENT_SCHEMA, type JsonSchema } from '../../src/protocol/experimentSchema';
import type { ExperimentPanelState } from '../../src/protocol/webviewMessages';
import { textEl } from '../shared/escape';
import {
  checkValue,
  descriptionOf,
  enumOf,
  formatFieldValue,
  isRequired,
  parseBlocksText,
  parseFieldText,
  sameJson,
  schemaAt,
  valueAt,
  type JsonPath,
  type ParseResult,
} from './fieldRules';
import { SETTINGS_SECTIONS, type FieldSpec, type SectionSpec } from './settingsSpec';
import {
  gradualUnfreezingControl,
  lrCurveControl,
  lrModeControl,
  unfreezePlanControl,
} from './techniqueViews';

/** Posts `setValue`; `undefined` removes the key so its default applies. */
export type PostValue = (path: JsonPath, value: unknown) => void;

export interface SettingsForm {
  element: HTMLElement;
  /** `force` overwrites even a field being typed in (another experiment was opened). */
  update(state: ExperimentPanelState, force: boolean): void;
}

interface FieldView {
  apply(state: ExperimentPanelState, force: boolean): void;
}

/** Text input is posted once the user pauses typing this long (and at once on Enter / leaving the field). */
export const TYPING_DEBOUNCE_MS = 400;

const EARLY_STOPPING: JsonPath = ['training', 'earlyStopping'];

function icon(name: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = `codicon codicon-${name}`;
  span.setAttribute('aria-hidden', 'true');
  return span;
}

/** Schema descriptions use `backticks` for names and paths: shown as code, still as text nodes only. */
function describe(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  text.split('`').forEach((part, i) => {
    if (part) fragment.append(i % 2 === 1 ? textEl('code', part) : document.createTextNode(part));
  });
  return fragment;
}

/** What applies when the file leaves a key out: the host's resolved config, else the defaults. */
function resolvedValue(state: ExperimentPanelState, path: JsonPath, schema: JsonSchema | undefined): unknown {
  return valueAt(state.config, path) ?? valueAt(DEFAULTS, path) ?? schema?.default;
}

const earlyStoppingOn = (state: ExperimentPanelState): boolean =>
  valueAt(state.document, EARLY_STOPPING) !== false;

const fieldId = (path: JsonPath): string => `field-${path.join('-')}`;
const specKey = (spec: FieldSpec): string => spec.key ?? spec.path.join('.');
const specId = (spec: FieldSpec): string =>
  spec.key ? `field-${spec.key.replace(/\./g, '-')}` : fieldId(spec.path);

/** Controls that show something about the settings rather than hold a value: no reset, no error line. */
const DISPLAYS: ReadonlySet<FieldSpec['control']> = new Set(['lrCurve', 'unfreezePlan']);

export function createSettingsForm(
  post: PostValue,
  closedSections: ReadonlySet<string>,
  onSectionToggle: (id: string, open: boolean) => void,
  /** Elements appended to a section's body, by section id (the augmentation preview). */
  extras: Readonly<Record<string, HTMLElement>> = {},
): SettingsForm {
  const element = document.createElement('div');
  element.className = 'settings-form';
  const fields: FieldView[] = [];
  for (const section of SETTINGS_SECTIONS) {
    const rendered = renderSection(section, fields, post, !closedSections.has(section.id), onSectionToggle);
    const extra = extras[section.id];
    if (extra) rendered.querySelector('.section-body')?.append(extra);
    element.append(rendered);
  }
  return {
    element,
    update: (state, force) => fields.forEach((f) => f.apply(state, force)),
  };
}

function renderSection(
  section: SectionSpec,
  fields: FieldView[],
  post: PostValue,
  open: boolean,
  onToggle: (id: string, open: boolean) => void,
): HTMLElement {
  const collapsible = document.createElement('vscode-collapsible');
  collapsible.heading = section.title;
  collapsible.open = open;
  collapsible.dataset.section = section.id;
  collapsible.addEventListener('vsc-collapsible-toggle', (event) => {
    onToggle(section.id, (event as CustomEvent<{ open: boolean }>).detail.open);
  });
  const body = document.createElement('div');
  body.className = 'section-body';
  const about = section.about ?? descriptionOf(schemaAt(EXPERIMENT_SCHEMA, section.schemaPath));
  // A section whose only switch is its own key (early stopping) says it on that switch instead.
  const describedByField = section.fields.some((f) => sameJson(f.path, section.schemaPath));
  if (about && !describedByField) body.append(textEl('p', about, 'section-about'));
  for (const spec of section.fields) {
    const { group, view } = renderField(spec, section, post);
    fields.push(view);
    body.append(group);
  }
  collapsible.append(body);
  return collapsible;
}

function renderField(
  spec: FieldSpec,
  section: SectionSpec,
  post: PostValue,
): { group: HTMLElement; view: FieldView } {
  const schema = schemaAt(EXPERIMENT_SCHEMA, spec.path);
  const required = isRequired(EXPERIMENT_SCHEMA, spec.path);
  const group = document.createElement('vscode-form-group');
  group.variant = 'settings-group';
  group.className = 'field';
  group.dataset.key = specKey(spec);

  const head = document.createElement('div');
  head.className = 'field-head';
  const label = document.createElement('vscode-label');
  label.htmlFor = specId(spec);
  if (section.title !== spec.label) label.append(textEl('span', `${section.title}: `, 'field-category'));
  label.append(textEl('span', spec.label, 'field-label'));
  head.append(label);
  const reset = document.createElement('button');
  reset.type = 'button';
  reset.className = 'icon-button reset';
  reset.title = 'Reset to default (removes the key from the file)';
  reset.setAttribute('aria-label', `Reset ${spec.label} to default`);
  reset.append(icon('discard'));
  reset.addEventListener('click', () => post(spec.path, undefined));
  const display = DISPLAYS.has(spec.control);
  if (!required && !display) head.append(reset);
  group.append(head);

  const description = spec.description ?? descriptionOf(schema);
  // A checkbox carries its description as its own label, as VS Code's Settings editor does.
  if (description && spec.control !== 'checkbox' && spec.control !== 'earlyStopping') {
    const helper = document.createElement('vscode-form-helper');
    helper.append(describe(description));
    group.append(helper);
  }
  group.title = description;

  const error = document.createElement('div');
  error.className = 'field-error';
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const showError = (message: string | undefined): void => {
    error.hidden = message === undefined;
    error.replaceChildren(...(message === undefined ? [] : [icon('error'), textEl('span', message)]));
  };

  const control = buildControl(spec, schema ?? {}, required, description, post, showError);
  group.append(control.element, error);

  const view: FieldView = {
    apply(state, force) {
      group.hidden = spec.visibleWhen !== undefined && !spec.visibleWhen(state);
      const inFile = !display && valueAt(state.document, spec.path) !== undefined;
      group.classList.toggle('modified', inFile);
      reset.hidden = !inFile;
      const disabled = spec.needsEarlyStopping === true && !earlyStoppingOn(state);
      group.classList.toggle('disabled', disabled);
      control.apply(state, force, disabled);
    },
  };
  return { group, view };
}

export interface Control {
  element: HTMLElement;
  apply(state: ExperimentPanelState, force: boolean, disabled: boolean): void;
}

function buildControl(
  spec: FieldSpec,
  schema: JsonSchema,
  required: boolean,
  description: string,
  post: PostValue,
  showError: (message: string | undefined) => void,
): Control {
  switch (spec.control) {
    case 'text':
      return textControl(spec, schema, required, post, showError);
    case 'select':
      return selectControl(spec, schema, post, showError);
    case 'checkbox':
      return checkboxControl(spec, schema, description, post);
    case 'earlyStopping':
      return earlyStoppingControl(spec, post);
    case 'cut':
      return cutControl();
    case 'blocks':
      return textControl(spec, schema, required, post, showError, (text) => parseBlocksText(schema, text));
    case 'gradualUnfreezing':
      return gradualUnfreezingControl(spec.path, specId(spec), post);
    case 'lrMode':
      return lrModeControl(spec.path, specId(spec), post);
    case 'lrCurve':
      return lrCurveControl();
    case 'unfreezePlan':
      return unfreezePlanControl();
  }
}

/** A marker for "posted nothing yet": `undefined` is itself a value to post (remove the key). */
const NOTHING = Symbol('nothing');

function textControl(
  spec: FieldSpec,
  schema: JsonSchema,
  required: boolean,
  post: PostValue,
  showError: (message: string | undefined) => void,
  parse: (text: string) => ParseResult = (text) => parseFieldText(schema, text, required),
): Control {
  const input = document.createElement('vscode-textfield');
  input.id = specId(spec);
  input.dataset.focusKey = `field:${spec.path.join('.')}`;
  let state: ExperimentPanelState | undefined;
  /** The text differs from the file because the user typed it (posted or not). */
  let edited = false;
  let invalid = false;
  let appliedFromFile: unknown = NOTHING;
  let lastPosted: unknown = NOTHING;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const commit = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (!edited) return;
    const result = parse(input.value);
    invalid = !result.ok;
    input.invalid = invalid;
    if (!result.ok) {
      showError(result.message);
      return;
    }
    showError(undefined);
    const inFile = state ? valueAt(state.document, spec.path) : undefined;
    if (sameJson(result.value, inFile) || (lastPosted !== NOTHING && sameJson(result.value, lastPosted)))
      return;
    lastPosted = result.value;
    post(spec.path, result.value);
  };
  input.addEventListener('input', () => {
    edited = true;
    clearTimeout(timer);
    timer = setTimeout(commit, TYPING_DEBOUNCE_MS);
  });
  // `change` fires on Enter and when a changed field loses focus: post at once rather than wait.
  input.addEventListener('change', commit);
  input.addEventListener('focusout', () => {
    commit();
    if (!invalid) edited = false;
  });

  return {
    element: input,
    apply(next, force, disabled) {
      state = next;
      lastPosted = NOTHING;
      const inFile = valueAt(next.document, spec.path);
      const resolved = resolvedValue(next, spec.path, schema);
      // An empty default (no hidden units) reads better as words than as a blank box.
      input.placeholder = formatFieldValue(resolved) || (spec.fallbackPlaceholder ?? '');
      input.disabled = disabled;
      const focused = document.activeElement === input;
      // Keep what the user is typing, and an invalid value they left, until the file's value changes.
      const keep = edited && (focused || (invalid && sameJson(inFile, appliedFromFile)));
      if (keep && !force) return;
      clearTimeout(timer);
      timer = undefined;
      input.value = formatFieldValue(inFile);
      appliedFromFile = inFile;
      edited = false;
      invalid = false;
      input.invalid = false;
      showError(undefined);
    },
  };
}

function selectControl(
  spec: FieldSpec,
  schema: JsonSchema,
  post: PostValue,
  showError: (message: string | undefined) => void,
): Control {
  const select = document.createElement('vscode-single-select');
  select.id = fieldId(spec.path);
  select.dataset.focusKey = `field:${spec.path.join('.')}`;
  for (const value of enumOf(schema) ?? []) {
    const option = document.createElement('vscode-option');
    option.value = value;
    option.textContent = value;
    select.append(option);
  }
  select.addEventListener('change', () => {
    const message = checkValue(schema, select.value);
    showError(message);
    if (!message) post(spec.path, select.value);
  });
  return {
    element: select,
    apply(state, _force, disabled) {
      const value = valueAt(state.document, spec.path) ?? resolvedValue(state, spec.path, schema);
      select.value = typeof value === 'string' ? value : '';
      select.toggleAttribute('disabled', disabled);
      showError(undefined);
    },
  };
}

function checkboxControl(spec: FieldSpec, schema: JsonSchema, description: string, post: PostValue): Control {
  const box = document.createElement('vscode-checkbox');
  box.id = fieldId(spec.path);
  box.dataset.focusKey = `field:${spec.path.join('.')}`;
  box.append(describe(description));
  box.addEventListener('change', () => post(spec.path, box.checked));
  return {
    element: box,
    apply(state, _force, disabled) {
      box.checked = (valueAt(state.document, spec.path) ?? resolvedValue(state, spec.path, schema)) === true;
      box.disabled = disabled;
    },
  };
}

function earlyStoppingControl(spec: FieldSpec, post: PostValue): Control {
  const box = document.createElement('vscode-checkbox');
  box.id = fieldId(spec.path);
  box.dataset.focusKey = `field:${spec.path.join('.')}`;
  // The schema's description explains the file format (object or false); the switch says what it does.
  box.append('Stop training when the monitored metric stops improving');
  // Off writes `false`; on removes that `false`, so the defaults (or the settings below) apply again.
  box.addEventListener('change', () => post(spec.path, box.checked ? undefined : false));
  return {
    element: box,
    apply(state) {
      box.checked = earlyStoppingOn(state);
    },
  };
}

function cutControl(): Control {
  const display = document.createElement('div');
  display.className = 'cut-display';
  return {
    element: display,
    apply(state) {
      const inFile = valueAt(state.document, ['head', 'cutAt']);
      const parts: Node[] = [icon('split-horizontal')];
      if (state.cutAt) {
        parts.push(textEl('code', state.cutAt));
        const origin =
          typeof inFile === 'string' ? 'set in the file' : 'default: everything but the last Dense layer';
        parts.push(textEl('span', origin, 'muted'));
      } else {
        parts.push(textEl('span', 'Known once the base model has been read.', 'muted'));
      }
      parts.push(textEl('span', 'Change it with a layer’s “Set as head cut” action.', 'muted hint'));
      display.replaceChildren(...parts);
    },
  };
}
