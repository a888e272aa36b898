/**
 * File-derived text (run names, class folders) in the Markdown we generate (an export's README.md): it
 * must read as that text, not as Markdown or HTML — a class folder named `<img src=x onerror=…>` or
 * `[click](https://evil.example)` in a cloned repository must not become an image, a link or markup in
 * the README the user opens in a preview or publishes with the model.
 */

/** Plain text: every Markdown punctuation character backslash-escaped, line breaks as spaces. */
export function markdownText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>&~"'=:]/g, (c) => `\\${c}`);
}

/**
 * An inline code span showing `text` exactly: fenced with more backticks than the longest run inside it
 * (CommonMark), padded with a space when it starts or ends with a backtick, line breaks as spaces. Inside
 * a code span nothing is markup, HTML included.
 */
export function markdownCode(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || longest > 0 ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}
