/**
 * File-derived text in what we hand to a shell, a terminal or a Markdown reader (issue 16, points 4 and
 * 11): a hostile folder name pasted from "Copy Command" arrives as the name (checked with a real sh); a
 * run name's escape sequences reach no terminal; names in an export's README are text, not markup.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  cmdQuote,
  posixQuote,
  powershellQuote,
  quoteArg,
  shellKindOf,
} from '../../src/core/portable/shellQuote';
import { terminalSafe } from '../../src/core/portable/terminalText';
import { markdownCode, markdownText } from '../../src/core/portable/markdownText';
import { HOSTILE_FOLDER_NAME } from '../helpers/hostileFixtures';

const HOSTILE_ARGS = [
  HOSTILE_FOLDER_NAME,
  `/tmp/it's "quoted" \\ back\\slash`,
  '$(touch PWNED)',
  '`touch PWNED`',
  "'; touch PWNED; '",
  'a\nb',
  '-rf',
  '',
];

describe('shell quoting for Copy Command', () => {
  it(
    'POSIX: sh receives every hostile argument exactly, and runs nothing',
    { skip: process.platform === 'win32' },
    () => {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-quote-'));
      for (const arg of HOSTILE_ARGS) {
        const printed = execFileSync('sh', ['-c', `printf '%s' ${posixQuote(arg)}`], {
          cwd,
          encoding: 'utf8',
        });
        assert.equal(printed, arg);
      }
      assert.deepEqual(fs.readdirSync(cwd), [], 'no PWNED file: nothing was executed');
    },
  );

  it('PowerShell: single-quoted, quotes (typographic ones too) doubled; $ and ` stay literal', () => {
    assert.equal(powershellQuote(`it's`), `'it''s'`);
    assert.equal(powershellQuote('a\u2019b'), "'a\u2019\u2019b'");
    assert.equal(powershellQuote('$(x) `y` $env:HOME'), "'$(x) `y` $env:HOME'");
  });

  it('cmd.exe: double-quoted, % taken out of the quotes and escaped; a " is refused', () => {
    assert.equal(cmdQuote('C:\\a b\\%PATH%'), '"C:\\a b\\"^%"PATH"^%""');
    assert.equal(cmdQuote('a & b | c'), '"a & b | c"');
    assert.throws(() => cmdQuote('a"b'), /cannot quote/);
  });

  it('the shell is told from VS Code’s terminal shell path', () => {
    assert.equal(shellKindOf('/bin/bash', 'linux'), 'posix');
    assert.equal(shellKindOf('/usr/bin/fish', 'darwin'), 'posix');
    assert.equal(shellKindOf('C:\\Program Files\\PowerShell\\7\\pwsh.exe', 'win32'), 'powershell');
    assert.equal(
      shellKindOf('C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', 'win32'),
      'powershell',
    );
    assert.equal(shellKindOf('C:\\Windows\\System32\\cmd.exe', 'win32'), 'cmd');
    assert.equal(shellKindOf('', 'win32'), 'powershell');
    assert.equal(quoteArg('x y', 'posix'), "'x y'");
  });
});

describe('terminal output', () => {
  it('control characters, C1 and bidirectional overrides are shown, not sent', () => {
    assert.equal(terminalSafe('a\u001b[2Jb\u0007'), 'a\\u001b[2Jb\\u0007');
    assert.equal(terminalSafe('x\u009b31m'), 'x\\u009b31m');
    assert.equal(terminalSafe('evil\u202Etxt.exe'), 'evil\\u202etxt.exe');
    assert.equal(terminalSafe('two\nlines\tand tabs, ünïcödé ✓'), 'two\nlines\tand tabs, ünïcödé ✓');
    assert.equal(terminalSafe('carriage\rreturn'), 'carriage\\u000dreturn', 'no overwriting the line');
  });

  it('JSON passed through it parses to the same strings', () => {
    const value = { name: 'a\u009b\u202e\u007fb', plain: 'x' };
    assert.deepEqual(JSON.parse(terminalSafe(JSON.stringify(value))), value);
  });
});

describe('Markdown of file-derived names', () => {
  it('text: markup characters escaped, lines joined', () => {
    assert.equal(markdownText('<img src=x onerror=alert(1)>'), '\\<img src\\=x onerror\\=alert\\(1\\)\\>');
    assert.equal(markdownText('[click](https://evil.example)'), '\\[click\\]\\(https\\://evil\\.example\\)');
    assert.equal(markdownText('# not a heading\n# second'), '\\# not a heading \\# second');
  });

  it('code spans: fenced past any backticks inside, so nothing inside is markup', () => {
    assert.equal(markdownCode('cat'), '`cat`');
    assert.equal(markdownCode('a`b'), '`` a`b ``');
    assert.equal(markdownCode('``x'), '``` ``x ```');
    assert.equal(markdownCode('<b>x</b>'), '`<b>x</b>`');
  });
});
