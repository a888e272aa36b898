/**
 * The Data tab (Find Label Issues) on a hostile cloned repository (issue 16): the image preview, the
 * duplicate hashes and `.finetune/reviewed.json` read workspace files as regular files only, non-blocking
 * and bounded (a FIFO or a link to /dev/zero named like an image never hangs them); a dataset folder that
 * is a link out of the workspace is neither changed (move, delete) nor scanned for the dataset check.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { vscode } from '../helpers/fakeVscode';
import type { DataInsightReport } from '../../src/protocol/dataInsight';
import type { RunRecord } from '../../src/protocol/runRecord';
import type { DataTabToPanel } from '../../src/protocol/webviewMessages';
import { contentHash } from '../../src/engine/insight/contentHash';
import { DataTabController } from '../../src/host/insight/dataTabController';
import { imageDataUrl } from '../../src/host/insight/datasetFiles';
import { REVIEWED_FILE, ReviewedStore } from '../../src/host/insight/reviewedStore';

const unix = process.platform !== 'win32';
const roots: string[] = [];
after(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));

function tempRoot(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ft-hostile-${name}-`));
  roots.push(dir);
  return dir;
}

/** Fails instead of hanging: the old reads of a FIFO never returned. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}

describe('the Data tab on a hostile repository', { skip: !unix }, () => {
  it('previews and hashes only regular files: a FIFO or a link to /dev/zero named like an image', async () => {
    const dir = tempRoot('files');
    const fifo = path.join(dir, 'fifo.png');
    execFileSync('mkfifo', [fifo]);
    const zero = path.join(dir, 'zero.png');
    fs.symlinkSync('/dev/zero', zero);
    for (const file of [fifo, zero]) {
      assert.deepEqual(await within(5000, `preview of ${file}`, imageDataUrl(file)), { error: 'not a file' });
      assert.match(
        await within(5000, `hash of ${file}`, contentHash(file)),
        /^unreadable:.*not a regular file/,
      );
    }
    const big = path.join(dir, 'big.png');
    fs.writeFileSync(big, Buffer.alloc(2048));
    const tooLarge = await imageDataUrl(big, 1024);
    assert.ok('error' in tooLarge);
    assert.match(tooLarge.error, /too large to preview here/);
  });

  it('reviewed.json that is a link or a FIFO is read as empty, and replaced rather than written through', async () => {
    const workspace = tempRoot('reviewed');
    const outside = tempRoot('reviewed-outside');
    const victim = path.join(outside, 'victim.json');
    const victimText = JSON.stringify({ version: 1, datasets: { data: { 'cat/a.png': 'x' } } });
    fs.writeFileSync(victim, victimText);
    const file = path.join(workspace, REVIEWED_FILE);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.symlinkSync(victim, file);
    const store = new ReviewedStore(workspace);
    const dataset = path.join(workspace, 'data');
    assert.deepEqual(await store.reviewed(dataset), new Set(), 'a link is not followed');
    await store.mark(dataset, 'cat/b.png');
    assert.equal(fs.readFileSync(victim, 'utf8'), victimText, 'the file outside is unchanged');
    assert.ok(fs.lstatSync(file).isFile());
    assert.deepEqual(await store.reviewed(dataset), new Set(['cat/b.png']));
    fs.rmSync(file);
    execFileSync('mkfifo', [file]);
    assert.deepEqual(await within(5000, 'reviewed.json as a FIFO', store.reviewed(dataset)), new Set());
  });

  it('a dataset folder that is a link out of the workspace: no move, no delete, no scan', async () => {
    const workspace = tempRoot('linked-dataset');
    const outside = tempRoot('linked-dataset-outside');
    for (const f of ['cat/a.png', 'dog/b.png']) {
      fs.mkdirSync(path.dirname(path.join(outside, f)), { recursive: true });
      fs.writeFileSync(path.join(outside, f), f);
    }
    const dataset = path.join(workspace, 'data');
    fs.symlinkSync(outside, dataset);
    const runDir = path.join(workspace, '.finetune', 'runs', 'r1');
    fs.mkdirSync(runDir, { recursive: true });
    const record = {
      id: 'r1',
      name: 'r1',
      status: 'completed',
      experimentPath: path.join(workspace, 'e.finetune.json'),
      config: { dataset: { path: dataset } },
      datasetFingerprint: 'f',
      classNames: ['cat', 'dog'],
    } as unknown as RunRecord;
    const report = {
      datasetPath: dataset,
      classNames: ['cat', 'dog'],
      layout: 'flat',
      issues: [
        {
          file: 'cat/a.png',
          label: 'cat',
          suggested: 'dog',
          score: 0.9,
          selfConfidence: 0.1,
          suggestedProbability: 0.9,
          split: 'train',
          confident: true,
        },
      ],
      duplicates: [],
      duplicateThreshold: 0.985,
      backend: 'cpu',
      seconds: 1,
      notes: [],
    } as unknown as DataInsightReport;
    vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(workspace), name: 'w', index: 0 }];
    vscode.trash.dir = path.join(tempRoot('trash'), 'bin');
    vscode.recorded.errors.length = 0;
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
        runDataInsight: () => ({ result: Promise.resolve(structuredClone(report)), cancel: () => {} }),
      },
    );
    try {
      await controller.analyze();
      assert.ok(posted.some((m) => m.type === 'dataReport'));
      assert.equal(
        posted.find((m) => m.type === 'dataMatch'),
        undefined,
        'the dataset outside the workspace is not scanned to compare it with the run',
      );
      await controller.handle({ type: 'dataAction', action: 'delete', file: 'cat/a.png' });
      await controller.handle({ type: 'dataAction', action: 'move', file: 'cat/a.png', toClass: 'dog' });
      assert.ok(fs.existsSync(path.join(outside, 'cat/a.png')), 'not deleted');
      assert.ok(!fs.existsSync(path.join(outside, 'dog/a.png')), 'not moved');
      assert.ok(!fs.existsSync(vscode.trash.dir), 'nothing went to the trash');
      assert.match(vscode.recorded.errors[0] ?? '', /is not inside the workspace/);
    } finally {
      controller.dispose();
      vscode.workspace.workspaceFolders = undefined;
      vscode.trash.dir = undefined;
    }
  });
});
