/**
 * What each message a webview may send looks like: one description per message (messageSchema.ts), the
 * source of both the host's guards (messageGuards.ts) and the fuzz cases of test/webview/security.test.ts.
 * A webview is untrusted input: every string, number and list here is bounded.
 */
import { BOOLEAN, INDEX, integer, text, unionSchema, type JsonSchema, type Shapes } from './messageSchema';
import {
  DATA_ACTIONS,
  type ComparePanelToHost,
  type ExperimentPanelToHost,
  type LayerEdit,
  type LrFinderPanelToHost,
  type TrainingPanelToHost,
} from './webviewMessages';

/** Exports are built in the webview; this bounds what the host accepts to write. */
export const MAX_EXPORT_CHARS = 64 * 1024 * 1024;
/** A plain file name (the host joins it to a folder): no separators, no `..`, not hidden. */
export const SAFE_FILE_NAME = '^(?!.*\\.\\.)\\w[\\w .()+-]{0,150}$';

const LAYER_PATH = text(1024, { minLength: 1 });
/** An image of a Data tab report: a path relative to its dataset folder. */
const REPORT_FILE = text(4095, { minLength: 1 });

export const TRAINING_PANEL_MESSAGES: Shapes<TrainingPanelToHost> = {
  ready: {},
  stopRun: {},
  showCell: { fields: { trueIndex: INDEX, predictedIndex: INDEX } },
  openImage: { fields: { file: text(4095) } },
  applyAdvice: { fields: { adviceId: text(64), index: INDEX } },
  // The Data tab (issue 15). Files are paths relative to the dataset folder as the report names them;
  // the host acts only on files of the report it holds and on its classes (dataTabController.ts).
  analyzeData: {},
  cancelAnalysis: {},
  undoDataAction: {},
  dataAction: {
    fields: { action: { enum: [...DATA_ACTIONS] }, file: REPORT_FILE },
    optional: { toClass: text(255, { minLength: 1 }) },
  },
  gradCam: { fields: { file: REPORT_FILE, classIndex: INDEX } },
  previewImage: { fields: { file: REPORT_FILE } },
};

export const LAYER_EDITS: Shapes<LayerEdit, 'kind'> = {
  setFrozen: { fields: { path: LAYER_PATH, frozen: BOOLEAN } },
  freezeUpTo: { fields: { path: LAYER_PATH } },
  unfreezeFrom: { fields: { path: LAYER_PATH } },
  setReinit: { fields: { path: LAYER_PATH, reinit: BOOLEAN } },
  setCut: { fields: { path: LAYER_PATH } },
  unfreezeAll: {},
};

export const LAYER_EDIT_SCHEMA: JsonSchema = unionSchema('kind', LAYER_EDITS);

/**
 * Any value: setValue's value is checked by the handler against the experiment schema (in the file, with
 * the problems shown), not here.
 */
const ANY_VALUE: JsonSchema = {};

export const EXPERIMENT_PANEL_MESSAGES: Shapes<ExperimentPanelToHost> = {
  ready: {},
  startTraining: {},
  setValue: {
    fields: {
      path: {
        type: 'array',
        minItems: 1,
        maxItems: 6,
        items: { anyOf: [text(255), INDEX] },
      },
    },
    optional: { value: ANY_VALUE },
  },
  layerEdit: { fields: { edit: LAYER_EDIT_SCHEMA } },
  previewAugmentation: { fields: { seed: integer(0, 0x7fffffff) } },
};

const fileName = (extension: 'csv' | 'png'): JsonSchema => ({
  type: 'string',
  maxLength: 151,
  allOf: [{ pattern: SAFE_FILE_NAME }, { pattern: `\\.${extension}$` }],
  examples: [`runs.${extension}`],
});

export const COMPARE_PANEL_MESSAGES: Shapes<ComparePanelToHost> = {
  ready: {},
  openRun: { fields: { dir: text(4095, { minLength: 1 }) } },
  saveCsv: { fields: { suggestedName: fileName('csv'), csv: text(MAX_EXPORT_CHARS) } },
  savePng: {
    fields: {
      suggestedName: fileName('png'),
      dataUrl: text(MAX_EXPORT_CHARS, {
        pattern: '^data:image/png;base64,',
        examples: ['data:image/png;base64,iVBOR'],
      }),
    },
  },
};

/** A learning rate the panel may write: positive, finite, at most 100 (a sweep ends at 10 by default). */
export const USABLE_LEARNING_RATE: JsonSchema = { type: 'number', exclusiveMinimum: 0, maximum: 100 };

export const LR_FINDER_PANEL_MESSAGES: Shapes<LrFinderPanelToHost> = {
  ready: {},
  findAgain: {},
  useLearningRate: { fields: { value: USABLE_LEARNING_RATE } },
};
