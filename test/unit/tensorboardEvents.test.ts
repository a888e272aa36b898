/**
 * TensorBoard event files written by hand: CRC-32C against the RFC 3720 test vectors, the Event protobuf
 * against bytes worked out from the protobuf encoding spec, TFRecord framing read back with CRC checks
 * (and corruption detected), and a run's metrics exported and decoded again.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { crc32c, maskCrc, maskedCrc32c } from '../../src/core/export/crc32c';
import { decodeEvent, encodeEvent } from '../../src/core/export/eventProto';
import { decodeTfRecords, encodeTfRecord } from '../../src/core/export/tfRecord';
import {
  encodeEventFile,
  eventFileName,
  EVENT_FILE_VERSION,
  exportTensorBoard,
  readEventFile,
  runScalarEvents,
} from '../../src/core/export/tensorboardExport';
import type { EpochMetrics } from '../../src/protocol/runRecord';

const f32 = (x: number): number => Math.fround(x);

describe('CRC-32C', () => {
  it('matches the RFC 3720 (iSCSI) test vectors and the "123456789" check value', () => {
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  it('masks as TensorFlow does: rotate right 15, add 0xa282ead8 (mod 2^32)', () => {
    assert.equal(maskCrc(0), 0xa282ead8);
    // 0xe3069283 rotated right by 15 = 0x2507c60d; + 0xa282ead8 = 0xc78ab0e5.
    assert.equal(maskCrc(0xe3069283), 0xc78ab0e5);
    assert.equal(maskedCrc32c(Buffer.from('123456789')), 0xc78ab0e5);
  });
});

describe('Event protobuf', () => {
  it('encodes wall_time, step and a simple_value scalar as the protobuf spec says', () => {
    const bytes = encodeEvent({ wallTime: 1.5, step: 300, scalars: [{ tag: 'loss', value: 0.25 }] });
    // 09 <double 1.5>  10 <varint 300>  2a 0d { 0a 0b { 0a 04 "loss"  15 <float 0.25> } }
    const expected = Buffer.from(
      '09' + '000000000000f83f' + '10' + 'ac02' + '2a0d' + '0a0b' + '0a046c6f7373' + '15' + '0000803e',
      'hex',
    );
    assert.deepEqual(bytes, expected);
  });

  it('encodes the file_version record every event file starts with', () => {
    const bytes = encodeEvent({ wallTime: 1.5, step: 0, fileVersion: EVENT_FILE_VERSION });
    assert.equal(
      bytes.toString('hex'),
      '09000000000000f83f' + '1a0d' + Buffer.from('brain.Event:2').toString('hex'),
    );
  });

  it('decodes what it encodes, skipping fields it does not know', () => {
    const event = {
      wallTime: 1700000000.25,
      step: 12,
      scalars: [
        { tag: 'a/b', value: -3.75 },
        { tag: 'c', value: 1e-7 },
      ],
    };
    const unknown = Buffer.from('2204deadbeef', 'hex'); // field 4 (graph_def), 4 bytes
    const decoded = decodeEvent(Buffer.concat([encodeEvent(event), unknown]));
    assert.equal(decoded.wallTime, event.wallTime);
    assert.equal(decoded.step, 12);
    assert.deepEqual(decoded.scalars, [
      { tag: 'a/b', value: -3.75 },
      { tag: 'c', value: f32(1e-7) },
    ]);
    assert.throws(() => decodeEvent(Buffer.from('0a05ab', 'hex')), /past the end/);
  });
});

describe('TFRecord', () => {
  it('frames a record: length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = Buffer.from('123456789');
    const record = encodeTfRecord(data);
    assert.equal(record.length, 8 + 4 + 9 + 4);
    assert.equal(record.readBigUInt64LE(0), 9n);
    assert.equal(record.readUInt32LE(8), maskedCrc32c(Buffer.from('0900000000000000', 'hex')));
    assert.deepEqual(record.subarray(12, 21), data);
    assert.equal(record.readUInt32LE(21), 0xc78ab0e5);
  });

  it('reads records back and refuses corrupt or truncated files', () => {
    const file = Buffer.concat([
      encodeTfRecord(Buffer.from('first')),
      encodeTfRecord(Buffer.from('second!')),
    ]);
    assert.deepEqual(
      decodeTfRecords(file).map((r) => Buffer.from(r).toString()),
      ['first', 'second!'],
    );
    const flippedData = Buffer.from(file);
    flippedData[14] ^= 1;
    assert.throws(() => decodeTfRecords(flippedData), /data CRC mismatch in the record at byte 0/);
    const flippedLength = Buffer.from(file);
    flippedLength[0] ^= 2;
    assert.throws(() => decodeTfRecords(flippedLength), /length CRC mismatch at byte 0/);
    assert.throws(() => decodeTfRecords(file.subarray(0, file.length - 3)), /truncated at byte 21/);
  });
});

function metricsLine(epoch: number, extra: Partial<EpochMetrics> = {}): EpochMetrics {
  return {
    epoch,
    loss: 1 / epoch,
    accuracy: 0.5 + epoch / 10,
    val_loss: 1.2 / epoch,
    val_accuracy: 0.45 + epoch / 10,
    lr: 0.001,
    time_s: 2.5,
    gap: 0.2 / epoch,
    overfitting: false,
    ...extra,
  };
}

function fakeRun(metrics: EpochMetrics[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fts-tb-'));
  const runDir = path.join(dir, '20260101-000000-demo');
  fs.mkdirSync(runDir);
  fs.writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify({
      id: path.basename(runDir),
      name: 'demo',
      status: 'completed',
      startedAt: '2026-01-01T00:00:00.000Z',
    }),
  );
  fs.writeFileSync(
    path.join(runDir, 'metrics.jsonl'),
    metrics.map((m) => JSON.stringify(m)).join('\n') + '\n',
  );
  return runDir;
}

describe('TensorBoard export', () => {
  it('names files events.out.tfevents.<seconds>.<host>', () => {
    assert.equal(eventFileName(1700000000.9, 'gpu-box'), 'events.out.tfevents.1700000000.gpu-box');
    assert.equal(eventFileName(5, 'a/b'), 'events.out.tfevents.5.a_b');
  });

  it("per epoch: Keras' tags in train/ and validation/, wall time = start + elapsed epochs", () => {
    const { train, validation } = runScalarEvents(
      [
        metricsLine(1, { lr_base: 0.0001, reg_loss: 0.01 }),
        metricsLine(2, { loss: null as unknown as number }),
      ],
      1000,
    );
    assert.deepEqual(
      train.map((e) => [e.step, e.wallTime, e.scalars!.map((s) => s.tag)]),
      [
        [
          1,
          1002.5,
          [
            'epoch_loss',
            'epoch_accuracy',
            'epoch_learning_rate',
            'epoch_learning_rate_pretrained',
            'epoch_reg_loss',
            'epoch_time_s',
          ],
        ],
        // a NaN loss (null in JSON) is left out, not written as 0
        [2, 1005, ['epoch_accuracy', 'epoch_learning_rate', 'epoch_time_s']],
      ],
    );
    assert.deepEqual(
      validation[0].scalars!.map((s) => s.tag),
      ['epoch_loss', 'epoch_accuracy', 'epoch_generalization_gap'],
    );
  });

  it("writes a run's metrics into <run>/tensorboard/{train,validation}/ and they read back, CRCs checked", () => {
    const metrics = [metricsLine(1), metricsLine(2), metricsLine(3)];
    const runDir = fakeRun(metrics);
    const result = exportTensorBoard(runDir, undefined, new Date('2026-01-02T00:00:00Z'));
    assert.equal(result.dir, path.join(runDir, 'tensorboard'));
    assert.equal(result.epochs, 3);
    const [trainFile, validationFile] = result.files;
    assert.equal(path.dirname(trainFile), path.join(runDir, 'tensorboard', 'train'));
    assert.match(
      path.basename(trainFile),
      new RegExp(`^events\\.out\\.tfevents\\.1767312000\\.${os.hostname().replace(/[.]/g, '\\.')}$`),
    );

    const train = readEventFile(trainFile);
    assert.equal(train[0].fileVersion, 'brain.Event:2');
    assert.equal(train[0].wallTime, 1767312000);
    assert.deepEqual(
      train.slice(1).map((e) => [e.step, e.wallTime - Date.parse('2026-01-01T00:00:00Z') / 1000]),
      [
        [1, 2.5],
        [2, 5],
        [3, 7.5],
      ],
    );
    const loss = (events: typeof train) =>
      events.slice(1).map((e) => e.scalars!.find((s) => s.tag === 'epoch_loss')!.value);
    assert.deepEqual(
      loss(train),
      metrics.map((m) => f32(m.loss)),
    );
    assert.deepEqual(
      loss(readEventFile(validationFile)),
      metrics.map((m) => f32(m.val_loss)),
    );
  });

  it('exporting again replaces the event files instead of adding duplicates', () => {
    const runDir = fakeRun([metricsLine(1)]);
    exportTensorBoard(runDir, undefined, new Date('2026-01-02T00:00:00Z'));
    fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), JSON.stringify(metricsLine(2)) + '\n');
    const second = exportTensorBoard(runDir, undefined, new Date('2026-01-03T00:00:00Z'));
    const files = fs.readdirSync(path.join(runDir, 'tensorboard', 'train'));
    assert.deepEqual(files, [path.basename(second.files[0])]);
    assert.equal(readEventFile(second.files[0]).length, 3);
  });

  it('a run without finished epochs is a clear error, and nothing is written', () => {
    const runDir = fakeRun([]);
    assert.throws(() => exportTensorBoard(runDir), /no finished epochs yet/);
    assert.equal(fs.existsSync(path.join(runDir, 'tensorboard')), false);
  });

  it('the whole file is exactly the framed records', () => {
    const bytes = encodeEventFile([{ wallTime: 2, step: 1, scalars: [{ tag: 'x', value: 1 }] }], 1);
    const records = decodeTfRecords(bytes);
    assert.equal(records.length, 2);
    assert.equal(
      bytes.length,
      records.reduce((n, r) => n + r.length + 16, 0),
    );
  });
});
