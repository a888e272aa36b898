/**
 * The base-model downloader against a local HTTP server on 127.0.0.1 (no internet here) serving a real
 * TensorFlow.js fixture model: verified download into the cache, redirects, the cache reused without a
 * request, and every broken download — truncated shard, short shard, wrong hash, wrong model, 404,
 * silent server, cancel, a model that does not load, a manifest escaping its folder — ending in a clear
 * error with nothing left in the cache.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { bundledCatalogue, validateCatalogue, type CatalogueEntry } from '../../src/host/catalogue/catalogue';
import { cachedModel, downloadModel, VERIFIED_FILE } from '../../src/host/catalogue/modelDownloader';
import { fileLoadHandler } from '../../src/engine/model/fileModelIO';
import { saveFlatSequential, tempDir } from '../helpers/fixtureModels';

let server: http.Server;
let base: string;
let modelJson: Buffer;
let weights: Buffer;
let weightsName: string;
let parameters: number;
const requests: string[] = [];
/** Pending responses of the "stall" routes, ended in `after`. */
const stalled: http.ServerResponse[] = [];

function manifestWith(paths: string[]): Buffer {
  const json = JSON.parse(modelJson.toString('utf8'));
  json.weightsManifest[0].paths = paths;
  return Buffer.from(JSON.stringify(json));
}

before(async () => {
  await tf.setBackend('cpu');
  const dir = tempDir('catalogue-fixture');
  const file = await saveFlatSequential(dir, 8, 3);
  modelJson = fs.readFileSync(file);
  const manifest = JSON.parse(modelJson.toString('utf8'));
  weightsName = path.posix.normalize(manifest.weightsManifest[0].paths[0]);
  weights = fs.readFileSync(path.join(dir, weightsName));
  const model = await tfl.loadLayersModel(fileLoadHandler(file));
  parameters = model.countParams();
  model.dispose();

  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    const [, route, name] = /^\/([^/]+)\/(.*)$/.exec(url) ?? [];
    const send = (body: Buffer): void => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    };
    if (route === 'redirect') {
      res.writeHead(302, { location: `/good/${name}` });
      return res.end();
    }
    if (route === 'missing') {
      res.writeHead(404);
      return res.end('not here');
    }
    if (route === 'silent') return void stalled.push(res);
    if (name === 'model.json') {
      if (route === 'traversal') return send(manifestWith(['../../outside.bin']));
      if (route === 'notmodel') return send(Buffer.from('<html>captive portal</html>'));
      return send(modelJson);
    }
    if (name !== weightsName) {
      res.writeHead(404);
      return res.end();
    }
    if (route === 'truncated') {
      // Announces the whole shard, sends half, then drops the connection.
      res.writeHead(200, { 'content-length': weights.length });
      res.write(weights.subarray(0, weights.length >> 1));
      return void setTimeout(() => res.destroy(), 20);
    }
    if (route === 'short') return send(weights.subarray(0, weights.length - 8));
    if (route === 'oversized') return send(Buffer.concat([weights, Buffer.alloc(4096)]));
    if (route === 'corrupt') {
      const bad = Buffer.from(weights);
      bad[0] ^= 0xff;
      return send(bad);
    }
    if (route === 'stall') {
      res.writeHead(200, { 'content-length': weights.length });
      res.write(weights.subarray(0, 16));
      return void stalled.push(res);
    }
    return send(weights);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function entry(route: string, extra: Partial<CatalogueEntry> = {}): CatalogueEntry {
  return validateCatalogue({
    models: [
      {
        id: `fixture-${route}`,
        label: `Fixture (${route})`,
        description: 'a tiny conv net',
        publisher: 'tests',
        url: `${base}/${route}/model.json`,
        imageSize: [8, 8],
        pixelRange: [0, 1],
        cutAt: 'flat',
        parameters,
        ...extra,
      },
    ],
  })[0];
}

/** The cache holds nothing but complete models: no staging folders, no folder for this entry. */
function assertNothingCached(cacheDir: string, id: string): void {
  const left = fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : [];
  assert.deepEqual(
    left.filter((name) => name.startsWith('.partial') || name === id),
    [],
  );
}

const loads = async (file: string): Promise<void> => {
  const model = await tfl.loadLayersModel(fileLoadHandler(file));
  const out = model.predict(tf.zeros([1, 8, 8, 3])) as tf.Tensor;
  assert.deepEqual(out.shape, [1, 3]);
  out.dispose();
  model.dispose();
};

describe('model catalogue', () => {
  it('the bundled catalogue is valid: MobileNet v1 and v2 LayersModels, 224×224, pixels in [-1, 1]', () => {
    const entries = bundledCatalogue();
    assert.ok(entries.some((e) => e.id.startsWith('mobilenet_v1')));
    assert.ok(entries.some((e) => e.id.startsWith('mobilenet_v2')));
    for (const e of entries) {
      assert.match(e.url, /^https:\/\/storage\.googleapis\.com\/.+\/model\.json$/);
      assert.deepEqual(e.imageSize, [224, 224]);
      assert.deepEqual(e.pixelRange, [-1, 1]);
      assert.ok(e.cutAt && e.parameters && e.approxBytes === e.parameters * 4, e.id);
    }
  });

  it('refuses malformed entries, naming the entry and field', () => {
    const good = {
      id: 'a',
      label: 'A',
      description: 'd',
      publisher: 'p',
      url: 'https://x/m/model.json',
      imageSize: [2, 2],
      pixelRange: [0, 1],
    };
    assert.throws(() => validateCatalogue({ models: [{ ...good, id: '../up' }] }), /entry 0: id/);
    assert.throws(() => validateCatalogue({ models: [good, good] }), /entry 1: duplicate id a/);
    assert.throws(
      () => validateCatalogue({ models: [{ ...good, url: 'file:///etc/model.json' }] }),
      /http\(s\)/,
    );
    assert.throws(() => validateCatalogue({ models: [{ ...good, pixelRange: [1, 1] }] }), /pixelRange/);
    assert.throws(
      () => validateCatalogue({ models: [{ ...good, sha256: { 'model.json': 'xyz' } }] }),
      /sha256/,
    );
  });
});

describe('downloading a catalogue model', () => {
  it('downloads, verifies (parameters, bytes, SHA-256, loads) and caches; a second call makes no request', async () => {
    const cacheDir = tempDir('catalogue-cache');
    const sha = createHash('sha256').update(modelJson).digest('hex');
    const good = entry('good', { sha256: { 'model.json': sha } });
    const progress: number[] = [];
    const model = await downloadModel(good, {
      cacheDir,
      onProgress: (p) => progress.push(p.received),
      verifyLoads: loads,
    });
    assert.equal(model.cached, false);
    assert.equal(model.modelJson, path.join(cacheDir, good.id, 'model.json'));
    assert.equal(model.bytes, modelJson.length + weights.length);
    assert.deepEqual(fs.readFileSync(path.join(model.dir, weightsName)), weights);
    assert.ok(fs.existsSync(path.join(model.dir, VERIFIED_FILE)));
    assert.equal(progress.at(-1), modelJson.length + weights.length);
    assertNothingCached(cacheDir, 'nothing-else');
    await loads(model.modelJson);

    const before = requests.length;
    const again = await downloadModel(good, { cacheDir });
    assert.equal(again.cached, true);
    assert.equal(requests.length, before, 'the cached model is used without a request');
    assert.ok(await cachedModel(good, cacheDir));
    // A cached file cut short is noticed: the model is downloaded again.
    fs.truncateSync(path.join(model.dir, weightsName), 10);
    assert.equal(await cachedModel(good, cacheDir), undefined);
    assert.equal((await downloadModel(good, { cacheDir })).cached, false);
    assert.deepEqual(fs.readFileSync(path.join(model.dir, weightsName)), weights);
  });

  it('follows redirects, weight shards resolved against the final model.json URL', async () => {
    const cacheDir = tempDir('catalogue-cache');
    const model = await downloadModel(entry('redirect'), { cacheDir, verifyLoads: loads });
    assert.equal(model.cached, false);
    assert.ok(requests.includes(`/good/${weightsName}`));
  });

  const broken: [string, Partial<CatalogueEntry>, RegExp][] = [
    ['truncated', {}, /closed after \d+ of \d+ bytes \(truncated download\)/],
    ['short', {}, /hold \d+ bytes but model\.json needs \d+/],
    ['oversized', {}, /larger than the \d+ bytes model\.json describes/],
    ['corrupt', { sha256: { 'weights.bin': '0'.repeat(64) } }, /SHA-256 [0-9a-f]{64} does not match/],
    ['missing', {}, /HTTP 404/],
    ['notmodel', {}, /not JSON .*not a model\.json/],
    ['traversal', {}, /weight file outside its folder: \.\.\/\.\.\/outside\.bin/],
    ['good', { parameters: 12345 }, /lists \d+ parameters, but the catalogue expects 12345/],
  ];
  for (const [route, extra, message] of broken) {
    it(`a broken download (${route}${extra.parameters ? ', wrong model' : ''}) is a clear error and leaves nothing in the cache`, async () => {
      const cacheDir = tempDir('catalogue-cache');
      const bad = entry(route, extra);
      // The corrupt route's hash check names the shard by its real name.
      if (route === 'corrupt') bad.sha256 = { [weightsName]: '0'.repeat(64) };
      await assert.rejects(downloadModel(bad, { cacheDir, verifyLoads: loads }), message);
      assertNothingCached(cacheDir, bad.id);
      assert.equal(await cachedModel(bad, cacheDir), undefined);
    });
  }

  it('a server that stops answering times out', async () => {
    const cacheDir = tempDir('catalogue-cache');
    await assert.rejects(
      downloadModel(entry('silent'), { cacheDir, timeoutMs: 300 }),
      /no data for 0.3 s \(timed out\)/,
    );
    assertNothingCached(cacheDir, 'fixture-silent');
  });

  it('Cancel during a shard stops at once and keeps nothing', async () => {
    const cacheDir = tempDir('catalogue-cache');
    const controller = new AbortController();
    const pending = downloadModel(entry('stall'), {
      cacheDir,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file !== 'model.json' && p.received > modelJson.length) controller.abort();
      },
    });
    await assert.rejects(pending, /download cancelled/);
    assertNothingCached(cacheDir, 'fixture-stall');
  });

  it('a model that fails the load check is not cached', async () => {
    const cacheDir = tempDir('catalogue-cache');
    await assert.rejects(
      downloadModel(entry('good'), {
        cacheDir,
        verifyLoads: async () => {
          throw new Error('Unknown layer: FancyLayer');
        },
      }),
      /Unknown layer: FancyLayer/,
    );
    assertNothingCached(cacheDir, 'fixture-good');
  });
});
