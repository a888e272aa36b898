/**
 * Drives the extension in a real VS Code: code-server 4.100.3 (installed in test/e2e/node_modules by
 * scripts/e2e-setup.sh) serving the workbench, Debian's Chromium driven by playwright-core clicking it.
 * Builds nothing: dist/ must exist (`npm run build`), or FINETUNE_E2E_VSIX names a packaged .vsix.
 *
 * Everything lives in one temp folder per session (user data, extensions, a copy of the sample
 * workspace), so the tests never touch the repo's samples or the user's VS Code profile.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

export { listRuns, readRunJson } from './runFolders';

/** The repo root: this file runs compiled from out/test/e2e/. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const CODE_SERVER_ENTRY = path.join(REPO_ROOT, 'test/e2e/node_modules/code-server/out/node/entry.js');
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-output/e2e');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  publisher: string;
  name: string;
  version: string;
};
/**
 * FINETUNE_E2E_VSIX=<file.vsix>: install that package (`npm run package` builds it) instead of symlinking
 * the repo, so the tests exercise exactly what users install. Unset: the fast symlink mode.
 */
export const E2E_VSIX = process.env.FINETUNE_E2E_VSIX
  ? path.resolve(process.env.FINETUNE_E2E_VSIX)
  : undefined;

/** The folder name VS Code expects under the extensions dir, and the id it reports. */
export const EXTENSION_FOLDER = `${manifest.publisher}.${manifest.name}-${manifest.version}`;
export const EXTENSION_ID = `${manifest.publisher}.${manifest.name}`;

// Bounded waits: generous because this runs on 2 busy cores, bounded so a broken UI fails, not hangs.
export const TIMEOUT = {
  serverStart: 60_000,
  workbench: 90_000,
  ui: 30_000,
};

/** Settings that keep the workbench quiet and deterministic: no trust modal, no welcome page, no tours. */
const USER_SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'chat.disableAIFeatures': true,
  'files.autoSave': 'off',
  'editor.minimap.enabled': false,
  'window.commandCenter': true,
};

export interface VsCodeSession {
  page: Page;
  /** The copy of samples/digits the window has open. */
  workspace: string;
  userDataDir: string;
  /** code-server's own stdout/stderr, for diagnosing a failed start. */
  serverLog: string;
  /** Content-Security-Policy violations the page and its frames (the webviews) logged, with their URL. */
  cspViolations: string[];
  /** Opens the command palette, types the command's title, runs it. */
  runCommand(title: string): Promise<void>;
  /** Closes whatever quick input or menu a failed step left open. */
  dismiss(): Promise<void>;
  /** Opens a workspace file in the editor through Quick Open (so it becomes the active editor). */
  openFile(relativePath: string): Promise<void>;
  /** Waits for a webview frame containing `selector` (and the text `hasText`, if given); returns it. */
  webviewFrame(selector: string, options?: { hasText?: string; timeoutMs?: number }): Promise<Frame>;
  /** Clicks the activity bar entry whose title starts with `title`. */
  openContainer(title: string): Promise<void>;
  /** The header of the view titled `title` inside the open container (e.g. "Layers"). */
  viewPane(title: string): Locator;
  /** The tree row (in the view titled `view`) whose label is `label`, or whose label ends with `/label`. */
  treeRow(view: string, label: string): Locator;
  /** Clicks the TreeItem checkbox of that row. */
  clickTreeCheckbox(view: string, label: string): Promise<void>;
  screenshot(name: string): Promise<string>;
  /** Closes the browser and ends code-server's whole process group, fileWatcher children included. */
  close(): Promise<void>;
}

/**
 * `code-server --install-extension <vsix>` into the session's extensions folder, then a check that the
 * installed copy is the packaged one (its own dist/ and node_modules/sharp, not a link to the repo).
 */
function installVsix(vsix: string, extensionsDir: string, userDataDir: string, env: NodeJS.ProcessEnv): void {
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    [
      CODE_SERVER_ENTRY,
      '--install-extension',
      vsix,
      '--extensions-dir',
      extensionsDir,
      '--user-data-dir',
      userDataDir,
    ],
    { env, encoding: 'utf8', timeout: 120_000 },
  );
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  if (result.status !== 0) {
    throw new Error(`code-server --install-extension ${vsix} failed (status ${result.status}):\n${output}`);
  }
  const installed = fs
    .readdirSync(extensionsDir)
    .find((name) => name.toLowerCase().startsWith(`${EXTENSION_ID.toLowerCase()}-`));
  const dir = installed && path.join(extensionsDir, installed);
  if (!dir || fs.lstatSync(dir).isSymbolicLink() || !fs.existsSync(path.join(dir, 'dist/extension.js'))) {
    throw new Error(`${vsix} did not install into ${extensionsDir} (${output})`);
  }
  if (!fs.existsSync(path.join(dir, 'node_modules/sharp/package.json'))) {
    throw new Error(
      `the installed ${installed} has no node_modules/sharp: the trainer could not decode images`,
    );
  }
  console.log(
    `e2e: installed ${path.basename(vsix)} as ${installed} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(2000, () => req.destroy());
  });
}

/** Polls `probe` until it returns a value other than undefined, or throws `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${(lastError as Error).message ?? String(lastError)})` : '';
      throw new Error(`Timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Copies the sample workspace without any runs a developer may have left in it. */
function copyWorkspace(from: string, to: string): void {
  fs.cpSync(from, to, {
    recursive: true,
    filter: (source) => path.basename(source) !== '.finetune',
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    // Negative pid: the whole process group that `detached` (setsid) gave code-server, which includes
    // the extension host, the trainer it forks and the fileWatcher processes.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startVsCode(
  options: {
    sample?: string;
    viewport?: { width: number; height: number };
    /** Adds to the workspace copy before the window opens (a hostile repository's files). */
    prepareWorkspace?: (workspace: string) => void;
  } = {},
): Promise<VsCodeSession> {
  if (!fs.existsSync(CODE_SERVER_ENTRY)) {
    throw new Error(`code-server is not installed (${CODE_SERVER_ENTRY}); run: bash scripts/e2e-setup.sh`);
  }
  const vsix = E2E_VSIX;
  if (vsix && !fs.existsSync(vsix)) {
    throw new Error(
      `FINETUNE_E2E_VSIX=${vsix} does not exist; build it with: npm run package -- --out ${vsix}`,
    );
  }
  if (!vsix && !fs.existsSync(path.join(REPO_ROOT, 'dist/extension.js'))) {
    throw new Error('dist/extension.js is missing; run: npm run build');
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-e2e-'));
  const userDataDir = path.join(root, 'user-data');
  const extensionsDir = path.join(root, 'extensions');
  const workspace = path.join(root, 'workspace');
  const serverLog = path.join(root, 'code-server.log');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User/settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
  fs.mkdirSync(extensionsDir);
  // XDG folders in the temp dir: code-server keeps its own logs and default config there.
  const serverEnv = {
    ...process.env,
    XDG_DATA_HOME: path.join(root, 'xdg-data'),
    XDG_CONFIG_HOME: path.join(root, 'xdg-config'),
  };
  if (vsix) {
    // As a user installs it: the packaged .vsix, through VS Code's own extension installer.
    installVsix(vsix, extensionsDir, userDataDir, serverEnv);
  } else {
    // A symlink to the repo: the extension runs from the real dist/, schemas/, media/ and node_modules/
    // (sharp is native and resolved at run time), and nothing is copied.
    fs.symlinkSync(REPO_ROOT, path.join(extensionsDir, EXTENSION_FOLDER), 'dir');
  }
  copyWorkspace(path.join(REPO_ROOT, options.sample ?? 'samples/digits'), workspace);
  options.prepareWorkspace?.(workspace);
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // An explicit config file, or code-server writes a default one (with a password) to ~/.config.
  fs.writeFileSync(path.join(root, 'code-server.yaml'), 'auth: none\ncert: false\n');

  const port = await freePort();
  const logFd = fs.openSync(serverLog, 'a');
  const server = spawn(
    process.execPath,
    [
      CODE_SERVER_ENTRY,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--config',
      path.join(root, 'code-server.yaml'),
      '--extensions-dir',
      extensionsDir,
      '--user-data-dir',
      userDataDir,
      workspace,
    ],
    // detached = setsid: code-server leads its own process group, so close() can end all of it.
    {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: serverEnv,
    },
  );
  fs.closeSync(logFd);
  let exited = false;
  server.once('exit', () => (exited = true));

  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close().catch(() => undefined);
    killGroup(server, 'SIGTERM');
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    killGroup(server, 'SIGKILL'); // stragglers of the group (fileWatcher, a trainer) even if the leader exited
    if (process.env.FINETUNE_E2E_KEEP) console.log(`e2e: kept ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  };

  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      `code-server to answer on ${base} (log: ${serverLog})`,
      async () => {
        if (exited) throw new Error(`code-server exited:\n${tail(serverLog)}`);
        return (await httpStatus(`${base}/`)) === 302 ? true : undefined;
      },
      TIMEOUT.serverStart,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT.ui);
    // Chromium logs each blocked style or script as a console error of the frame it happened in.
    const cspViolations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text()))
        cspViolations.push(`${message.location().url}: ${message.text()}`);
    });
    await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: TIMEOUT.workbench });
    // The activity bar renders a moment after the workbench shell; wait for it so the first click lands.
    await page.waitForSelector('.activitybar .action-label', { timeout: TIMEOUT.workbench });

    const session: VsCodeSession = {
      page,
      workspace,
      userDataDir,
      serverLog,
      cspViolations,
      async runCommand(title) {
        await openQuickInput(page, `>${title}`);
        const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
        await row.waitFor({ state: 'visible' });
        await page.keyboard.press('Enter');
        // The palette closes on Enter; a command that opens a quick pick reuses the widget, so do not wait.
      },
      async dismiss() {
        for (let i = 0; i < 2; i++) await page.keyboard.press('Escape');
      },
      async openFile(relativePath) {
        // An absolute path, not a name: Quick Open's file search caches its first listing, so a file a
        // test writes later is only found by its path.
        await openQuickInput(page, path.join(workspace, relativePath));
        const row = page
          .locator('.quick-input-list .monaco-list-row', { hasText: path.basename(relativePath) })
          .first();
        await row.waitFor({ state: 'visible' });
        await page.keyboard.press('Enter');
        await page
          .locator(`.tabs-container .tab[aria-label^="${path.basename(relativePath)}"]`)
          .first()
          .waitFor({ state: 'visible' });
      },
      webviewFrame(selector, { hasText, timeoutMs = TIMEOUT.ui } = {}) {
        return waitFor(
          `a webview containing ${selector}${hasText ? ` and "${hasText}"` : ''}`,
          async () => {
            // Webviews are iframes inside iframes; their documents show up in page.frames().
            for (const frame of page.frames()) {
              if (frame === page.mainFrame()) continue;
              if (!(await frame.$(selector).catch(() => null))) continue;
              if (hasText && !(await frame.locator('body').innerText()).includes(hasText)) continue;
              return frame;
            }
            return undefined;
          },
          timeoutMs,
        );
      },
      async openContainer(title) {
        const entry = page.locator(`.activitybar .action-label[aria-label^="${title}"]`).first();
        await entry.waitFor({ state: 'visible' });
        // Clicking an already open container closes the sidebar; only click when it is not the open one.
        if ((await entry.locator('xpath=..').getAttribute('class'))?.includes('checked')) return;
        await entry.click();
      },
      viewPane(title) {
        return page.locator('.sidebar .pane', {
          has: page.locator(`.pane-header h3.title`, {
            hasText: new RegExp(`^${escapeRegExp(title)}$`, 'i'),
          }),
        });
      },
      treeRow(view, label) {
        const exact = new RegExp(`^(.*/)?${escapeRegExp(label)}$`);
        return session
          .viewPane(view)
          .locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: exact }) })
          .first();
      },
      async clickTreeCheckbox(view, label) {
        const row = session.treeRow(view, label);
        await row.scrollIntoViewIfNeeded();
        await row.locator('.custom-view-tree-node-item-checkbox').click();
      },
      async screenshot(name) {
        const file = path.join(SCREENSHOT_DIR, `${name}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      close,
    };
    return session;
  } catch (error) {
    await close();
    throw error;
  }
}

/** Opens Quick Open through the command center (F1 and Ctrl+Shift+P are taken by the browser) and types. */
async function openQuickInput(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  if (!(await input.isVisible())) {
    await page.locator('.command-center-center').click();
    await input.waitFor({ state: 'visible' });
  }
  await input.fill(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
