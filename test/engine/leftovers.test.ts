/**
 * The staged pieces of interrupted writes in a runs folder are removed when the next run starts — only
 * those of writers that are gone, only binaries no JSON file names, only staging folders that are stale —
 * and nothing a run needs is touched.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { removeLeftovers } from '../../src/engine/runs/leftovers';
import { HOST_TAG } from '../../src/core/files/writerId';
import { RUN_LOCK_FILE } from '../../src/core/runs/runLock';

/** The writer part of a staged name, as files/writerId.ts writes it: pid, host tag, random. */
const tag = (pid: number, host = HOST_TAG): string => `${pid}-${host}0123abcd`;
const OTHER_HOST = HOST_TAG === 'ffffffff' ? 'eeeeeeee' : 'ffffffff';

function write(file: string, text = 'x'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('leftovers of interrupted writes', () => {
  it('removes dead writers’ temp files, unreferenced binaries and stale staging folders only', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid is free
    const dead = tag(deadPid);
    const live = tag(process.pid);
    const run = path.join(runs, 'run-1');
    const keep = [
      write(path.join(run, 'run.json'), '{}'),
      write(
        path.join(run, 'model', 'model.json'),
        `{"weightsManifest":[{"paths":["./weights-a-${dead}.bin"]}]}`,
      ),
      write(path.join(run, 'model', `weights-a-${dead}.bin`)), // named by model.json
      write(path.join(run, 'model', `weights-c-${live}.bin`)), // a live trainer is writing it
      write(path.join(run, `run.json.tmp-${live}`)),
      write(path.join(run, 'checkpoint', 'state.json'), `{"tensorsFile":"tensors-k-${dead}.bin"}`),
      write(path.join(run, 'checkpoint', `tensors-k-${dead}.bin`)),
      write(path.join(run, 'notes.txt')), // not ours to judge
      // Another host's writer (a dev container on the same bind mount): its pid means nothing here.
      write(path.join(run, `run.json.tmp-${tag(deadPid, OTHER_HOST)}`)),
      write(path.join(run, 'model', `weights-d-${tag(deadPid, OTHER_HOST)}.bin`)),
      // The old format, a bare pid: which host wrote it is unknown.
      write(path.join(run, `summary.json.tmp-${deadPid}`)),
    ];
    const gone = [
      write(path.join(run, `run.json.tmp-${dead}`)),
      write(path.join(run, 'model', `weights-b-${dead}.bin`)),
      write(path.join(run, 'model', `model.json.tmp-${dead}`)),
      write(path.join(run, 'checkpoint', `tensors-j-${dead}.bin`)),
    ];
    const stale = path.join(runs, '.run-2.creating-abc');
    write(path.join(stale, 'run.json'));
    const oldTime = new Date(Date.now() - 60 * 60 * 1000);
    fs.utimesSync(stale, oldTime, oldTime);
    const fresh = path.join(runs, '.run-3.creating-def');
    write(path.join(fresh, 'run.json'));

    const removed = removeLeftovers(runs);
    assert.deepEqual([...removed].sort(), [...gone, stale].sort());
    for (const file of keep) assert.ok(fs.existsSync(file), `kept ${path.relative(runs, file)}`);
    assert.ok(fs.existsSync(fresh), 'a staging folder being assembled right now is kept');
    assert.deepEqual(removeLeftovers(runs), [], 'nothing left the second time');
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('removes what another host (or an untagged writer) staged only once it is a day old', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const run = path.join(runs, 'run-1');
    write(path.join(run, 'run.json'), '{}');
    const foreign = write(path.join(run, `run.json.tmp-${tag(deadPid, OTHER_HOST)}`));
    const untagged = write(path.join(run, `run.json.tmp-${deadPid}`));
    assert.deepEqual(removeLeftovers(runs), []);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    for (const file of [foreign, untagged]) fs.utimesSync(file, twoDaysAgo, twoDaysAgo);
    assert.deepEqual(removeLeftovers(runs).sort(), [foreign, untagged].sort());
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('skips a run whose writer holds its lock, and never follows a symbolic link', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-outside-'));
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    // Files elsewhere that look exactly like leftovers, reached through links a repository may contain.
    const victimTemp = write(path.join(outside, `run.json.tmp-${tag(deadPid)}`));
    const victimBinary = write(path.join(outside, `weights-b-${tag(deadPid)}.bin`));
    write(path.join(outside, 'model.json'), '{}');
    const run = path.join(runs, 'run-1');
    write(path.join(run, 'run.json'), '{}');
    fs.symlinkSync(outside, path.join(run, 'model'));
    fs.symlinkSync(outside, path.join(runs, 'run-linked'));
    // A live writer (another host's lock, fresh) is writing run-2: its dead-looking temp file is its work.
    const locked = path.join(runs, 'run-2');
    const busy = write(path.join(locked, `run.json.tmp-${tag(deadPid)}`));
    write(
      path.join(locked, RUN_LOCK_FILE),
      JSON.stringify({
        host: 'container',
        hostTag: OTHER_HOST,
        pid: deadPid,
        since: new Date().toISOString(),
      }),
    );
    assert.deepEqual(removeLeftovers(runs), []);
    for (const file of [victimTemp, victimBinary, busy]) assert.ok(fs.existsSync(file), file);
    fs.rmSync(runs, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('judges binaries only where a folder holds several: a lone one is the current one, kept unread', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const dead = tag(spawnSync(process.execPath, ['-e', '']).pid!);
    const model = path.join(runs, 'run-1', 'model');
    // model.json names a file that is not there (a folder broken by hand): the lone binary stays.
    write(path.join(model, 'model.json'), `{"weightsManifest":[{"paths":["./weights-x-${dead}.bin"]}]}`);
    const lone = write(path.join(model, `weights-a-${dead}.bin`));
    assert.deepEqual(removeLeftovers(runs), []);
    assert.ok(fs.existsSync(lone));
    // With a second binary there is a choice, and model.json makes it: the named one stays.
    const named = write(path.join(model, `weights-x-${dead}.bin`));
    assert.deepEqual(removeLeftovers(runs), [lone]);
    assert.ok(fs.existsSync(named));
    fs.rmSync(runs, { recursive: true, force: true });
  });

  it('keeps every binary of a folder whose JSON file is missing, and copes with a missing runs folder', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const dead = tag(spawnSync(process.execPath, ['-e', '']).pid!);
    const orphan = write(path.join(runs, 'run-1', 'model', `weights-a-${dead}.bin`));
    assert.deepEqual(removeLeftovers(runs), []);
    assert.ok(fs.existsSync(orphan));
    assert.deepEqual(removeLeftovers(path.join(runs, 'nowhere')), []);
    fs.rmSync(runs, { recursive: true, force: true });
  });
});
