/**
 * DepthwiseConv2dNativeBackpropInput — the input gradient of a depthwise convolution, needed whenever a
 * trainable layer sits before a depthwise layer — for the wasm backend, which (in tfjs-backend-wasm 4.22)
 * has none.
 *
 *   dx[b][y][x][c] = Σ_r,s,q dy[b][i][j][c·m + q] · W[r][s][c][q]   over y = i·sH + r·dH − top, x = j·sW + s·dW − left
 *
 * With the kernel pool (the multi-threaded build), multiplier 1 with channels in fours is gathered per
 * input row on its threads (parallelConv.ts). Otherwise: this is itself a depthwise convolution, so
 * XNNPACK's does the work: dy is spread out by the stride
 * (stride − 1 zeros between neighbours), padded so that every tap that touched the input is covered, and
 * correlated with the filter rotated by 180°; with a channel multiplier m > 1 the m results of each input
 * channel are then summed. Measured per call at 96×96, batch 32 (2-core machine, wasm with SIMD, one
 * thread), this is 2–9× faster than hand-written JavaScript loops (the zero-filled spread costs most at
 * stride 2).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  assertFloat32,
  padOrCropSpatial,
  reshaped,
  runWasmKernel,
  withTemporaries,
  type BackendWasm,
  type KernelArgs,
} from './wasmKernelCalls';
import { parallelDepthwiseInputGrad } from './parallelConv';

function depthwiseBackpropInput(args: KernelArgs): tf.TensorInfo {
  const parallel = parallelDepthwiseInputGrad(args);
  if (parallel) return parallel;
  const { inputs, backend, attrs } = args;
  const wasm = backend as BackendWasm;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  assertFloat32(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter });
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const multiplier = outChannels / inChannels;
  const spanHeight = (filterHeight - 1) * info.dilationHeight + 1;
  const spanWidth = (filterWidth - 1) * info.dilationWidth + 1;

  return withTemporaries(wasm, (temp) => {
    // dy spread out by the stride: [b, i, 1, j, 1, k] padded to [b, i, sH, j, sW, k] puts each value at
    // (i·sH, j·sW) of a [b, oH·sH, oW·sW, k] grid.
    let spread = dy;
    if (strideHeight > 1 || strideWidth > 1) {
      const padded = temp(
        runWasmKernel(
          wasm,
          'PadV2',
          { x: reshaped(dy, [batchSize, outHeight, 1, outWidth, 1, outChannels]) },
          {
            paddings: [
              [0, 0],
              [0, 0],
              [0, strideHeight - 1],
              [0, 0],
              [0, strideWidth - 1],
              [0, 0],
            ],
            constantValue: 0,
          },
        ),
      );
      spread = reshaped(padded, [batchSize, outHeight * strideHeight, outWidth * strideWidth, outChannels]);
    }
    // A 'valid' correlation of the padded grid with the span-sized filter must give inHeight × inWidth.
    const top = spanHeight - 1 - info.padInfo.top;
    const left = spanWidth - 1 - info.padInfo.left;
    const bottom = inHeight + spanHeight - 1 - top - spread.shape[1];
    const right = inWidth + spanWidth - 1 - left - spread.shape[2];
    const grid = temp(padOrCropSpatial(wasm, spread, [top, bottom, left, right]));
    const rotated = temp(
      runWasmKernel(
        wasm,
        'Reverse',
        { x: reshaped(filter, [filterHeight, filterWidth, outChannels, 1]) },
        { dims: [0, 1] },
      ),
    );
    const perOutputChannel = runWasmKernel(
      wasm,
      'DepthwiseConv2dNative',
      { x: grid, filter: rotated },
      { strides: 1, dilations: [info.dilationHeight, info.dilationWidth], pad: 'valid' },
    ); // [b, inHeight, inWidth, c·m + q]
    if (multiplier === 1) return perOutputChannel;
    temp(perOutputChannel);
    const summed = runWasmKernel(
      wasm,
      'Sum',
      { x: reshaped(perOutputChannel, [batchSize, inHeight, inWidth, inChannels, multiplier]) },
      { axis: [4], keepDims: false },
    );
    return summed;
  });
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput,
};
