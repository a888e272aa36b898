// The core functions that read or write the file system synchronously, by module (path under src/core).
// The extension host may not import them (eslint.config.mjs): each has an asynchronous twin (`…Async`, or
// a child process for the exports) that the host uses instead, so a hostile workspace's file — a link to
// /dev/zero, a FIFO, a huge folder — never blocks VS Code. test/unit/hostNoSyncIo.test.ts checks that every
// exported core function that itself calls a `…Sync` API is listed here, so a new one cannot slip by.
export const SYNC_CORE_IO = {
  'runs/readRuns': ['listRuns', 'readRun', 'markCrashedRuns', 'markRunCrashed', 'resolveRunRef'],
  'runs/resumable': ['resumeProblem'],
  'runs/rerunConfig': ['rerunFilePath'],
  'runs/runNotes': ['updateRunNotes'],
  'runs/runLock': ['liveLockHolder', 'writeRunLock', 'acquireRunLock', 'releaseRunLock'],
  'sweep/sweepStore': [
    'listSweeps',
    'readSweep',
    'resolveSweepRef',
    'requestCancel',
    'readCancelRequest',
    'readSnapshot',
    'writeState',
    'writeJsonAtomic',
  ],
  'sweep/loadSweep': ['loadSweep', 'parseSweepText'],
  'sweep/checkParameters': ['readExperimentContext', 'experimentContext'],
  'config/loadExperiment': ['parseExperimentText'],
  'config/modelInputShape': ['readModelInputSize', 'readModelInputChannels'],
  'model/modelJson': ['readModelJson'],
  'model/topologyLayerTree': ['topologyLayerTree'],
  'model/weightFiles': ['containedWeightFile'],
  'export/exportFolder': ['exportTargetState', 'checkExportTarget', 'writeExportFolder'],
  'export/exportModel': ['exportRunModel'],
  'export/runModel': ['readRunModel', 'readRunModelJson'],
  'export/exportMetrics': ['exportMetrics', 'exportMetricsCsv'],
  'export/tensorboardExport': ['exportTensorBoard', 'readEventFile'],
  atomicFile: ['writeFileAtomic', 'writeFileDurably', 'fsyncDir'],
  lrFinderRecord: ['writeLrFinderRecord', 'readLrFinderSuggestion'],
};
