/**
 * "Fine-Tune: Install Native Backend": installs @tensorflow/tfjs-node or -gpu 4.22.0 with npm into the
 * extension's global storage (on the machine the extension runs on — the remote one under Remote-SSH,
 * WSL or a container), with progress, Cancel, npm's output in the Fine-Tune log, failures explained, and
 * finally a real load test: a trainer process started on that backend. The setting
 * `fineTune.nativeBackendPath` points at an existing installation instead.
 *
 * The trainer learns where the packages are from FINETUNE_NATIVE_PATH (selectBackend.ts resolves the
 * native packages there first); `trainerEnvironment` builds it for every trainer the host starts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { NATIVE_PATH_ENV } from '../../core/backend/nativePath';
import { checkCuda, REQUIRED_CUDA, REQUIRED_CUDNN } from '../nativeBackend/cudaCheck';
import {
  backendPrefix,
  installedVersion,
  installNativeBackend,
  NATIVE_PACKAGES,
  TFJS_NODE_VERSION,
  type NativeBackend,
} from '../nativeBackend/npmInstall';
import { TrainerProcess } from '../trainerProcess';

export const NATIVE_BACKEND_PATH_SETTING = 'nativeBackendPath';

/** `<globalStorage>/native`: one npm prefix per backend below it. */
export function nativeRoot(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'native');
}

/**
 * The installed backends' folders in global storage, looked up without blocking at activation and after
 * each install (refreshInstalledBackends); trainerEnvironment reads this list.
 */
let installedPrefixes: string[] = [];

export async function refreshInstalledBackends(context: vscode.ExtensionContext): Promise<void> {
  const found: string[] = [];
  for (const backend of ['tensorflow-gpu', 'tensorflow'] as const) {
    const prefix = backendPrefix(nativeRoot(context), backend);
    if (await installedVersion(prefix, backend)) found.push(prefix);
  }
  installedPrefixes = found;
}

/** The folders the trainer looks in for the native packages: the setting's first, then global storage. */
export function nativeBackendFolders(_context: vscode.ExtensionContext): string[] {
  const configured = vscode.workspace
    .getConfiguration('fineTune')
    .get<string>(NATIVE_BACKEND_PATH_SETTING, '')
    .trim();
  return [...(configured ? [configured] : []), ...installedPrefixes];
}

/** The environment for a trainer process: the host's, plus FINETUNE_NATIVE_PATH when there is one. */
export function trainerEnvironment(context: vscode.ExtensionContext): NodeJS.ProcessEnv {
  const folders = nativeBackendFolders(context);
  return folders.length > 0
    ? { ...process.env, [NATIVE_PATH_ENV]: folders.join(path.delimiter) }
    : process.env;
}

interface BackendChoiceItem extends vscode.QuickPickItem {
  backend: NativeBackend;
}

async function chooseBackend(context: vscode.ExtensionContext): Promise<NativeBackend | undefined> {
  const root = nativeRoot(context);
  const versions = {
    tensorflow: await installedVersion(backendPrefix(root, 'tensorflow'), 'tensorflow'),
    'tensorflow-gpu': await installedVersion(backendPrefix(root, 'tensorflow-gpu'), 'tensorflow-gpu'),
  };
  const installed = (backend: NativeBackend): string => {
    const version = versions[backend];
    return version ? ` — installed (${version})` : '';
  };
  const items: BackendChoiceItem[] = [
    {
      label: 'TensorFlow (CPU)',
      description: `${NATIVE_PACKAGES.tensorflow}@${TFJS_NODE_VERSION}${installed('tensorflow')}`,
      detail:
        'Native TensorFlow on the CPU: several times faster than wasm/cpu. Downloads libtensorflow (~100 MB).',
      backend: 'tensorflow',
    },
    {
      label: 'TensorFlow GPU (CUDA)',
      description: `${NATIVE_PACKAGES['tensorflow-gpu']}@${TFJS_NODE_VERSION}${installed('tensorflow-gpu')}`,
      detail: `NVIDIA GPUs on Linux/Windows; needs CUDA ${REQUIRED_CUDA} and cuDNN ${REQUIRED_CUDNN} installed. Downloads ~400 MB.`,
      backend: 'tensorflow-gpu',
    },
  ];
  const pick = await vscode.window.showQuickPick(items, {
    placeHolder: 'Install which native TensorFlow backend (with npm, into the extension’s storage)?',
  });
  return pick?.backend;
}

/** Before a GPU install: warn when the driver, CUDA 11.2 or cuDNN 8.1 is missing. Returns false to stop. */
async function confirmCuda(log: vscode.LogOutputChannel): Promise<boolean> {
  const report = await checkCuda();
  log.info(
    `CUDA check: GPUs ${report.gpus.join(', ') || 'none'}; driver ${report.driverVersion ?? '—'} (CUDA ≤ ${report.driverCudaVersion ?? '—'}); ` +
      `CUDA 11 runtime ${report.cudart11 ?? 'missing'}; cuDNN 8 ${report.cudnn8 ?? 'missing'}` +
      (report.otherCudart.length || report.otherCudnn.length
        ? `; also ${[...report.otherCudart, ...report.otherCudnn].join(', ')}`
        : ''),
  );
  if (report.problems.length === 0) return true;
  for (const problem of report.problems) log.warn(problem);
  const install = 'Install Anyway';
  const answer = await vscode.window.showWarningMessage(
    `tfjs-node-gpu ${TFJS_NODE_VERSION} will probably not load on this machine.`,
    {
      modal: true,
      detail: `${report.problems.join('\n\n')}\n\nThe package installs anyway, but training on "tensorflow-gpu" fails until CUDA ${REQUIRED_CUDA} and cuDNN ${REQUIRED_CUDNN} are there; "auto" then falls back to the next backend.`,
    },
    install,
  );
  return answer === install;
}

/** Starts a trainer on `backend` with the new installation; resolves undefined when it came up, else why not. */
async function loadTest(
  trainerScript: string,
  backend: NativeBackend,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  try {
    const trainer = await TrainerProcess.launch({ trainerScript, backend, env, readyTimeoutMs: 120000 });
    trainer.kill();
    return trainer.backend === backend ? undefined : `the trainer chose ${trainer.backend} instead`;
  } catch (error) {
    return (error as Error).message;
  }
}

async function installCommand(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  trainerScript: string,
): Promise<void> {
  const backend = await chooseBackend(context);
  if (!backend) return;
  const pkg = `${NATIVE_PACKAGES[backend]}@${TFJS_NODE_VERSION}`;
  const configured = vscode.workspace
    .getConfiguration('fineTune')
    .get<string>(NATIVE_BACKEND_PATH_SETTING, '')
    .trim();
  if (configured && (await installedVersion(configured, backend))) {
    const install = 'Install Anyway';
    const answer = await vscode.window.showInformationMessage(
      `Fine-Tune: ${NATIVE_PACKAGES[backend]} is already available from fineTune.nativeBackendPath (${configured}), which takes precedence.`,
      install,
    );
    if (answer !== install) return;
  }
  if (backend === 'tensorflow-gpu' && !(await confirmCuda(log))) return;

  log.info(`installing ${pkg} with npm into ${backendPrefix(nativeRoot(context), backend)}`);
  const result = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Fine-Tune: installing ${pkg}`,
      cancellable: true,
    },
    async (progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      progress.report({ message: 'npm install… (the native library download takes a few minutes)' });
      return installNativeBackend({
        backend,
        root: nativeRoot(context),
        signal: controller.signal,
        onOutput: (line, stream) => {
          if (stream === 'stderr') log.warn(`npm: ${line}`);
          else log.info(`npm: ${line}`);
          progress.report({ message: line.length > 90 ? `${line.slice(0, 90)}…` : line });
        },
      });
    },
  );

  if (!result.ok) {
    const { failure } = result;
    if (failure.kind === 'cancelled') {
      log.info('native backend installation cancelled');
      void vscode.window.showInformationMessage(`Fine-Tune: ${failure.message}`);
      return;
    }
    log.error(`installing ${pkg} failed (${failure.kind}): ${failure.message}`);
    for (const line of failure.details) log.error(`  ${line}`);
    const showLog = 'Show Log';
    const answer = await vscode.window.showErrorMessage(
      `Fine-Tune: could not install ${pkg}.`,
      {
        modal: true,
        detail: `${failure.message}${failure.details.length ? `\n\n${failure.details.join('\n')}` : ''}`,
      },
      showLog,
    );
    if (answer === showLog) log.show();
    return;
  }

  log.info(
    `installed ${NATIVE_PACKAGES[backend]} ${result.version} in ${result.prefix}; checking that it loads`,
  );
  await refreshInstalledBackends(context);
  const problem = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Fine-Tune: checking that ${backend} loads…` },
    () => loadTest(trainerScript, backend, trainerEnvironment(context)),
  );
  if (problem) {
    log.error(`${backend} is installed but does not load: ${problem}`);
    const advice =
      backend === 'tensorflow-gpu'
        ? ` tfjs-node-gpu ${TFJS_NODE_VERSION} needs CUDA ${REQUIRED_CUDA} (libcudart.so.11.0) and cuDNN ${REQUIRED_CUDNN} (libcudnn.so.8) where the loader finds them.`
        : '';
    void vscode.window.showErrorMessage(
      `Fine-Tune: ${backend} is installed but does not load: ${problem}${advice}`,
    );
    return;
  }
  const use = `Use ${backend}`;
  const answer = await vscode.window.showInformationMessage(
    `Fine-Tune: ${backend} (${NATIVE_PACKAGES[backend]} ${result.version}) is installed and works. "auto" picks it from now on.`,
    use,
  );
  if (answer === use)
    await vscode.workspace
      .getConfiguration('fineTune')
      .update('backend', backend, vscode.ConfigurationTarget.Global);
}

export function registerInstallBackendCommand(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): vscode.Disposable {
  const trainerScript = vscode.Uri.joinPath(context.extensionUri, 'dist', 'trainer.js').fsPath;
  void refreshInstalledBackends(context);
  const configured = vscode.workspace
    .getConfiguration('fineTune')
    .get<string>(NATIVE_BACKEND_PATH_SETTING, '')
    .trim();
  if (configured) {
    void fs.promises
      .stat(path.join(configured, 'node_modules'))
      .catch(() =>
        log.warn(
          `fineTune.nativeBackendPath is ${configured}, which has no node_modules folder: set it to the folder that holds node_modules/@tensorflow/tfjs-node(-gpu).`,
        ),
      );
  }
  return vscode.commands.registerCommand('fineTune.installNativeBackend', () =>
    installCommand(context, log, trainerScript),
  );
}
