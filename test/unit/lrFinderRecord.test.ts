/** The learning-rate finder's remembered answer: found for the same model and data, not otherwise. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  lrFinderDirBeside,
  readLrFinderSuggestion,
  writeLrFinderRecord,
} from '../../src/core/lrFinderRecord';
import { experimentConfig } from '../helpers/fixtureConfig';

describe('learning-rate finder record', () => {
  it('is read back for the same experiment, model and data, whatever the learning rate or epochs now', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fts-lrrec-')), 'lr-finder');
    const config = experimentConfig({ name: 'a' });
    const file = '/ws/a.finetune.json';
    assert.equal(readLrFinderSuggestion(dir, file, config, 'fp'), undefined, 'nothing before a sweep');
    writeLrFinderRecord(dir, {
      experimentPath: file,
      config,
      datasetFingerprint: 'fp',
      suggestion: 0.003,
      minLossLr: 0.03,
    });
    assert.equal(readLrFinderSuggestion(dir, file, config, 'fp'), 0.003);
    const retuned = { ...config, training: { ...config.training, learningRate: 1e6, epochs: 40 } };
    assert.equal(
      readLrFinderSuggestion(dir, file, retuned, 'fp'),
      0.003,
      'the rate is what the user changes',
    );
    const otherHead = { ...config, head: { ...config.head, dropout: 0.5 } };
    assert.equal(readLrFinderSuggestion(dir, file, otherHead, 'fp'), undefined, 'another model');
    assert.equal(readLrFinderSuggestion(dir, file, config, 'other data'), undefined, 'other data');
    assert.equal(
      readLrFinderSuggestion(dir, '/ws/b.finetune.json', config, 'fp'),
      undefined,
      'another experiment',
    );
    fs.writeFileSync(path.join(dir, fs.readdirSync(dir)[0]), '{ not json');
    assert.equal(readLrFinderSuggestion(dir, file, config, 'fp'), undefined, 'a damaged record is no record');
    assert.equal(lrFinderDirBeside('/ws/.finetune/runs'), path.resolve('/ws/.finetune/lr-finder'));
  });
});
