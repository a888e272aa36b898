/**
 * The bounded regular-file reader every workspace read goes through (issue 16, point 1), against the
 * files a cloned repository can contain: a link to /dev/zero, a FIFO nobody writes, a huge file, a folder,
 * a link where a real file is expected; and the writes that must not go through a planted link (point 10).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  copyRegularFileSync,
  FileReadError,
  readRegularFile,
  readRegularFileSync,
} from '../../src/core/files/regularFile';
import { writeFileAtomic, writeFileDurably } from '../../src/core/atomicFile';

const unix = process.platform !== 'win32';

function hostileFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-hostile-read-'));
  fs.writeFileSync(path.join(dir, 'plain.json'), '{"ok":true}');
  fs.writeFileSync(path.join(dir, 'big.json'), Buffer.alloc(4096, 0x20));
  fs.mkdirSync(path.join(dir, 'folder'));
  if (unix) {
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.json'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.jsonl')]);
    fs.symlinkSync(path.join(dir, 'plain.json'), path.join(dir, 'link.json'));
  }
  return dir;
}

async function reason(read: () => unknown): Promise<string> {
  try {
    await read();
  } catch (error) {
    assert.ok(error instanceof FileReadError, String(error));
    return error.reason;
  }
  return 'read';
}

describe('bounded regular-file reads', () => {
  const dir = hostileFolder();
  const at = (name: string): string => path.join(dir, name);

  for (const [kind, read] of [
    [
      'sync',
      (file: string, maxBytes: number, noFollow?: boolean) =>
        readRegularFileSync(file, { maxBytes, noFollow }),
    ],
    [
      'async',
      (file: string, maxBytes: number, noFollow?: boolean) => readRegularFile(file, { maxBytes, noFollow }),
    ],
  ] as const) {
    it(
      `${kind}: reads a plain file; refuses a device, a FIFO, a folder and a file over the cap at once`,
      { timeout: 10000 },
      async () => {
        assert.equal(String(await read(at('plain.json'), 100)), '{"ok":true}');
        assert.equal(await reason(() => read(at('big.json'), 1000)), 'too large');
        assert.equal(await reason(() => read(at('folder'), 1000)), 'a folder');
        assert.equal(await reason(() => read(at('absent.json'), 1000)), 'missing');
        if (!unix) return;
        // Without the checks, the first reads forever and the second blocks until someone writes.
        assert.equal(await reason(() => read(at('zero.json'), 1 << 20)), 'not a regular file');
        assert.equal(await reason(() => read(at('fifo.jsonl'), 1 << 20)), 'not a regular file');
        assert.equal(
          String(await read(at('link.json'), 100)),
          '{"ok":true}',
          'a link is followed unless noFollow',
        );
        assert.equal(await reason(() => read(at('link.json'), 100, true)), 'a symbolic link');
      },
    );
  }

  it(
    'a file that is larger than fstat says (/proc) is still cut at the cap',
    { skip: !fs.existsSync('/proc/self/status') },
    () => {
      assert.equal(fs.statSync('/proc/self/status').size, 0, 'procfs reports size 0');
      assert.ok(readRegularFileSync('/proc/self/status', { maxBytes: 1 << 20 }).length > 0);
      assert.throws(() => readRegularFileSync('/proc/self/status', { maxBytes: 16 }), /too large/);
    },
  );

  it('the error says what and why in words', () => {
    assert.throws(
      () => readRegularFileSync(at('big.json'), { maxBytes: 1000 }),
      (error: Error) => error.message === `${at('big.json')} is unreadable (too large) — over 1000 bytes`,
    );
  });

  it(
    'copies through the checked descriptor: no link as source, no existing file (or link) as destination',
    { skip: !unix },
    () => {
      const out = path.join(dir, 'copy.json');
      assert.equal(copyRegularFileSync(at('plain.json'), out, { maxBytes: 100 }), 11);
      assert.equal(fs.readFileSync(out, 'utf8'), '{"ok":true}');
      assert.throws(
        () => copyRegularFileSync(at('link.json'), path.join(dir, 'c2'), { maxBytes: 100 }),
        /symbolic link/,
      );
      assert.throws(
        () => copyRegularFileSync(at('zero.json'), path.join(dir, 'c3'), { maxBytes: 100 }),
        /symbolic link/,
      );
      assert.throws(() => copyRegularFileSync(at('plain.json'), out, { maxBytes: 100 }), /EEXIST/);
      assert.ok(!fs.existsSync(path.join(dir, 'c2')) && !fs.existsSync(path.join(dir, 'c3')));
    },
  );

  it('new files are created, never written through a link planted under their name', { skip: !unix }, () => {
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    const planted = path.join(dir, 'planted.tmp');
    fs.symlinkSync(victim, planted);
    assert.throws(() => writeFileDurably(planted, 'overwritten'), /EEXIST/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
    // An atomic write replaces a link at the target itself, not the file it points at.
    const target = path.join(dir, 'run.json');
    fs.symlinkSync(victim, target);
    writeFileAtomic(target, '{"status":"running"}');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
    assert.ok(!fs.lstatSync(target).isSymbolicLink());
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.includes('.tmp-')),
      [],
      'no temp file left',
    );
  });
});
