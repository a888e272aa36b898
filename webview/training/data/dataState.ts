/**
 * The Data tab's state and how the host's data messages change it. Pure (no DOM), like ../state.ts.
 * Not persisted with setState (thumbnails weigh too much for it): after a reload the host posts its last
 * report again.
 */
import type { DataInsightReport, GradCamResult } from '../../../src/protocol/dataInsight';
import type { DataTabToPanel } from '../../../src/protocol/webviewMessages';

export type GradCamEntry =
  { status: 'loading' } | { status: 'done'; result: GradCamResult } | { status: 'failed'; error: string };

export interface DataTabState {
  status: 'idle' | 'running' | 'done' | 'failed';
  progress?: { message: string; fraction?: number };
  report?: DataInsightReport;
  /** Images already marked as reviewed (left out of the report). */
  reviewed: number;
  error?: string;
  /** Images moved, deleted or reviewed since the report: no longer shown. */
  hidden: string[];
  /** What the last action did. */
  message?: string;
  /** What Undo would undo now. */
  undo?: string;
  match?: { matches: boolean; message: string };
  /** Grad-CAM per image and class (`gradCamKey`). */
  gradCams: Record<string, GradCamEntry>;
  /** The cards that show a Grad-CAM instead of the thumbnail: file → class. */
  explaining: Record<string, number>;
  /** The embedding map's clicked point and its image once the host answered. */
  selected?: { file: string; dataUrl?: string; error?: string };
}

export const initialDataTab = (): DataTabState => ({
  status: 'idle',
  reviewed: 0,
  hidden: [],
  gradCams: {},
  explaining: {},
});

export const gradCamKey = (file: string, classIndex: number): string => `${classIndex}\n${file}`;

export type DataMessage = Exclude<DataTabToPanel, { type: 'showTab' }>;

const DATA_TYPES = new Set<string>([
  'dataProgress',
  'dataReport',
  'dataFailed',
  'dataChange',
  'dataMatch',
  'gradCam',
  'gradCamFailed',
  'imagePreview',
]);

export function isDataMessage(message: { type: string }): message is DataMessage {
  return DATA_TYPES.has(message.type);
}

export function reduceData(state: DataTabState, message: DataMessage): DataTabState {
  switch (message.type) {
    case 'dataProgress':
      return {
        ...state,
        status: 'running',
        error: undefined,
        progress: {
          message: message.message,
          ...(message.fraction !== undefined ? { fraction: message.fraction } : {}),
        },
      };
    case 'dataReport':
      // A new report: what was hidden or explained belonged to the previous one.
      return {
        ...state,
        status: 'done',
        progress: undefined,
        error: undefined,
        report: message.report,
        reviewed: message.reviewed,
        hidden: [],
        gradCams: {},
        explaining: {},
        selected: undefined,
      };
    case 'dataFailed':
      return {
        ...state,
        status: state.report ? 'done' : message.cancelled ? 'idle' : 'failed',
        progress: undefined,
        error: message.cancelled ? undefined : message.error,
        message: message.cancelled ? message.error : state.message,
      };
    case 'dataChange': {
      const hidden = new Set(state.hidden);
      message.hide.forEach((f) => hidden.add(f));
      message.show.forEach((f) => hidden.delete(f));
      return { ...state, hidden: [...hidden], message: message.message, undo: message.undo };
    }
    case 'dataMatch':
      return { ...state, match: { matches: message.matches, message: message.message } };
    case 'gradCam':
      return {
        ...state,
        gradCams: {
          ...state.gradCams,
          [gradCamKey(message.result.file, message.result.classIndex)]: {
            status: 'done',
            result: message.result,
          },
        },
      };
    case 'gradCamFailed':
      return {
        ...state,
        gradCams: {
          ...state.gradCams,
          [gradCamKey(message.file, message.classIndex)]: { status: 'failed', error: message.error },
        },
      };
    case 'imagePreview':
      // Only the answer for the point still selected counts.
      if (state.selected?.file !== message.file) return state;
      return { ...state, selected: { file: message.file, dataUrl: message.dataUrl, error: message.error } };
  }
}

/**
 * The page shows the Grad-CAM of `file` for `classIndex` (undefined: back to the thumbnail). Returns the
 * new state and whether the host must be asked (not asked yet, or it failed before).
 */
export function explain(
  state: DataTabState,
  file: string,
  classIndex: number | undefined,
): { state: DataTabState; request: boolean } {
  const explaining = { ...state.explaining };
  if (classIndex === undefined) {
    delete explaining[file];
    return { state: { ...state, explaining }, request: false };
  }
  explaining[file] = classIndex;
  const key = gradCamKey(file, classIndex);
  const known = state.gradCams[key];
  if (known && known.status !== 'failed') return { state: { ...state, explaining }, request: false };
  return {
    state: { ...state, explaining, gradCams: { ...state.gradCams, [key]: { status: 'loading' } } },
    request: true,
  };
}

/** A point of the embedding map was clicked (its image follows from the host). */
export function selectPoint(state: DataTabState, file: string): DataTabState {
  return { ...state, selected: { file } };
}

/** The page asked for an analysis (before the host's first progress message). */
export function startAnalysis(state: DataTabState): DataTabState {
  return { ...state, status: 'running', error: undefined, progress: { message: 'Starting the analysis…' } };
}
