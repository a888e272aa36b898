/**
 * Text from files (run names, class folders, error messages quoting a path) made safe to print on a
 * terminal: a run.json of a cloned repository may name its run `\u001b]52;c;…\u0007`, an escape sequence
 * that writes the clipboard, retitles the window, draws a fake prompt or hides the rest of the line.
 * Control characters other than line feed and tab — C0, DEL, C1 (which some terminals read as CSI), and
 * the bidirectional overrides that reorder what is shown — are printed as visible `\uNNNN` escapes
 * instead of being sent to the terminal. That form is also JSON's escape of the same character, so JSON
 * output (`--json`) passed through here still parses to the very same strings.
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

function visible(char: string): string {
  return `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** `text` with every terminal control character shown as an escape (see the file comment). */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visible);
}
