/**
 * Renders a webview bundle in headless Chromium exactly as VS Code would (same HTML shell and CSP from
 * src/host/panels/webviewHtml.ts), with a stand-in `acquireVsCodeApi` that records what the page posts.
 * Tests drive it by sending host messages and reading the DOM.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { renderWebviewHtml } from '../../src/host/panels/webviewHtml';

/** The built webviews: beside out/test/webview in tests; `npm run bench -- --data` (bundled in dist/) sets it. */
const DIST = process.env.FINETUNE_WEBVIEW_DIST ?? path.resolve(__dirname, '../../../dist/webview');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.ttf': 'font/ttf',
  '.png': 'image/png',
  '.map': 'application/json',
};

export interface WebviewPage {
  page: Page;
  /** Messages the page posted to the "host", in order. */
  posted(): Promise<unknown[]>;
  /** Delivers a host message to the page. */
  send(message: unknown): Promise<void>;
  /** Page errors, console errors and CSP violations seen so far. */
  problems: string[];
  dialogs: string[];
  /** Closes the page; throws when the page violated its CSP at any point. */
  close(): Promise<void>;
}

let browser: Browser | undefined;

export async function openWebview(
  panel: string,
  options: { width?: number; height?: number; state?: unknown } = {},
): Promise<WebviewPage> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/') {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const styles = [`${origin}/codicon.css`];
      if (fs.existsSync(path.join(DIST, `${panel}.css`))) styles.push(`${origin}/${panel}.css`);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        renderWebviewHtml({
          title: panel,
          cspSource: origin,
          scriptUri: `${origin}/${panel}.js`,
          styleUris: styles,
        }),
      );
      return;
    }
    const file = path.join(DIST, path.normalize(url.pathname).replace(/^[/\\]+/, ''));
    if (!file.startsWith(DIST) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1000, height: options.height ?? 800 },
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  // Every CSP violation (a blocked style, script, font…) is a problem, whether or not Chromium logs it.
  await page.exposeFunction('__cspViolation', (text: string) => void problems.push(`csp: ${text}`));
  await page.addInitScript(() => {
    const w = globalThis as unknown as {
      __cspViolation(text: string): void;
      addEventListener(type: string, listener: (e: unknown) => void, capture: boolean): void;
    };
    w.addEventListener(
      'securitypolicyviolation',
      (event) => {
        const e = event as {
          violatedDirective: string;
          blockedURI: string;
          sourceFile: string;
          sample: string;
        };
        w.__cspViolation(
          `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}) ${e.sample}`,
        );
      },
      true,
    );
  });
  await page.addInitScript((state) => {
    const w = globalThis as unknown as {
      __posted: unknown[];
      __state: unknown;
      acquireVsCodeApi: () => unknown;
    };
    w.__posted = [];
    w.__state = state;
    w.acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => w.__posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => w.__state,
      setState: (s: unknown) => (w.__state = s),
    });
  }, options.state ?? null);
  const port = (server.address() as AddressInfo).port;
  await page.goto(`http://127.0.0.1:${port}/`);
  return {
    page,
    posted: () => page.evaluate(() => (globalThis as unknown as { __posted: unknown[] }).__posted),
    // window.postMessage would deliver the message in a later task, after `send` has resolved, so a
    // test reading the DOM right after could race the handler (seen once in CI). Dispatching the event
    // runs the handler synchronously; the zero timeout lets any microtasks it queued settle too.
    send: (message) =>
      page.evaluate(async (m) => {
        const w = globalThis as unknown as {
          dispatchEvent(e: unknown): void;
          MessageEvent: new (t: string, i: object) => unknown;
        };
        w.dispatchEvent(new w.MessageEvent('message', { data: m }));
        await new Promise((resolve) => setTimeout(resolve, 0));
      }, message),
    problems,
    dialogs,
    // Whatever a test did on the page, a blocked style or script fails it: the CSP has no 'unsafe-inline'.
    close: async () => {
      await context.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const violations = problems.filter((p) => p.startsWith('csp: '));
      if (violations.length > 0)
        throw new Error(`the ${panel} panel violated its CSP:\n${violations.join('\n')}`);
    },
  };
}

export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}
