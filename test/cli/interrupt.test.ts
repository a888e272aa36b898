/**
 * Ctrl-C during `finetune train`: the first stops after the current batch (exit 0, run `stopped`), a
 * second exits at once with 130 (128 + SIGINT) — and the README says so. In-process: SIGINT is emitted on
 * `process` from the first batch's event and `process.exit` is caught, so the test does not depend on timing.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { EXIT_INTERRUPTED } from '../../src/cli/commands/train';
import type { CliIO } from '../../src/cli/io';
import { main } from '../../src/cli/program';
import { initBackend } from '../../src/engine/backend/selectBackend';
import type { RunRecord } from '../../src/protocol/runRecord';
import { makeDataset, writeExperiment } from '../helpers/fixtureDataset';
import { saveNestedCnn } from '../helpers/fixtureModels';

let root: string;
let file: string;

/** Trains with `presses` Ctrl-Cs at the first batch; what main returned, what process.exit got, the run. */
async function trainInterrupted(presses: number, runsDir: string) {
  const exits: number[] = [];
  const realExit = process.exit;
  let interrupted = false;
  let stderr = '';
  const io: CliIO = {
    out: (text) => {
      if (!interrupted && /"type":"afterBatch"/.test(text)) {
        interrupted = true;
        for (let i = 0; i < presses; i++) process.emit('SIGINT', 'SIGINT');
      }
    },
    err: (text) => void (stderr += text),
    cwd: root,
    env: {},
  };
  process.exit = ((code?: number) => void exits.push(code ?? 0)) as typeof process.exit;
  let code: number;
  try {
    code = await main(['node', 'finetune', 'train', file, '--json', '--runs-dir', runsDir], io);
  } finally {
    process.exit = realExit;
  }
  assert.ok(interrupted, 'the run reached a batch');
  const [id] = fs.readdirSync(runsDir).filter((d) => fs.existsSync(path.join(runsDir, d, 'run.json')));
  const record = JSON.parse(fs.readFileSync(path.join(runsDir, id, 'run.json'), 'utf8')) as RunRecord;
  return { code, exits, stderr, record };
}

describe('Ctrl-C during finetune train', () => {
  before(async () => {
    await initBackend('cpu');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-interrupt-'));
    await saveNestedCnn(path.join(root, 'base'));
    await makeDataset(path.join(root, 'data'), 2, 8, 16);
    file = writeExperiment(root, 'interrupt', {
      baseModel: 'base/model.json',
      dataset: { path: 'data', imageSize: [16, 16], validationSplit: 0.25 },
      head: { cutAt: 'flatten' },
      training: { epochs: 20, batchSize: 4, backend: 'cpu' },
    });
  });

  it('once: stops after the current batch, exit 0, run stopped', async () => {
    const { code, exits, stderr, record } = await trainInterrupted(1, path.join(root, 'runs-once'));
    assert.match(stderr, /stopping after the current batch/);
    assert.deepEqual(exits, [], 'no forced exit');
    assert.equal(code, 0);
    assert.equal(record.status, 'stopped');
  });

  it('twice: exits at once with 130, as the README says', async () => {
    const { exits, stderr } = await trainInterrupted(2, path.join(root, 'runs-twice'));
    assert.match(stderr, /Ctrl-C again to quit now/);
    assert.deepEqual(exits, [EXIT_INTERRUPTED]);
    assert.equal(EXIT_INTERRUPTED, 130);
    // The README's list of exit codes names it (whitespace normalised: the paragraph is wrapped).
    const readme = fs
      .readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8')
      .replace(/\s+/g, ' ');
    const exitCodes = /Exit codes: 0 completed[^]*?\. /.exec(readme)?.[0] ?? '';
    assert.match(exitCodes, /130 after a second Ctrl-C \(128 \+ SIGINT/, exitCodes);
  });
});
