/**
 * Restricted Mode's layer tree, read from model.json as text: the same paths, classes and nesting as the
 * tree TensorFlow.js gives for the same models (the test loads them with TensorFlow.js to compare).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readModelArtifacts } from '../../src/engine/model/fileModelIO';
import { describeModelFile } from '../../src/engine/model/layerTree';
import { topologyLayerTree } from '../../src/core/model/topologyLayerTree';
import { UserError } from '../../src/core/userError';
import type { LayerNode } from '../../src/protocol/layerTree';
import { saveFlatSequential, saveNestedCnn, tempDir } from '../helpers/fixtureModels';

const SAMPLE_MODEL = path.resolve(__dirname, '../../../samples/digits/models/base/model.json');

/** What the text reader can know: path, name, class and nesting. */
function shape(nodes: LayerNode[]): unknown[] {
  return nodes.map((n) => ({
    path: n.path,
    name: n.name,
    className: n.className,
    ...(n.children ? { children: shape(n.children) } : {}),
  }));
}

describe('layer tree from model.json text', () => {
  let root: string;
  before(async () => {
    await tf.setBackend('cpu');
    root = tempDir('topology');
  });

  it('matches TensorFlow.js for nested functional/Sequential models, a flat Sequential and the sample model', async () => {
    const models = [
      await saveNestedCnn(path.join(root, 'nested')),
      await saveFlatSequential(path.join(root, 'flat')),
      SAMPLE_MODEL,
    ];
    for (const model of models) {
      const text = topologyLayerTree(model);
      assert.deepEqual(shape(text), shape(await describeModelFile(model)), model);
      assert.ok(text.length > 0);
      assert.ok(
        text.every((n) => n.trainableParams === 0 && n.outputShape.length === 0),
        'shapes are left empty',
      );
    }
    // Keras exports wrap the topology in model_config.
    const json = JSON.parse(fs.readFileSync(models[0], 'utf8')) as { modelTopology: unknown };
    const keras = path.join(root, 'keras.json');
    fs.writeFileSync(keras, JSON.stringify({ modelTopology: { model_config: json.modelTopology } }));
    assert.deepEqual(shape(topologyLayerTree(keras)), shape(topologyLayerTree(models[0])));
  });

  it('refuses files that are not LayersModels, and hostile nesting, with messages naming the file', () => {
    const write = (name: string, text: string): string => {
      const file = path.join(root, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const cases: [string, RegExp][] = [
      [write('garbage.json', '{"modelTopology": '), /garbage\.json is not valid JSON/],
      [
        write('graph.json', '{"format": "graph-model", "modelTopology": {"node": []}}'),
        /graph\.json has no Keras\/LayersModel topology/,
      ],
      [path.join(root, 'missing.json'), /Base model not found: .*missing\.json/],
    ];
    let deep: unknown = { class_name: 'Sequential', config: { layers: [] } };
    for (let i = 0; i < 40; i++)
      deep = { class_name: 'Sequential', config: { name: `m${i}`, layers: [deep] } };
    cases.push([
      write('deep.json', JSON.stringify({ modelTopology: deep })),
      /deep\.json: models nested more than 32 deep/,
    ]);
    for (const [file, message] of cases) {
      assert.throws(
        () => topologyLayerTree(file),
        (e: unknown) => e instanceof UserError && message.test(e.message),
        file,
      );
    }
  });

  it('gives the messages the engine loader gives: one model.json reader for both', () => {
    const write = (name: string, text: string): string => {
      const file = path.join(root, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const files = [
      path.join(root, 'absent.json'),
      write('half.json', '{"modelTopology": '),
      write('no-topology.json', '{"format": "graph-model", "weightsManifest": []}'),
      write('graph-topology.json', '{"format": "graph-model", "modelTopology": {"node": []}}'),
      write('not-an-object.json', '[1, 2]'),
    ];
    const messageOf = (read: () => unknown): string => {
      try {
        read();
      } catch (error) {
        assert.ok(error instanceof UserError, String(error));
        return error.message;
      }
      throw new Error('did not throw');
    };
    for (const file of files) {
      const message = messageOf(() => topologyLayerTree(file));
      assert.ok(message.includes(file), message);
      assert.equal(
        messageOf(() => readModelArtifacts(file)),
        message,
        file,
      );
    }
  });
});
