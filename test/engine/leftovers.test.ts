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

function write(file: string, text = 'x'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('leftovers of interrupted writes', () => {
  it('removes dead writers’ temp files, unreferenced binaries and stale staging folders only', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid is free
    const live = process.pid;
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

  it('keeps every binary of a folder whose JSON file is missing, and copes with a missing runs folder', () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-leftovers-'));
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const orphan = write(path.join(runs, 'run-1', 'model', `weights-a-${dead}.bin`));
    assert.deepEqual(removeLeftovers(runs), []);
    assert.ok(fs.existsSync(orphan));
    assert.deepEqual(removeLeftovers(path.join(runs, 'nowhere')), []);
    fs.rmSync(runs, { recursive: true, force: true });
  });
});
