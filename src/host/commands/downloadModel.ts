/**
 * "Fine-Tune: Download Base Model": pick a pre-trained model from the catalogue, download it (progress,
 * Cancel) and verify it into the extension's global storage, then point the active experiment at it:
 * `baseModel`, `dataset.imageSize`, `dataset.pixelRange` from the entry, and — because the layer names of
 * the previous model mean nothing in the new one — `head.cutAt` and `freezeUpTo` at the entry's cut layer
 * (the classic first step: frozen backbone, new head) with any `layers` overrides removed.
 */
import * as path from 'node:path';
import { parse } from 'jsonc-parser';
import * as vscode from 'vscode';
import { errorMessage } from '../../core/userError';
import { bundledCatalogue, type CatalogueEntry } from '../catalogue/catalogue';
import { cachedModel, downloadModel, type DownloadedModel } from '../catalogue/modelDownloader';
import type { ExperimentService } from '../experiments/experimentService';
import type { ModelDescriber } from '../modelDescriber';

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `<globalStorage>/models`: one verified folder per catalogue entry. */
export function modelCacheDir(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'models');
}

async function pickEntry(cacheDir: string): Promise<CatalogueEntry | undefined> {
  const entries = bundledCatalogue();
  const cachedFlags = await Promise.all(entries.map((entry) => cachedModel(entry, cacheDir)));
  const items = entries.map((entry, i) => {
    const cached = cachedFlags[i];
    return {
      label: entry.label,
      description: `${entry.imageSize.join('×')} · pixels [${entry.pixelRange.join(', ')}] · ${cached ? '$(check) downloaded' : `~${megabytes(entry.approxBytes)}`}`,
      detail: `${entry.description} — ${entry.publisher}`,
      entry,
    };
  });
  const pick = await vscode.window.showQuickPick(items, {
    placeHolder: 'Download which pre-trained base model? (ImageNet weights, TensorFlow.js LayersModels)',
    matchOnDetail: true,
  });
  return pick?.entry;
}

async function download(
  entry: CatalogueEntry,
  cacheDir: string,
  describer: ModelDescriber,
  log: vscode.LogOutputChannel,
): Promise<DownloadedModel | undefined> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Fine-Tune: ${entry.label}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      log.info(`downloading ${entry.url} into ${cacheDir}`);
      try {
        const model = await downloadModel(entry, {
          cacheDir,
          signal: controller.signal,
          onProgress: ({ file, received, total }) => {
            const fraction = total ? Math.min(1, received / total) : 0;
            progress.report({
              increment: Math.max(0, (fraction - reported) * 100),
              message: `${file} · ${megabytes(received)} of ${megabytes(total)}`,
            });
            reported = Math.max(reported, fraction);
          },
          // Loading it in a trainer process (topology and every weight) is the last check before the cache.
          verifyLoads: async (modelJson) => {
            progress.report({ message: 'checking that the model loads…' });
            await describer.describe(modelJson);
          },
        });
        log.info(
          model.cached
            ? `${entry.id} is already downloaded: ${model.modelJson}`
            : `downloaded and verified ${entry.id} (${megabytes(model.bytes)}): ${model.modelJson}`,
        );
        return model;
      } catch (error) {
        if (controller.signal.aborted) {
          log.info(`download of ${entry.id} cancelled; nothing was kept`);
          return undefined;
        }
        log.error(`download of ${entry.id} failed: ${errorMessage(error)}`);
        void vscode.window.showErrorMessage(
          `Fine-Tune: downloading ${entry.label} failed: ${errorMessage(error)}. Nothing was kept; try again, or check the network.`,
        );
        return undefined;
      }
    },
  );
}

/** Writes the entry's settings into the experiment file (each an undoable edit, saved). */
async function useInExperiment(
  experiments: ExperimentService,
  uri: vscode.Uri,
  entry: CatalogueEntry,
  modelJson: string,
): Promise<string[]> {
  const changed: string[] = [];
  const set = async (jsonPath: (string | number)[], value: unknown): Promise<void> => {
    if (await experiments.setValue(uri, jsonPath, value)) changed.push(jsonPath.join('.'));
  };
  await set(['baseModel'], modelJson);
  await set(['dataset', 'imageSize'], entry.imageSize);
  await set(['dataset', 'pixelRange'], entry.pixelRange);
  if (entry.cutAt) {
    await set(['head', 'cutAt'], entry.cutAt);
    await set(['freezeUpTo'], entry.cutAt);
  }
  const document = parse(await experiments.text(uri)) as { layers?: unknown } | undefined;
  if (document?.layers !== undefined) await set(['layers'], undefined);
  return changed;
}

export function registerDownloadModelCommand(
  context: vscode.ExtensionContext,
  experiments: ExperimentService,
  describer: ModelDescriber,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  return vscode.commands.registerCommand('fineTune.downloadBaseModel', async () => {
    const cacheDir = modelCacheDir(context);
    const entry = await pickEntry(cacheDir);
    if (!entry) return;
    const model = await download(entry, cacheDir, describer, log);
    if (!model) return;
    const experiment = await experiments.resolveActive(true);
    if (!experiment) {
      const copy = 'Copy Path';
      const choice = await vscode.window.showInformationMessage(
        `Fine-Tune: ${entry.label} is at ${model.modelJson}. Open an experiment and run this command again to use it, or set "baseModel" to that path.`,
        copy,
      );
      if (choice === copy) await vscode.env.clipboard.writeText(model.modelJson);
      return;
    }
    try {
      const changed = await useInExperiment(experiments, experiment, entry, model.modelJson);
      log.info(`${path.basename(experiment.fsPath)}: set ${changed.join(', ')} for ${entry.id}`);
      void vscode.window.showInformationMessage(
        `Fine-Tune: ${path.basename(experiment.fsPath)} now fine-tunes ${entry.label} (${entry.imageSize.join('×')}, pixels [${entry.pixelRange.join(', ')}]${entry.cutAt ? `, frozen up to ${entry.cutAt}` : ''}).`,
      );
    } catch (error) {
      void vscode.window.showErrorMessage(
        `Fine-Tune: could not update the experiment: ${errorMessage(error)}`,
      );
    }
  });
}
