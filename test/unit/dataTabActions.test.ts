/**
 * The Data tab's host side (DataTabController) on a real dataset folder, with the trainer processes
 * replaced by stand-ins that answer with a given report: moving an image renames it (a WorkspaceEdit),
 * Undo moves it back, a name clash never overwrites, delete goes to the trash only, reviewed images are
 * remembered in .finetune/reviewed.json and left out of the next report, and a message naming a file
 * outside the dataset (or not in the report) changes nothing. Also the fingerprint check afterwards.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { vscode } from '../helpers/fakeVscode';
import { datasetFingerprint } from '../../src/core/data/fingerprint';
import { scanDataset } from '../../src/core/data/scanDataset';
import type { DataInsightReport } from '../../src/protocol/dataInsight';
import type { RunRecord } from '../../src/protocol/runRecord';
import type { DataTabToPanel } from '../../src/protocol/webviewMessages';
import { DataTabController, withoutReviewed } from '../../src/host/insight/dataTabController';
import type { DataInsightRun } from '../../src/host/insight/dataInsightProcess';
import { REVIEWED_FILE, ReviewedStore } from '../../src/host/insight/reviewedStore';

const roots: string[] = [];
after(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

interface Fixture {
  workspace: string;
  dataset: string;
  record: RunRecord;
  posted: DataTabToPanel[];
  controller: DataTabController;
  /** Files the stand-in analysis reported. */
  report: DataInsightReport;
}

function write(file: string, bytes = 'x'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
}

function report(
  dataset: string,
  files: { file: string; label: string; suggested: string }[],
): DataInsightReport {
  return {
    experimentName: 'e',
    datasetPath: dataset,
    layout: 'flat',
    datasetFingerprint: '',
    classNames: ['cat', 'dog'],
    images: { train: 4, val: 1, skipped: 0 },
    folds: 5,
    rankBy: 'self_confidence',
    mode: 'cached activations',
    outOfSampleAccuracy: 0.8,
    thresholds: [0.9, 0.9],
    estimatedIssues: files.length,
    issues: files.map((f) => ({
      ...f,
      score: 0.9,
      selfConfidence: 0.1,
      suggestedProbability: 0.9,
      split: 'train' as const,
      confident: true,
    })),
    duplicates: [],
    duplicateThreshold: 0.985,
    backend: 'cpu',
    seconds: 1,
    notes: [],
  };
}

async function fixture(): Promise<Fixture> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-datatab-'));
  roots.push(workspace);
  const dataset = path.join(workspace, 'data');
  for (const f of ['cat/a.png', 'cat/b.png', 'cat/dog_1.png', 'dog/c.png', 'dog/dog_1.png'])
    write(path.join(dataset, f), f);
  write(path.join(workspace, 'secret.txt'), 'not yours');
  const runDir = path.join(workspace, '.finetune', 'runs', 'r1');
  fs.mkdirSync(runDir, { recursive: true });
  const fingerprint = datasetFingerprint(await scanDataset(dataset));
  const record = {
    id: 'r1',
    name: 'r1',
    status: 'completed',
    experimentPath: path.join(workspace, 'e.finetune.json'),
    config: { dataset: { path: dataset } },
    datasetFingerprint: fingerprint,
    classNames: ['cat', 'dog'],
  } as unknown as RunRecord;
  vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(workspace), name: 'w', index: 0 }];
  const given = report(dataset, [
    { file: 'cat/dog_1.png', label: 'cat', suggested: 'dog' },
    { file: 'cat/a.png', label: 'cat', suggested: 'dog' },
  ]);
  const posted: DataTabToPanel[] = [];
  const controller = new DataTabController(
    runDir,
    async () => record,
    async () => undefined,
    (m) => posted.push(m),
    {
      extensionUri: vscode.Uri.file('/ext') as never,
      log: vscode.createLogChannel() as never,
      trainerEnv: () => process.env,
      runDataInsight: (): DataInsightRun => ({
        result: Promise.resolve(structuredClone(given)),
        cancel: () => {},
      }),
    },
  );
  await controller.analyze();
  return { workspace, dataset, record, posted, controller, report: given };
}

const last = <T extends DataTabToPanel['type']>(posted: DataTabToPanel[], type: T) =>
  [...posted].reverse().find((m) => m.type === type) as Extract<DataTabToPanel, { type: T }> | undefined;

describe('Data tab actions on the dataset folder', () => {
  beforeEach(() => {
    vscode.recorded.errors.length = 0;
    vscode.recorded.deletes.length = 0;
    vscode.trash.dir = undefined;
  });

  it('posts the report and that the dataset still matches the run', async () => {
    const { posted } = await fixture();
    assert.equal(last(posted, 'dataReport')?.report.issues.length, 2);
    assert.equal(last(posted, 'dataMatch')?.matches, true);
  });

  it('moves an image into the suggested class folder, never over a file of the same name, and Undo moves it back', async () => {
    const { dataset, posted, controller } = await fixture();
    const before = fs.readFileSync(path.join(dataset, 'dog/dog_1.png'), 'utf8');
    await controller.handle({ type: 'dataAction', action: 'move', file: 'cat/dog_1.png', toClass: 'dog' });
    // dog/dog_1.png existed: the moved file got the next free name, the other one is untouched.
    assert.ok(!fs.existsSync(path.join(dataset, 'cat/dog_1.png')));
    assert.equal(fs.readFileSync(path.join(dataset, 'dog/dog_1-2.png'), 'utf8'), 'cat/dog_1.png');
    assert.equal(fs.readFileSync(path.join(dataset, 'dog/dog_1.png'), 'utf8'), before);
    const change = last(posted, 'dataChange')!;
    assert.deepEqual(change.hide, ['cat/dog_1.png']);
    assert.match(change.message, /Moved cat\/dog_1\.png to dog\/dog_1-2\.png/);
    assert.equal(change.undo, 'move of cat/dog_1.png');
    assert.equal(last(posted, 'dataMatch')?.matches, false, 'the run no longer matches the data');
    assert.match(last(posted, 'dataMatch')!.message, /no longer match the data/);

    await controller.handle({ type: 'undoDataAction' });
    assert.equal(fs.readFileSync(path.join(dataset, 'cat/dog_1.png'), 'utf8'), 'cat/dog_1.png');
    assert.ok(!fs.existsSync(path.join(dataset, 'dog/dog_1-2.png')));
    assert.deepEqual(last(posted, 'dataChange')!.show, ['cat/dog_1.png']);
    assert.equal(last(posted, 'dataChange')!.undo, undefined);
  });

  it('refuses a move when the target appears between the check and the rename (the edit is refused, nothing is overwritten)', async () => {
    const { dataset } = await fixture();
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(
      vscode.Uri.file(path.join(dataset, 'cat/a.png')),
      vscode.Uri.file(path.join(dataset, 'dog/c.png')),
      {
        overwrite: false,
      },
    );
    assert.equal(await vscode.workspace.applyEdit(edit), false);
    assert.equal(fs.readFileSync(path.join(dataset, 'dog/c.png'), 'utf8'), 'dog/c.png');
  });

  it('acts only on images of the report inside the dataset folder', async () => {
    const { workspace, dataset, controller } = await fixture();
    for (const file of ['../secret.txt', 'dog/c.png', '/etc/passwd', 'cat/../../secret.txt']) {
      await controller.handle({ type: 'dataAction', action: 'move', file, toClass: 'cat' });
      await controller.handle({ type: 'dataAction', action: 'delete', file });
    }
    // A class name that is not a class of the report (or a path) is refused too.
    await controller.handle({ type: 'dataAction', action: 'move', file: 'cat/a.png', toClass: '../..' });
    await controller.handle({ type: 'dataAction', action: 'move', file: 'cat/a.png', toClass: 'bird' });
    assert.equal(fs.readFileSync(path.join(workspace, 'secret.txt'), 'utf8'), 'not yours');
    assert.ok(fs.existsSync(path.join(dataset, 'dog/c.png')));
    assert.ok(fs.existsSync(path.join(dataset, 'cat/a.png')));
    assert.deepEqual(vscode.recorded.deletes, []);
  });

  it('a symbolic link out of the dataset folder is not followed', async () => {
    const { workspace, dataset, controller, report: given } = await fixture();
    fs.symlinkSync(path.join(workspace, 'secret.txt'), path.join(dataset, 'cat/link.png'));
    given.issues.push({ ...given.issues[0], file: 'cat/link.png' });
    await controller.analyze();
    await controller.handle({ type: 'dataAction', action: 'delete', file: 'cat/link.png' });
    assert.deepEqual(vscode.recorded.deletes, []);
    assert.match(vscode.recorded.errors.join('\n'), /not inside the dataset folder/);
  });

  it('deletes to the trash, and never deletes for good when the trash is unavailable', async () => {
    const { dataset, posted, controller } = await fixture();
    await controller.handle({ type: 'dataAction', action: 'delete', file: 'cat/a.png' });
    assert.ok(fs.existsSync(path.join(dataset, 'cat/a.png')), 'no trash: the file stays');
    assert.match(vscode.recorded.errors.join('\n'), /could not be moved to the trash/);
    vscode.trash.dir = path.join(os.tmpdir(), `ft-trash-${process.pid}`);
    roots.push(vscode.trash.dir);
    await controller.handle({ type: 'dataAction', action: 'delete', file: 'cat/a.png' });
    assert.ok(!fs.existsSync(path.join(dataset, 'cat/a.png')));
    assert.deepEqual(
      vscode.recorded.deletes.map((d) => d.useTrash),
      [true, true],
    );
    assert.deepEqual(last(posted, 'dataChange')!.hide, ['cat/a.png']);
  });

  it('remembers reviewed images in .finetune/reviewed.json and leaves them out of the next report', async () => {
    const { workspace, dataset, posted, controller } = await fixture();
    await controller.handle({ type: 'dataAction', action: 'review', file: 'cat/a.png' });
    const json = JSON.parse(fs.readFileSync(path.join(workspace, REVIEWED_FILE), 'utf8'));
    assert.ok(json.datasets.data['cat/a.png']);
    assert.deepEqual(await new ReviewedStore(workspace).reviewed(dataset), new Set(['cat/a.png']));
    await controller.analyze();
    const next = last(posted, 'dataReport')!;
    assert.deepEqual(
      next.report.issues.map((i) => i.file),
      ['cat/dog_1.png'],
    );
    assert.equal(next.reviewed, 1);
  });

  it('a damaged reviewed.json is ignored, not trusted', async () => {
    const { workspace, dataset } = await fixture();
    write(
      path.join(workspace, REVIEWED_FILE),
      '{"datasets": {"data": {"cat/a.png": 42, "cat/b.png": "2025"}}, "x": [',
    );
    assert.deepEqual(await new ReviewedStore(workspace).reviewed(dataset), new Set());
    write(
      path.join(workspace, REVIEWED_FILE),
      '{"datasets": {"data": {"cat/a.png": 42, "cat/b.png": "2025"}}}',
    );
    assert.deepEqual(await new ReviewedStore(workspace).reviewed(dataset), new Set(['cat/b.png']));
  });

  it('withoutReviewed leaves the report as it is when nothing is reviewed', () => {
    const r = report('/d', [{ file: 'cat/a.png', label: 'cat', suggested: 'dog' }]);
    assert.equal(withoutReviewed(r, new Set()), r);
    assert.equal(withoutReviewed(r, new Set(['cat/a.png'])).issues.length, 0);
  });
});
