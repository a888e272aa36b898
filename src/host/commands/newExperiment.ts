/**
 * "Fine-Tune: New Experiment": base model → dataset folder → name, then a commented experiment file that
 * the loader accepts as is, opened and made the active experiment. The model's layers are read (in the
 * trainer process, via ModelDescriber) while the user is still picking, so the file starts with a sensible
 * cut and freeze point and the model's own image size instead of placeholders.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelInputSizeOf } from '../../core/config/modelInputShape';
import { isFileReadError, READ_LIMITS, readTextFile } from '../../core/files/regularFile';
import { modelJsonFacts } from '../../core/model/modelJsonFacts';
import { classOf, field, topologyOf } from '../../core/model/modelJson';
import { scanDataset, type DatasetScan } from '../../core/data/scanDataset';
import { errorMessage } from '../../core/userError';
import { findDatasets, type FoundDataset } from '../datasets/findDatasets';
import type { ExperimentService } from '../experiments/experimentService';
import {
  experimentFileName,
  experimentNameOf,
  experimentNameProblem,
  experimentTemplate,
  imageSizeFromInputShape,
  relativeToExperiment,
  suggestLayerChoices,
  type LayerChoices,
} from '../experiments/experimentTemplate';
import type { ModelDescriber, ModelDescription } from '../modelDescriber';

const TITLE = 'New Experiment';
const STEPS = 3;
/** model.json files larger than this are listed without looking inside (weights are never inlined that big). */
const MODEL_JSON_PEEK_LIMIT = 20 * 1024 * 1024;

interface Choice<T> extends vscode.QuickPickItem {
  value?: T;
  browse?: true;
}

/**
 * A quick pick that opens at once (busy) and fills when `load` resolves, so a slow workspace search does
 * not look like a dead command. Resolves undefined when dismissed.
 */
function pickAsync<T>(
  step: number,
  placeholder: string,
  load: () => Promise<Choice<T>[]>,
): Promise<Choice<T> | undefined> {
  return new Promise((resolve) => {
    const pick = vscode.window.createQuickPick<Choice<T>>();
    pick.title = TITLE;
    pick.step = step;
    pick.totalSteps = STEPS;
    pick.placeholder = placeholder;
    pick.matchOnDescription = true;
    pick.matchOnDetail = true;
    pick.busy = true;
    pick.ignoreFocusOut = true;
    let done = false;
    const finish = (choice: Choice<T> | undefined): void => {
      if (done) return;
      done = true;
      resolve(choice);
      pick.dispose();
    };
    pick.onDidAccept(() => finish(pick.selectedItems[0]));
    pick.onDidHide(() => finish(undefined));
    pick.show();
    load().then(
      (items) => {
        pick.items = items;
        pick.busy = false;
      },
      (error: unknown) => {
        pick.items = [{ label: `$(error) ${errorMessage(error)}`, alwaysShow: true }];
        pick.busy = false;
      },
    );
  });
}

const browseItem = <T>(label: string, detail: string): Choice<T> => ({
  label: `$(folder-opened) ${label}`,
  detail,
  browse: true,
  alwaysShow: true,
});

/**
 * model.json's text when it is a regular file of at most MODEL_JSON_PEEK_LIMIT bytes; 'too large' for a
 * bigger one (still usable, just not peeked into); undefined when it cannot be read.
 */
async function peekText(file: string): Promise<string | 'too large' | undefined> {
  try {
    return await readTextFile(file, { maxBytes: MODEL_JSON_PEEK_LIMIT });
  } catch (error) {
    return isFileReadError(error) && error.reason === 'too large' ? 'too large' : undefined;
  }
}

/** What model.json says about itself, or why it cannot be a base model (a graph model, not a model). */
async function peekModel(file: string): Promise<{ description?: string; unusable?: boolean }> {
  try {
    const text = await peekText(file);
    if (text === 'too large') return {};
    if (text === undefined) return { unusable: true };
    const json: unknown = JSON.parse(text);
    const topology = field(json, 'modelTopology');
    if (!topology || typeof topology !== 'object' || field(json, 'format') === 'graph-model')
      return { unusable: true };
    const model = topologyOf(json);
    const name = field(field(model, 'config'), 'name');
    let size: [number, number] | undefined;
    try {
      size = modelInputSizeOf(json as never);
    } catch {
      size = undefined;
    }
    const parts = [
      typeof name === 'string' ? name : classOf(model),
      size ? `input ${size[0]}×${size[1]}` : undefined,
    ].filter(Boolean);
    return { description: parts.join(' · ') };
  } catch {
    return { unusable: true };
  }
}

async function pickBaseModel(): Promise<string | undefined> {
  const choice = await pickAsync<string>(
    1,
    'Base model: a pre-trained TensorFlow.js LayersModel (model.json)',
    async () => {
      const found = await vscode.workspace.findFiles(
        '**/model.json',
        '{**/node_modules/**,**/.finetune/**}',
        500,
      );
      const files = found
        .filter((uri) => uri.scheme === 'file')
        .map((uri) => uri.fsPath)
        .sort();
      const items: Choice<string>[] = [];
      for (const file of files) {
        const peek = await peekModel(file);
        if (peek.unusable) continue;
        items.push({
          label: vscode.workspace.asRelativePath(file),
          description: peek.description,
          value: file,
        });
      }
      items.push(
        browseItem(
          'Browse…',
          items.length === 0
            ? 'No TensorFlow.js LayersModel found in the workspace: choose a model.json'
            : 'Choose a model.json elsewhere',
        ),
      );
      return items;
    },
  );
  if (!choice) return undefined;
  if (!choice.browse) return choice.value;
  const picked = await vscode.window.showOpenDialog({
    title: 'Base model (model.json of a TensorFlow.js LayersModel)',
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    filters: { 'TensorFlow.js model': ['json'] },
    openLabel: 'Use as Base Model',
  });
  return picked?.[0]?.fsPath;
}

interface ChosenDataset {
  root: string;
  scan?: DatasetScan;
}

async function searchWorkspaceDatasets(): Promise<
  { folder: vscode.WorkspaceFolder; dataset: FoundDataset }[]
> {
  const out: { folder: vscode.WorkspaceFolder; dataset: FoundDataset }[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme !== 'file') continue;
    const { datasets } = await findDatasets(folder.uri.fsPath, { maxDepth: 4, maxFolders: 3000 });
    for (const dataset of datasets) out.push({ folder, dataset });
  }
  return out;
}

async function pickDataset(): Promise<ChosenDataset | undefined> {
  const multiRoot = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
  for (;;) {
    const choice = await pickAsync<string>(
      2,
      'Dataset: a folder with one sub-folder of images per class (or train/ and val/ holding those)',
      async () => {
        const items: Choice<string>[] = (await searchWorkspaceDatasets()).map(({ folder, dataset }) => {
          const classes = dataset.classNames.join(', ');
          return {
            label: multiRoot ? `${folder.name}/${dataset.relativePath}` : dataset.relativePath,
            description: `${dataset.classNames.length} classes${dataset.layout === 'split' ? ' · train/val' : ''}`,
            detail: classes.length > 100 ? `${classes.slice(0, 99)}…` : classes,
            value: dataset.root,
          };
        });
        items.push(
          browseItem(
            'Browse…',
            items.length === 0
              ? 'No image-folder dataset found in the workspace: choose its folder'
              : 'Choose a folder elsewhere',
          ),
        );
        return items;
      },
    );
    if (!choice) return undefined;
    let root = choice.value;
    if (choice.browse) {
      const picked = await vscode.window.showOpenDialog({
        title: 'Dataset folder (one sub-folder of images per class)',
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: 'Use as Dataset',
      });
      root = picked?.[0]?.fsPath;
      if (!root) continue;
    }
    if (!root) return undefined;
    try {
      return { root, scan: await scanDataset(root) };
    } catch (error) {
      const useAnyway = 'Use Anyway';
      const answer = await vscode.window.showWarningMessage(
        `This folder is not a usable dataset yet: ${errorMessage(error)}`,
        { modal: true },
        useAnyway,
        'Choose Another',
      );
      if (answer === useAnyway) return { root };
      if (answer === undefined) return undefined;
    }
  }
}

/** Where the file goes: the workspace folder holding the model (else the dataset); asks when that is not clear. */
async function pickTargetFolder(model: string, dataset: string): Promise<string | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const holding =
    vscode.workspace.getWorkspaceFolder(vscode.Uri.file(model)) ??
    vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dataset));
  if (holding) return holding.uri.fsPath;
  if (folders.length === 1) return folders[0].uri.fsPath;
  if (folders.length > 1) {
    return (
      await vscode.window.showWorkspaceFolderPick({
        placeHolder: 'Save the experiment file in which folder?',
      })
    )?.uri.fsPath;
  }
  const picked = await vscode.window.showOpenDialog({
    title: 'Save the experiment file in…',
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(path.dirname(model)),
    openLabel: 'Save Here',
  });
  return picked?.[0]?.fsPath;
}

function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

/** Step 3: the name, validated as it is typed; an invalid name cannot be accepted. */
function askName(folder: string, value: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = TITLE;
    box.step = 3;
    box.totalSteps = STEPS;
    box.prompt = `Name of the experiment: the file is <name>.finetune.json in ${folder}`;
    box.value = value;
    box.valueSelection = [0, value.length];
    box.ignoreFocusOut = true;
    const validate = (input: string): string | undefined => {
      const problem = experimentNameProblem(input);
      box.validationMessage = problem;
      // Whether the file exists is looked up without blocking; the warning appears when it is known.
      if (!problem)
        void exists(path.join(folder, experimentFileName(input))).then((taken) => {
          if (taken && box.value === input)
            box.validationMessage = {
              message: `${experimentFileName(input)} already exists there.`,
              severity: vscode.InputBoxValidationSeverity.Warning,
            };
        });
      return problem;
    };
    validate(value);
    let done = false;
    const finish = (result: string | undefined): void => {
      if (done) return;
      done = true;
      resolve(result);
      box.dispose();
    };
    box.onDidChangeValue(validate);
    box.onDidAccept(() => {
      if (validate(box.value) === undefined) finish(box.value);
    });
    box.onDidHide(() => finish(undefined));
    box.show();
  });
}

/** Asks for the name until it is valid and the file does not exist (or may be replaced). */
async function pickFile(
  folder: string,
  suggestion: string,
): Promise<{ name: string; file: string } | undefined> {
  let value = suggestion;
  for (let n = 2; await exists(path.join(folder, experimentFileName(value))); n++)
    value = `${suggestion}-${n}`;
  for (;;) {
    const typed = await askName(folder, value);
    if (typed === undefined) return undefined;
    const name = experimentNameOf(typed);
    const file = path.join(folder, experimentFileName(name));
    if (!(await exists(file))) return { name, file };
    const replace = 'Replace';
    const answer = await vscode.window.showWarningMessage(
      `${experimentFileName(name)} already exists in ${folder}. Replace it?`,
      { modal: true },
      replace,
      'Choose Another Name',
    );
    if (answer === replace) return { name, file };
    if (answer === undefined) return undefined;
    value = name;
  }
}

/** MobileNet and Teachable Machine models were trained on pixels in [-1, 1]. */
async function looksLikeMobileNet(modelJson: string): Promise<boolean> {
  const metadata = path.join(path.dirname(modelJson), 'metadata.json');
  const metadataText = await readTextFile(metadata, { maxBytes: READ_LIMITS.smallJson }).catch(() => '');
  if (/"tmVersion"/.test(metadataText)) return true;
  const text = await peekText(modelJson);
  return typeof text === 'string' && text !== 'too large' && /mobilenet/i.test(text);
}

async function newExperiment(experiments: ExperimentService, describer: ModelDescriber): Promise<void> {
  const model = await pickBaseModel();
  if (!model) return;
  // Read the layers while the user picks the dataset and types a name (a trainer process starts for it).
  const description: Promise<ModelDescription | Error> = describer
    .describe(model)
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));

  const dataset = await pickDataset();
  if (!dataset) return;
  const folder = await pickTargetFolder(model, dataset.root);
  if (!folder) return;
  const datasetName = path.basename(dataset.root) || 'dataset';
  const target = await pickFile(folder, `${datasetName}-finetune`);
  if (!target) return;

  // Usually done by now; a slow or stuck reader can be cancelled: the file is then written without the
  // suggestions that need the layers.
  const described = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: "Fine-Tune: reading the base model's layers…",
      cancellable: true,
    },
    (_progress, token) =>
      new Promise<ModelDescription | Error>((resolve) => {
        token.onCancellationRequested(() => resolve(new Error('reading the layers was cancelled')));
        void description.then(resolve);
      }),
  );
  let choices: LayerChoices = {};
  let imageSize: [number, number] | undefined;
  if (!(described instanceof Error)) {
    choices = suggestLayerChoices(described.layers);
    imageSize = imageSizeFromInputShape(described.inputShape);
  }
  imageSize ??= (await modelJsonFacts(model)).inputSize;
  const mobileNet = await looksLikeMobileNet(model);
  const text = experimentTemplate({
    name: target.name,
    baseModel: relativeToExperiment(target.file, model),
    datasetPath: relativeToExperiment(target.file, dataset.root),
    datasetLayout: dataset.scan?.layout,
    classCount: dataset.scan?.classNames.length,
    imageSize,
    pixelRange: mobileNet ? [-1, 1] : undefined,
    pixelRangeFromModelFamily: mobileNet,
    freezeUpTo: choices.freezeUpTo,
    cutAt: choices.cutAt,
    layersKnown: !(described instanceof Error),
  });

  const uri = vscode.Uri.file(target.file);
  try {
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  } catch (error) {
    void vscode.window.showErrorMessage(`Fine-Tune: could not write ${target.file}: ${errorMessage(error)}`);
    return;
  }
  await vscode.window.showTextDocument(uri);
  experiments.setActive(uri);
  if (described instanceof Error) {
    void vscode.window.showWarningMessage(
      `Fine-Tune: created ${path.basename(target.file)}, but the base model's layers could not be read ` +
        `(${described.message}), so "freezeUpTo" and "head.cutAt" are left for you to set.`,
    );
  }
}

export function registerNewExperimentCommand(
  context: vscode.ExtensionContext,
  experiments: ExperimentService,
  describer: ModelDescriber,
): vscode.Disposable {
  const command = vscode.commands.registerCommand('fineTune.newExperiment', () =>
    newExperiment(experiments, describer),
  );
  context.subscriptions.push(command);
  return command;
}
