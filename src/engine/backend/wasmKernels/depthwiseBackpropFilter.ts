/**
 * DepthwiseConv2dNativeBackpropFilter — the weight gradient of a depthwise convolution — for the wasm
 * backend, which (in tfjs-backend-wasm 4.22) has none.
 *
 *   dW[r][s][c][q] = Σ_b,i,j x[b][i·sH + r·dH − top][j·sW + s·dW − left][c] · dy[b][i][j][c·m + q]
 *
 * (m: channel multiplier). Hand-written loops over the wasm heap, because no composition of the backend's
 * kernels was faster: each output is a long dot product of one channel of x with one channel of dy, and
 * XNNPACK has no primitive for that. Measured per call at 96×96, batch 32 (2-core machine, wasm with
 * SIMD, one thread), the alternatives were slower: a depthwise convolution of x with dy as a 48×48 filter
 * (XNNPACK's generic large-kernel path) 1.25–1.8×, straightforward loops 1.5–2.8×, a strided slice ×
 * multiply × sum per filter tap 10–50×.
 *
 * With a channel multiplier of 1 and channels in fours (MobileNet), the same loops run in WebAssembly SIMD
 * (simdKernels.wat, ~3× faster); the JavaScript loops below take every other case.
 *
 * What makes the loops fast: for one filter tap and one output row, x and dy advance together through
 * memory, so the innermost loop is a running sum over that row; four output channels share each pass (four
 * independent accumulators), and each row's partial sums are added into float64 totals.
 */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseFilterGradSimd, simdChannelsOk } from '../fusedOps/simdKernels';
import { depthwiseFilterGradOnHeap } from '../wasmThreads/heapKernels';
import { assertFloat32, type BackendWasm, type KernelArgs } from './wasmKernelCalls';

function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const wasm = backend as BackendWasm;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  assertFloat32(tf.DepthwiseConv2dNativeBackpropFilter, { x, dy });
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const heap = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t) as Float32Array;
  const simd = info.outChannels === info.inChannels && simdChannelsOk(info.inChannels);
  if (simd) {
    // On the thread pool when there is one, straight into the output tensor.
    const out = wasm.makeOutput(info.filterShape, 'float32');
    if (depthwiseFilterGradOnHeap(heap(x), heap(dy), heap(out), info)) return out;
    wasm.disposeData(out.dataId);
  }
  // MobileNet's case (multiplier 1, channels in fours) in WebAssembly SIMD; every other in the loops below.
  const gradient = simd
    ? depthwiseFilterGradSimd(heap(x), heap(dy), info)
    : filterGradient(heap(x), heap(dy), info);
  // Allocating may grow the wasm heap, which detaches the views above: they are not used after this.
  return wasm.makeOutput(info.filterShape, 'float32', undefined, gradient);
}

/** The gradient from x and dy as flat NHWC arrays. */
function filterGradient(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const multiplier = outChannels / inChannels;
  const xColumnStep = strideWidth * inChannels;
  const blockEnd = outChannels - (outChannels % 4);
  const out = new Float32Array(filterHeight * filterWidth * outChannels);
  const total = new Float64Array(outChannels);
  // x's channel for each output channel k = c·m + q is c.
  const xChannel = Int32Array.from({ length: outChannels }, (_, k) => Math.floor(k / multiplier));

  for (let r = 0; r < filterHeight; r++) {
    // Output rows whose tap r lands inside the input (not on padding).
    const rowOffset = r * dilationHeight - top;
    const iMin = Math.max(0, Math.ceil(-rowOffset / strideHeight));
    const iEnd = Math.min(outHeight, Math.floor((inHeight - 1 - rowOffset) / strideHeight) + 1);
    for (let s = 0; s < filterWidth; s++) {
      const colOffset = s * dilationWidth - left;
      const jMin = Math.max(0, Math.ceil(-colOffset / strideWidth));
      const jEnd = Math.min(outWidth, Math.floor((inWidth - 1 - colOffset) / strideWidth) + 1);
      const n = jEnd - jMin;
      total.fill(0);
      for (let b = 0; n > 0 && b < batchSize; b++) {
        for (let i = iMin; i < iEnd; i++) {
          const xRow = i * strideHeight + rowOffset;
          const dyStart = ((b * outHeight + i) * outWidth + jMin) * outChannels;
          const xStart = ((b * inHeight + xRow) * inWidth + jMin * strideWidth + colOffset) * inChannels;
          let k = 0;
          for (; k < blockEnd; k += 4) {
            const x0 = xStart + xChannel[k];
            const x1 = xStart + xChannel[k + 1];
            const x2 = xStart + xChannel[k + 2];
            const x3 = xStart + xChannel[k + 3];
            let s0 = 0;
            let s1 = 0;
            let s2 = 0;
            let s3 = 0;
            for (let t = 0, xo = 0, d = dyStart + k; t < n; t++, xo += xColumnStep, d += outChannels) {
              s0 += x[x0 + xo] * dy[d];
              s1 += x[x1 + xo] * dy[d + 1];
              s2 += x[x2 + xo] * dy[d + 2];
              s3 += x[x3 + xo] * dy[d + 3];
            }
            total[k] += s0;
            total[k + 1] += s1;
            total[k + 2] += s2;
            total[k + 3] += s3;
          }
          for (; k < outChannels; k++) {
            const x0 = xStart + xChannel[k];
            let sum = 0;
            for (let t = 0, xo = 0, d = dyStart + k; t < n; t++, xo += xColumnStep, d += outChannels) {
              sum += x[x0 + xo] * dy[d];
            }
            total[k] += sum;
          }
        }
      }
      out.set(total, (r * filterWidth + s) * outChannels);
    }
  }
  return out;
}

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter,
};
