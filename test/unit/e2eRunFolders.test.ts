/**
 * The e2e harness finds a new run by listing .finetune/runs. A trainer stages the run under a hidden
 * `.<id>.creating-*` folder that already holds run.json before renaming it into place; on CI the harness
 * once took that folder for the run and waited 240 s for a folder that no longer existed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRuns, readRunJson } from '../e2e/runFolders';

test('e2e run listing: a staging folder holding run.json is not a run; the renamed folder is', () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-runs-'));
  try {
    const runs = path.join(workspace, '.finetune', 'runs');
    const id = '20261204-152914-e2e-labels';
    const staging = path.join(runs, `.${id}.creating-iFl6cd`);
    fs.mkdirSync(staging, { recursive: true });
    fs.writeFileSync(
      path.join(staging, 'run.json'),
      JSON.stringify({ id, name: 'e2e-labels', status: 'running' }),
    );
    assert.ok(readRunJson(staging), 'the staging folder does hold a readable run.json');
    assert.deepEqual(listRuns(workspace), []);

    fs.renameSync(staging, path.join(runs, id));
    assert.deepEqual(listRuns(workspace), [path.join(runs, id)]);
    assert.equal(readRunJson(path.join(runs, id))?.name, 'e2e-labels');
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
