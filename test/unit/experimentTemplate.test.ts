import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseTree } from 'jsonc-parser';
import { parseExperimentText } from '../../src/core/config/loadExperiment';
import type { LayerNode } from '../../src/protocol/layerTree';
import {
  experimentFileName,
  experimentNameProblem,
  experimentTemplate,
  imageSizeFromInputShape,
  PLACEHOLDER_IMAGE_SIZE,
  relativeToExperiment,
  suggestLayerChoices,
  type ExperimentTemplateInput,
} from '../../src/host/experiments/experimentTemplate';

const FILE = path.resolve('/tmp/workspace/experiments/new.finetune.json');
/** Never consulted when imageSize is written; a call would mean the template left it out. */
const noModelLookup = (): [number, number] => {
  throw new Error('the template must write dataset.imageSize itself');
};

const BASE: ExperimentTemplateInput = {
  name: 'digits-transfer',
  baseModel: '../models/base/model.json',
  datasetPath: '../data/target',
  datasetLayout: 'flat',
  classCount: 5,
  imageSize: [32, 32],
  freezeUpTo: 'features',
  cutAt: 'dropout',
  layersKnown: true,
};

function load(text: string) {
  return parseExperimentText(text, FILE, noModelLookup);
}

describe('experimentTemplate', () => {
  it('parses with the experiment loader without errors or warnings, paths resolved against the file', () => {
    const { config, warnings } = load(experimentTemplate(BASE));
    assert.deepEqual(warnings, []);
    assert.equal(config.name, 'digits-transfer');
    assert.equal(config.baseModel, path.resolve('/tmp/workspace/models/base/model.json'));
    assert.equal(config.dataset.path, path.resolve('/tmp/workspace/data/target'));
    assert.deepEqual(config.dataset.imageSize, [32, 32]);
    assert.equal(config.freezeUpTo, 'features');
    assert.equal(config.head.cutAt, 'dropout');
    assert.deepEqual(config.layers, {});
  });

  it('explains the settings in comments', () => {
    const text = experimentTemplate(BASE);
    const comments = text
      .split('\n')
      .filter((line) => line.trim().startsWith('//'))
      .join('\n');
    for (const topic of [
      'frozen',
      '[-1, 1]',
      'new head',
      'learningRate ×',
      'validation',
      'overfitting',
      'patience',
    ]) {
      assert.ok(comments.includes(topic), `a comment mentions ${topic}`);
    }
    // Every top-level section is there for the user to see and edit, not hidden in defaults.
    const doc = parse(text) as Record<string, unknown>;
    for (const key of [
      'dataset',
      'freezeUpTo',
      'layers',
      'head',
      'regularization',
      'augmentation',
      'training',
    ])
      assert.ok(key in doc, key);
  });

  it('parses cleanly without freeze/cut suggestions, for a split dataset, and with an unknown input size', () => {
    const text = experimentTemplate({
      ...BASE,
      freezeUpTo: undefined,
      cutAt: undefined,
      layersKnown: false,
      imageSize: undefined,
      datasetLayout: 'split',
      classCount: undefined,
      pixelRange: [-1, 1],
      pixelRangeFromModelFamily: true,
    });
    const { config, warnings } = load(text);
    assert.deepEqual(warnings, []);
    assert.equal(config.freezeUpTo, undefined);
    assert.equal(config.head.cutAt, undefined);
    assert.deepEqual(config.dataset.imageSize, PLACEHOLDER_IMAGE_SIZE);
    assert.deepEqual(config.dataset.pixelRange, [-1, 1]);
    assert.match(text, /could not be read/);
    assert.match(text, /train\/ and val\//);
  });

  it('escapes names and paths with quotes, backslashes, newlines and comment markers as JSON strings', () => {
    const nasty = 'a "quoted" \\ name */ // <script>\n} ,';
    const text = experimentTemplate({
      ...BASE,
      name: nasty,
      baseModel: 'models/"odd"\\dir/model.json',
      datasetPath: "data/it's // here",
      freezeUpTo: 'block "1"/conv\\x',
      cutAt: 'cut\nhere',
    });
    const errors: unknown[] = [];
    parseTree(text, errors as never[], { allowTrailingComma: false });
    assert.deepEqual(errors, [], 'valid JSONC (no trailing commas either)');
    const { config, warnings } = load(text);
    assert.deepEqual(warnings, []);
    assert.equal(config.name, nasty);
    assert.equal(config.baseModel, path.resolve('/tmp/workspace/experiments/models/"odd"\\dir/model.json'));
    assert.equal(config.dataset.path, path.resolve("/tmp/workspace/experiments/data/it's // here"));
    assert.equal(config.freezeUpTo, 'block "1"/conv\\x');
    assert.equal(config.head.cutAt, 'cut\nhere');
  });
});

describe('relativeToExperiment', () => {
  it("gives '/'-separated paths relative to the experiment file's folder", () => {
    const file = path.join(path.sep, 'ws', 'exp', 'a.finetune.json');
    assert.equal(relativeToExperiment(file, path.join(path.sep, 'ws', 'data', 'cats')), '../data/cats');
    assert.equal(
      relativeToExperiment(file, path.join(path.sep, 'ws', 'exp', 'm', 'model.json')),
      'm/model.json',
    );
    assert.equal(relativeToExperiment(file, path.join(path.sep, 'ws', 'exp')), '.');
  });
});

describe('experiment names', () => {
  it('accepts ordinary names and strips a typed suffix', () => {
    assert.equal(experimentNameProblem('digits frozen-conv_2.v1'), undefined);
    assert.equal(experimentFileName('digits.finetune.json'), 'digits.finetune.json');
    assert.equal(experimentFileName('  digits  '), 'digits.finetune.json');
  });

  it('rejects empty, unsafe and reserved names', () => {
    for (const bad of [
      '',
      '   ',
      'a/b',
      'a\\b',
      'a:b',
      'a"b',
      'a?b',
      'a*',
      '.hidden',
      'trailing.',
      'nul',
      'COM1',
      'x\u0001y',
      'x'.repeat(101),
    ]) {
      assert.ok(experimentNameProblem(bad), `"${bad}" is rejected`);
    }
  });
});

describe('imageSizeFromInputShape', () => {
  it('reads [h, w] from [null, h, w, c] and refuses unknown sizes', () => {
    assert.deepEqual(imageSizeFromInputShape([null, 224, 160, 3]), [224, 160]);
    assert.deepEqual(imageSizeFromInputShape([28, 28, 1]), [28, 28]);
    assert.equal(imageSizeFromInputShape([null, null, null, 3]), undefined);
    assert.equal(imageSizeFromInputShape([null, 10]), undefined);
    assert.equal(imageSizeFromInputShape(undefined), undefined);
  });
});

const leaf = (p: string, className: string): LayerNode => ({
  path: p,
  name: p.split('/').pop()!,
  className,
  outputShape: [null, 1],
  trainableParams: 1,
  nonTrainableParams: 0,
});
const block = (p: string, children: LayerNode[]): LayerNode => ({ ...leaf(p, 'Sequential'), children });

describe('suggestLayerChoices', () => {
  it('cuts before the last Dense and freezes the conv base, named by the nested model it ends', () => {
    const tree = [
      block(
        'features',
        [
          'conv1:Conv2D',
          'bn1:BatchNormalization',
          'pool1:MaxPooling2D',
          'conv2:Conv2D',
          'bn2:BatchNormalization',
          'pool2:MaxPooling2D',
        ].map((s) => leaf(`features/${s.split(':')[0]}`, s.split(':')[1])),
      ),
      leaf('flatten', 'Flatten'),
      leaf('dense_1', 'Dense'),
      leaf('dropout', 'Dropout'),
      leaf('dense_2', 'Dense'),
    ];
    assert.deepEqual(suggestLayerChoices(tree), { cutAt: 'dropout', freezeUpTo: 'features' });
  });

  it('takes the BatchNormalization and activation of the last conv block along, as a leaf path', () => {
    const tree = [
      leaf('conv1', 'Conv2D'),
      leaf('pool1', 'MaxPooling2D'),
      leaf('conv2', 'Conv2D'),
      leaf('bn2', 'BatchNormalization'),
      leaf('relu2', 'ReLU'),
      leaf('flatten', 'Flatten'),
      leaf('out', 'Dense'),
    ];
    assert.deepEqual(suggestLayerChoices(tree), { cutAt: 'flatten', freezeUpTo: 'relu2' });
  });

  it('without a Dense layer (MobileNet-like) cuts at the global pooling and freezes up to it', () => {
    const tree = [
      block('mobilenet', [
        leaf('mobilenet/conv_pw_13', 'Conv2D'),
        leaf('mobilenet/conv_pw_13_bn', 'BatchNormalization'),
        leaf('mobilenet/conv_pw_13_relu', 'Activation'),
        leaf('mobilenet/global_average_pooling2d_1', 'GlobalAveragePooling2D'),
      ]),
      leaf('reshape', 'Reshape'),
      leaf('conv_preds', 'Conv2D'),
      leaf('act_softmax', 'Activation'),
    ];
    assert.deepEqual(suggestLayerChoices(tree), {
      cutAt: 'mobilenet/global_average_pooling2d_1',
      freezeUpTo: 'mobilenet',
    });
  });

  it('suggests nothing to freeze for a dense-only model, and nothing at all without a cut', () => {
    assert.deepEqual(
      suggestLayerChoices([leaf('flatten', 'Flatten'), leaf('h', 'Dense'), leaf('out', 'Dense')]),
      {
        cutAt: 'h',
      },
    );
    assert.deepEqual(suggestLayerChoices([leaf('conv', 'Conv2D'), leaf('act', 'Activation')]), {});
  });
});
