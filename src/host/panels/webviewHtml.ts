/**
 * The HTML shell of every webview, with a strict Content-Security-Policy: nothing by default, scripts
 * only with this render's nonce, styles and fonts only from the extension's own bundle. No vscode
 * import, so tests render the exact same page in headless Chromium.
 */
import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  title: string;
  /** `webview.cspSource` in VS Code; the test server's origin in tests. */
  cspSource: string;
  scriptUri: string;
  styleUris: string[];
  /** Fresh per render; generated when omitted. */
  nonce?: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64url');
}

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderWebviewHtml(options: WebviewHtmlOptions): string {
  const nonce = options.nonce ?? makeNonce();
  const csp = [
    "default-src 'none'",
    `img-src ${options.cspSource} data:`,
    // Stylesheets only from the bundle: no 'unsafe-inline', so neither <style> elements nor style
    // attributes in markup apply. What sets styles does so through the CSSOM, which CSP allows: chart.js
    // (canvas sizing), our code (element.style.…, custom properties), and Lit inside @vscode-elements
    // (constructed stylesheets, adopted by its shadow roots). test/webview/* fail on any violation.
    // Scripts are nonce-only: no 'unsafe-inline', no 'unsafe-eval'.
    `style-src ${options.cspSource}`,
    `font-src ${options.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  // @vscode-elements finds the codicon font through this id (for their `icon` attributes).
  const styles = options.styleUris
    .map(
      (uri) =>
        `<link rel="stylesheet" href="${escapeAttr(uri)}"${uri.endsWith('codicon.css') ? ' id="vscode-codicon-stylesheet"' : ''} />`,
    )
    .join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta http-equiv="Content-Security-Policy" content="${csp}" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    ${styles}
    <title>${escapeAttr(options.title)}</title>
  </head>
  <body>
    <div id="root"></div>
    <script nonce="${nonce}" src="${escapeAttr(options.scriptUri)}"></script>
  </body>
</html>`;
}
