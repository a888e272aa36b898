/**
 * The Runs view tells VS Code that its tree changed only when something it shows changed. Its many
 * re-reads (file events, the running-run timer, the folder-listing safety net) of an unchanged disk must
 * not re-render the rows: a re-render lands on whatever the user is doing with them (a context menu being
 * opened on two selected runs was lost that way in the e2e walk-through).
 */
import '../helpers/fakeVscode';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RunsViewProvider } from '../../src/host/views/runsView';
import { tempDir } from '../helpers/fixtureModels';
import * as vscode from '../helpers/fakeVscodeApi';
import { writeFixtureRun } from '../webview/compareFixtures';

describe('Runs view refreshes', () => {
  const workspace = tempDir('runs-view-refresh');
  const runsDir = path.join(workspace, '.finetune', 'runs');
  let view: RunsViewProvider;
  let fired = 0;

  before(() => {
    vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(workspace), name: 'ws', index: 0 }];
    writeFixtureRun(runsDir, { id: '20250101-090000-a', name: 'run-a', epochs: 4 }, 0);
    view = new RunsViewProvider();
    view.onDidChangeTreeData(() => void fired++);
  });
  after(() => {
    view.dispose();
    vscode.workspace.workspaceFolders = undefined;
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  it('an unchanged disk read again re-renders nothing; a new run, a rename and a delete do', async () => {
    await view.refresh();
    assert.equal(fired, 1, 'the first reading is shown');
    await view.refresh();
    await view.refreshRuns([path.join(runsDir, '20250101-090000-a')]);
    assert.equal(fired, 1, 'reading the same folders again changes nothing on screen');

    const b = writeFixtureRun(runsDir, { id: '20250101-090100-b', name: 'run-b', epochs: 3 }, 1);
    await view.refresh();
    assert.equal(fired, 2, 'a new run is shown');
    assert.deepEqual(
      view.getChildren().map((item) => item.label),
      ['run-b', 'run-a'],
    );

    const runJson = path.join(b, 'run.json');
    const record = JSON.parse(fs.readFileSync(runJson, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(runJson, JSON.stringify({ ...record, name: 'run-b renamed' }));
    await view.refreshRuns([b]);
    assert.equal(fired, 3, 'a changed label is shown');
    assert.equal(view.getChildren()[0].label, 'run-b renamed');

    fs.rmSync(b, { recursive: true });
    await view.refreshRuns([b]);
    assert.equal(fired, 4, 'a deleted run goes');
    assert.deepEqual(
      view.getChildren().map((item) => item.label),
      ['run-a'],
    );
  });
});
