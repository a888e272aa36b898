/**
 * Grad-CAM overlays with a run's saved model: each image is decoded as the run was trained (its size,
 * pixel range, channels), the map is computed for the chosen class (default: the predicted one), and
 * drawn over the image as a PNG — for the Data tab and the confusion-matrix drill-down (as a data: URL)
 * and for `finetune explain` (as a file).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import type { GradCamResult } from '../../protocol/dataInsight';
import type { RunModel } from '../../core/export/runModel';
import { blendHeat, quadrantShares, upsample } from '../../core/insight/heatmap';
import { UserError } from '../../core/userError';
import { MAX_INPUT_PIXELS, decodeImageFile } from '../data/decodeImages';
import { fileLoadHandler } from '../model/fileModelIO';
import { gradCam } from './gradCam';

/** Longest side of an overlay, in pixels (small images are enlarged to it without smoothing). */
export const OVERLAY_SIZE = 224;

export interface Explanation extends Omit<GradCamResult, 'overlay'> {
  png: Buffer;
}

export class Explainer {
  private constructor(
    private readonly run: RunModel,
    private readonly model: tfl.LayersModel,
  ) {}

  static async open(run: RunModel): Promise<Explainer> {
    const model = await tfl.loadLayersModel(fileLoadHandler(run.modelJson));
    const outputs = (model.outputs[0].shape as number[])[1];
    if (outputs !== run.classNames.length) {
      model.dispose();
      throw new UserError(
        `Run ${run.runId}'s model has ${outputs} outputs but ${run.classNames.length} class names: its model folder is inconsistent.`,
      );
    }
    return new Explainer(run, model);
  }

  /**
   * Grad-CAM of the image file `abs` (reported as `file`) for class `classIndex`, or the predicted class.
   */
  async explain(abs: string, file: string, classIndex?: number): Promise<Explanation> {
    const { imageSize, channels, pixelRange, classNames } = this.run;
    if (
      classIndex !== undefined &&
      !(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < classNames.length)
    ) {
      throw new UserError(
        `Class ${classIndex} is not one of run ${this.run.runId}'s ${classNames.length} classes (${classNames.join(', ')}).`,
      );
    }
    const pixels = await decodeImageFile(abs, { imageSize, channels, pixelRange });
    const image = tf.tensor4d(pixels, [1, imageSize[0], imageSize[1], channels]);
    try {
      let target = classIndex;
      if (target === undefined) {
        const probabilities = tf.tidy(() => this.model.predict(image) as tf.Tensor);
        const values = await probabilities.data();
        probabilities.dispose();
        target = argMax(values);
      }
      const cam = await gradCam(this.model, image, target);
      const predictedIndex = argMax(cam.probabilities);
      return {
        file,
        classIndex: target,
        className: classNames[target],
        probability: cam.probabilities[target],
        predicted: classNames[predictedIndex],
        predictedProbability: cam.probabilities[predictedIndex],
        layer: cam.layer,
        mapSize: [cam.height, cam.width],
        quadrants: quadrantShares(cam.map, cam.height, cam.width),
        png: await overlayPng(abs, cam.map, cam.height, cam.width),
      };
    } finally {
      image.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/** The image at OVERLAY_SIZE with the heat blended over it, as PNG bytes. */
export async function overlayPng(abs: string, map: Float32Array, h: number, w: number): Promise<Buffer> {
  const meta = await sharp(abs, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  const width0 = meta.width ?? OVERLAY_SIZE;
  const height0 = meta.height ?? OVERLAY_SIZE;
  const scale = OVERLAY_SIZE / Math.max(width0, height0);
  const width = Math.max(1, Math.round(width0 * scale));
  const height = Math.max(1, Math.round(height0 * scale));
  const { data } = await sharp(abs, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
    .rotate()
    // Enlarging a tiny image: nearest neighbour keeps its pixels visible under the heat.
    .resize({ width, height, fit: 'fill', kernel: scale > 1 ? 'nearest' : 'lanczos3' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const heat = upsample(map, h, w, height, width);
  const blended = blendHeat(data, heat);
  return sharp(Buffer.from(blended), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
