/** The one CSV escaper (src/core/portable/csv.ts) behind the metrics export and the compare panel's CSVs. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { csvField, csvText } from '../../src/core/portable/csv';
import { CSV_COLUMNS, metricsToCsv } from '../../src/core/export/metricsCsv';
import type { EpochMetrics } from '../../src/protocol/runRecord';

describe('CSV', () => {
  it('quotes commas, quotes and line breaks; empties missing and non-finite values', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField(0.1 + 0.2), '0.30000000000000004');
    assert.equal(csvField(-0.5), '-0.5', 'a negative number is a number, not a formula');
    assert.equal(csvField(true), 'true');
    for (const empty of [undefined, null, NaN, Infinity]) assert.equal(csvField(empty), '');
    assert.equal(
      csvText([
        ['a', 1],
        ['b', 2],
      ]),
      'a,1\r\nb,2\r\n',
    );
  });

  it('neutralises text that a spreadsheet would run as a formula', () => {
    for (const formula of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) {
      assert.ok(csvField(formula).replace(/^"/, '').startsWith(`'`), JSON.stringify(formula));
    }
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('plain'), 'plain');
  });

  it('writes metrics.jsonl lines with the same escaper: fixed columns, empty cells, booleans', () => {
    const metrics = [
      { epoch: 1, loss: 0.5, accuracy: 0.75, val_loss: null, overfitting: false, time_s: 1.25 },
    ] as unknown as EpochMetrics[];
    const [header, row, end] = metricsToCsv(metrics).split('\r\n');
    assert.equal(header, CSV_COLUMNS.join(','));
    assert.equal(row, '1,0.5,0.75,,,,false,,,,1.25');
    assert.equal(end, '');
  });
});
