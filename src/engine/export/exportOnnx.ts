/**
 * Exports a run's best model as ONNX: model.onnx, labels.json, preprocessing.json and a README.md with
 * ONNX Runtime examples. The model is loaded with TensorFlow.js (so this runs in the trainer process or the
 * CLI, never in the extension host; a backend must be initialised), converted in memory — a layer without a
 * conversion is refused before anything is written — and the folder is staged and renamed into place.
 */
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileLoadHandler } from '../model/fileModelIO';
import {
  checkExportTarget,
  writeExportFolder,
  type ExportFolderOptions,
} from '../../core/export/exportFolder';
import { convertToOnnx } from './onnx/convertModel';
import { onnxPreprocessingOf, onnxReadme } from './onnxReadme';
import { readRunModel, type RunModel } from '../../core/export/runModel';

export interface OnnxExport {
  outDir: string;
  files: string[];
  model: RunModel;
  /** The previous export moved aside (with `keepReplaced`), for the caller to trash. */
  replaced?: string;
  /** The files of the previous export this one replaced (empty when nothing was replaced). */
  replacedFiles: string[];
  /** Size of model.onnx, and of the float weights in it. */
  onnxBytes: number;
  weightBytes: number;
  /** Op types of the graph, in node order. */
  opTypes: string[];
}

export async function exportRunModelOnnx(
  runDir: string,
  outDir: string,
  options: ExportFolderOptions = {},
): Promise<OnnxExport> {
  const model = readRunModel(runDir);
  const target = path.resolve(outDir);
  // Before TensorFlow.js loads anything: a folder we may not write into is refused at once.
  checkExportTarget(target, options.overwrite ?? false);
  const layers = await tfl.loadLayersModel(fileLoadHandler(model.modelJson));
  let conversion: ReturnType<typeof convertToOnnx>;
  try {
    conversion = convertToOnnx(layers, {
      imageSize: model.imageSize,
      channels: model.channels,
      pixelRange: model.pixelRange,
      classNames: model.classNames,
      name: `run ${model.runId}`,
      description: `${model.name ?? model.runId}: an image classifier fine-tuned with Fine-Tune Studio (run ${model.runId}).`,
      metadata: { run: model.runId, ...(model.name ? { experiment: model.name } : {}) },
    });
  } finally {
    layers.dispose();
  }
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  const written = writeExportFolder(
    target,
    [
      { name: 'model.onnx', data: conversion.bytes },
      { name: 'labels.json', data: json(model.classNames) },
      { name: 'preprocessing.json', data: json(onnxPreprocessingOf(model)) },
      {
        name: 'README.md',
        data: onnxReadme(model, { fileBytes: conversion.bytes.length, opTypes: conversion.opTypes }),
      },
    ],
    options,
  );
  return {
    outDir: target,
    ...written,
    model,
    onnxBytes: conversion.bytes.length,
    weightBytes: conversion.weightBytes,
    opTypes: conversion.opTypes,
  };
}
