/**
 * Conv2DBackpropFilter — the weight gradient of a 2-D convolution — for the wasm backend, which (in
 * tfjs-backend-wasm 4.22) has none, so without it no Conv2D layer can train on wasm.
 *
 *   dW[r][s][ci][co] = Σ_b,i,j x[b][i·sH + r − top][j·sW + s − left][ci] · dy[b][i][j][co]
 *
 * With the kernel pool (the multi-threaded build) every case with output channels in fours runs on its
 * threads instead (parallelConv.ts). Otherwise both paths below hand the arithmetic to XNNPACK through
 * the backend's own kernels; only tensor layouts are
 * prepared here. Measured per call at 96×96, batch 32 (2-core machine, wasm with SIMD, one thread), the
 * alternatives were slower: an im2col built in JavaScript followed by BatchMatMul 1.3–1.9×, plain
 * JavaScript loops 4–6×, a strided slice and a matrix product per filter tap up to 30× (3×3, stride 2):
 *
 * - 1×1 kernels at stride 1 and no padding (pointwise layers): dW = xᵀ·dy as one matrix product of the
 *   transposed [Cin, positions] input and the [positions, Cout] output gradient (the convolution below
 *   is 1.4–1.9× slower for these).
 * - Everything else: the gradient *is* a convolution of x with dy, with the batch playing the channel
 *   that is summed over — input x as [Cin, H, W, batch], filter dy as [outH, outW, batch, Cout],
 *   dilated by the forward stride — giving [Cin, kH, kW, Cout], transposed to the filter layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  assertFloat32,
  reshaped,
  runWasmKernel,
  withTemporaries,
  type BackendWasm,
  type KernelArgs,
} from './wasmKernelCalls';
import { parallelFilterGrad } from './parallelConv';

function conv2dBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const parallel = parallelFilterGrad(args);
  if (parallel) return parallel;
  const { inputs, backend, attrs } = args;
  const wasm = backend as BackendWasm;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertFloat32(tf.Conv2DBackpropFilter, { x, dy });
  return withTemporaries(wasm, (temp) => {
    // Channels-first data is brought to channels-last once; the filter layout does not depend on it.
    const channelsLast = tf.backend_util.convertConv2DDataFormat(dataFormat) === 'channelsLast';
    const toNhwc = (t: tf.TensorInfo): tf.TensorInfo =>
      channelsLast ? t : temp(runWasmKernel(wasm, 'Transpose', { x: t }, { perm: [0, 2, 3, 1] }));
    const xNhwc = toNhwc(x);
    const dyNhwc = toNhwc(dy);
    const info = tf.backend_util.computeConv2DInfo(
      xNhwc.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { top, bottom, left, right } = info.padInfo;
    const pointwise =
      info.filterHeight === 1 &&
      info.filterWidth === 1 &&
      info.strideHeight === 1 &&
      info.strideWidth === 1 &&
      top === 0 &&
      bottom === 0 &&
      left === 0 &&
      right === 0;
    return pointwise
      ? pointwiseFilterGradient(wasm, xNhwc, dyNhwc, info, temp)
      : filterGradientAsConvolution(wasm, xNhwc, dyNhwc, info, temp);
  });
}

/** dW = xᵀ·dy for a 1×1 convolution at stride 1, where x's positions line up with dy's. */
function pointwiseFilterGradient(
  wasm: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  temp: (t: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo {
  const positions = info.batchSize * info.outHeight * info.outWidth;
  // BatchMatMul with transposeA leaves XNNPACK for a slow generic loop, so x is transposed explicitly.
  const xTransposed = temp(
    runWasmKernel(wasm, 'Transpose', { x: reshaped(x, [positions, info.inChannels]) }, { perm: [1, 0] }),
  );
  const product = runWasmKernel(
    wasm,
    'BatchMatMul',
    {
      a: reshaped(xTransposed, [1, info.inChannels, positions]),
      b: reshaped(dy, [1, positions, info.outChannels]),
    },
    { transposeA: false, transposeB: false },
  );
  return reshaped(product, info.filterShape);
}

/** The general case: one XNNPACK convolution of x (batch as channels) with dy (as the filter). */
function filterGradientAsConvolution(
  wasm: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  temp: (t: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo {
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const { top, left } = info.padInfo;
  // Rows/columns of padding after the input that the last filter tap reaches. Negative when the forward
  // convolution never read the input's last rows ('valid' with a stride that does not divide evenly);
  // no padding is added then, and the convolution produces extra taps that are cut off below.
  const bottom = filterHeight - 1 + (info.outHeight - 1) * info.strideHeight + 1 - info.inHeight - top;
  const right = filterWidth - 1 + (info.outWidth - 1) * info.strideWidth + 1 - info.inWidth - left;
  const xAsInput = temp(runWasmKernel(wasm, 'Transpose', { x }, { perm: [3, 1, 2, 0] })); // [Cin,H,W,B]
  const dyAsFilter = temp(runWasmKernel(wasm, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] })); // [oH,oW,B,Cout]
  let taps = temp(
    runWasmKernel(
      wasm,
      'Conv2D',
      { x: xAsInput, filter: dyAsFilter },
      {
        strides: 1,
        dilations: [info.strideHeight, info.strideWidth],
        pad: [
          [0, 0],
          [top, Math.max(0, bottom)],
          [left, Math.max(0, right)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
      },
    ),
  ); // [Cin, ≥kH, ≥kW, Cout]
  if (taps.shape[1] !== filterHeight || taps.shape[2] !== filterWidth) {
    taps = temp(
      runWasmKernel(
        wasm,
        'Slice',
        { x: taps },
        { begin: [0, 0, 0, 0], size: [inChannels, filterHeight, filterWidth, outChannels] },
      ),
    );
  }
  return runWasmKernel(wasm, 'Transpose', { x: taps }, { perm: [1, 2, 0, 3] });
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter,
};
