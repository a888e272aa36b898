/**
 * More of the extension host on a hostile cloned repository (issue 16, points 1 and 7), with the stand-in
 * `vscode`: an experiment whose base model's model.json is a link to /dev/zero or a FIFO gets a layers
 * error at once (model.json was read whole, without a bound, before), and the confusion matrix's
 * drill-down opens only images of the run's validation set inside its dataset folder inside the workspace —
 * not what a summary.json names with `..`, an absolute path or a link out of the folder.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExperimentService } from '../../src/host/experiments/experimentService';
import { ModelDescriber } from '../../src/host/modelDescriber';
import { TrainingPanel } from '../../src/host/panels/trainingPanel';
import * as vscode from '../helpers/fakeVscodeApi';
import { tempDir } from '../helpers/fixtureModels';

const unix = process.platform !== 'win32';
const REPO = path.resolve(__dirname, '../../..');

describe('model.json and images a run names, in a hostile repository', { skip: !unix }, () => {
  let ws: string;
  let outside: string;
  before(() => {
    ws = tempDir('hostile-files-ws');
    outside = tempDir('hostile-files-outside');
    vscode.workspace.workspaceFolders = [{ uri: vscode.Uri.file(ws), name: 'ws', index: 0 }];
  });
  after(() => {
    vscode.workspace.workspaceFolders = undefined;
  });

  for (const kind of ['a link to /dev/zero', 'a FIFO'] as const) {
    it(`a base model whose model.json is ${kind}: a layers error at once, the experiment still loads`, async () => {
      const model = path.join(ws, kind === 'a FIFO' ? 'fifo-model' : 'zero-model');
      fs.mkdirSync(model);
      if (kind === 'a FIFO') execFileSync('mkfifo', [path.join(model, 'model.json')]);
      else fs.symlinkSync('/dev/zero', path.join(model, 'model.json'));
      const file = path.join(ws, `${path.basename(model)}.finetune.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          name: 'zero',
          baseModel: `${path.basename(model)}/model.json`,
          dataset: { path: 'data', imageSize: [8, 8] },
        }),
      );
      for (const trusted of [false, true]) {
        vscode.workspace.isTrusted = trusted;
        // Trusted: a trainer script that does not exist — the bounded read must refuse before any child.
        const experiments = new ExperimentService(
          new ModelDescriber('no-such-trainer.js', undefined, () => false),
        );
        try {
          const snapshot = await experiments.snapshot(vscode.Uri.file(file) as never);
          assert.ok(snapshot.config, snapshot.errors.join('\n'));
          assert.equal(snapshot.layers, undefined);
          assert.match(snapshot.layersError ?? '', /not a regular file|symbolic link/, `trusted: ${trusted}`);
        } finally {
          experiments.dispose();
          vscode.workspace.isTrusted = true;
        }
      }
    });
  }

  it("the confusion matrix opens only the run's images inside its dataset folder inside the workspace", async () => {
    const data = path.join(ws, 'data');
    fs.mkdirSync(path.join(data, 'a'), { recursive: true });
    fs.writeFileSync(path.join(data, 'a', 'good.png'), 'png');
    const secret = path.join(outside, 'secret.png');
    fs.writeFileSync(secret, 'secret');
    fs.writeFileSync(path.join(ws, 'beside.png'), 'beside');
    fs.symlinkSync(secret, path.join(data, 'a', 'link.png'));
    const runDir = path.join(ws, '.finetune', 'runs', '20250101-000000-images');
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(
      path.join(runDir, 'run.json'),
      JSON.stringify({
        id: path.basename(runDir),
        name: 'images',
        status: 'completed',
        startedAt: '2025-01-01T00:00:00.000Z',
        pid: 1,
        hostname: 'elsewhere',
        classNames: ['a', 'b'],
        config: { dataset: { path: data } },
      }),
    );
    const named = ['a/good.png', '../beside.png', secret, 'a/link.png', 'a/missing.png'];
    fs.writeFileSync(
      path.join(runDir, 'summary.json'),
      JSON.stringify({
        epoch: 1,
        classNames: ['a', 'b'],
        confusion: [
          [1, 0],
          [0, 0],
        ],
        perClass: [],
        accuracy: 1,
        val_loss: 0,
        misclassified: [],
        predictions: named.map((file) => ({ file, trueIndex: 0, predictedIndex: 0, confidence: 1 })),
      }),
    );
    const panel = TrainingPanel.show(runDir, {
      extensionUri: vscode.Uri.file(REPO) as never,
      log: vscode.createLogChannel() as never,
      isLive: () => false,
      stop: () => {},
    });
    const fake = vscode.panels.at(-1)!;
    try {
      const opened = async (file: string): Promise<string[]> => {
        vscode.recorded.commands.length = 0;
        await fake.deliver({ type: 'openImage', file });
        return vscode.recorded.commands
          .filter((c) => c.id === 'vscode.open')
          .map((c) => (c.args[0] as { fsPath: string }).fsPath);
      };
      assert.deepEqual(await opened('a/good.png'), [fs.realpathSync(path.join(data, 'a', 'good.png'))]);
      for (const file of [...named.slice(1), 'a/not-in-summary.png']) {
        assert.deepEqual(await opened(file), [], `${file} is not opened`);
      }
    } finally {
      panel.dispose();
    }
  });
});
