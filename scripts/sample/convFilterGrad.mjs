/**
 * A Conv2DBackpropFilter kernel — the weight gradient of a 2-D convolution — for the tfjs `wasm` and `cpu`
 * backends. Installing it is what makes training convolutions fast enough here:
 *
 * - tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel at all, so without this any trainable
 *   Conv2D fails on wasm ("kernel not registered"), although wasm runs every other op of a training step
 *   10–20× faster than `cpu`.
 * - tfjs-backend-cpu 4.22 has one, but it reads every element through TensorBuffer.get() with a variadic
 *   index: 3–5 s per batch of 32 for the sample's small CNN (pre-training would take hours).
 *
 * Here the gradient is im2col(x)ᵀ · dy: the input patches are laid out in JavaScript, and the product runs
 * in the backend's own BatchMatMul kernel (XNNPACK on wasm). Channels-first (NCHW) is not supported (a
 * clear error; Keras/TF.js models are NHWC). installConvFilterGrad() checks the result against a direct
 * evaluation of the definition on small random cases (strided, padded, valid) before training relies on it.
 */
import * as tf from '@tensorflow/tfjs-core';

const KERNEL = 'Conv2DBackpropFilter';

/**
 * The patches of x that each filter tap sees, as a [K, P] matrix: row k = (wR, wC, d1) of the filter,
 * column p = (b, yR, yC) of the output; zero where the tap falls on padding.
 */
export function im2colTransposed(xv, info) {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const positions = batchSize * outHeight * outWidth;
  const cols = new Float32Array(filterHeight * filterWidth * inChannels * positions);
  for (let wR = 0; wR < filterHeight; wR++) {
    for (let wC = 0; wC < filterWidth; wC++) {
      for (let d1 = 0; d1 < inChannels; d1++) {
        const row = ((wR * filterWidth + wC) * inChannels + d1) * positions;
        let p = 0;
        for (let b = 0; b < batchSize; b++) {
          for (let yR = 0; yR < outHeight; yR++) {
            const xR = yR * strideHeight + wR - top;
            const inside = xR >= 0 && xR < inHeight;
            for (let yC = 0; yC < outWidth; yC++, p++) {
              const xC = yC * strideWidth + wC - left;
              if (inside && xC >= 0 && xC < inWidth) {
                cols[row + p] = xv[((b * inHeight + xR) * inWidth + xC) * inChannels + d1];
              }
            }
          }
        }
      }
    }
  }
  return cols;
}

// How each backend exposes a tensor's values and makes a new tensor from JavaScript values.
const ACCESS = {
  cpu: {
    read: (backend, t) => backend.data.get(t.dataId).values,
    make: (backend, shape, values) => backend.makeTensorInfo(shape, 'float32', values),
  },
  wasm: {
    read: (backend, t) => backend.typedArrayFromHeap(t),
    make: (backend, shape, values) => {
      const out = backend.makeOutput(shape, 'float32');
      backend.typedArrayFromHeap(out).set(values);
      return out;
    },
  },
};

/**
 * dW[wR][wC][d1][d2] = Σ_b,yR,yC x[b][yR·sH+wR−top][yC·sW+wC−left][d1] · dy[b][yR][yC][d2], computed as
 * im2col(x)ᵀ · dy with the backend's own BatchMatMul (XNNPACK on wasm), which is what makes it fast.
 */
function kernelFor(access, backendName) {
  const matMul = tf.getKernel('BatchMatMul', backendName).kernelFunc;
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
    if (tf.backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
      throw new Error(`${KERNEL}: only NHWC (channels-last) data is supported`);
    }
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode);
    const positions = info.batchSize * info.outHeight * info.outWidth;
    const taps = info.filterHeight * info.filterWidth * info.inChannels;
    const cols = access.make(backend, [1, taps, positions], im2colTransposed(access.read(backend, x), info));
    // dy's data already is the [positions, outChannels] matrix; BatchMatMul reshapes (shares) it itself.
    const dyMatrix = { dataId: dy.dataId, shape: [1, positions, info.outChannels], dtype: 'float32' };
    const out = matMul({
      inputs: { a: cols, b: dyMatrix },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    backend.disposeData(cols.dataId);
    return { dataId: out.dataId, shape: info.filterShape, dtype: 'float32' };
  };
}

/** The definition, evaluated element by element: the reference for the self-check. */
function referenceFilterGrad(x, dy, info) {
  const out = new Float32Array(info.filterHeight * info.filterWidth * info.inChannels * info.outChannels);
  const at = (v, shape, i0, i1, i2, i3) => v[((i0 * shape[1] + i1) * shape[2] + i2) * shape[3] + i3];
  const xShape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  let o = 0;
  for (let wR = 0; wR < info.filterHeight; wR++)
    for (let wC = 0; wC < info.filterWidth; wC++)
      for (let d1 = 0; d1 < info.inChannels; d1++)
        for (let d2 = 0; d2 < info.outChannels; d2++, o++)
          for (let b = 0; b < info.batchSize; b++)
            for (let yR = 0; yR < info.outHeight; yR++)
              for (let yC = 0; yC < info.outWidth; yC++) {
                const xR = yR * info.strideHeight + wR - info.padInfo.top;
                const xC = yC * info.strideWidth + wC - info.padInfo.left;
                if (xR < 0 || xR >= info.inHeight || xC < 0 || xC >= info.inWidth) continue;
                out[o] += at(x, xShape, b, xR, xC, d1) * at(dy, dyShape, b, yR, yC, d2);
              }
  return out;
}

function selfCheck() {
  const cases = [
    { x: [2, 7, 6, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { x: [2, 9, 8, 2], f: [3, 2, 2, 5], strides: 2, pad: 'valid' },
    { x: [1, 8, 8, 4], f: [5, 5, 4, 3], strides: [2, 1], pad: 'same' },
  ];
  for (const c of cases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad);
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 7);
    const dy = tf.randomNormal([c.x[0], info.outHeight, info.outWidth, c.f[3]], 0, 1, 'float32', 8);
    const actual = tf
      .engine()
      .runKernel(KERNEL, { x, dy }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f });
    const expected = referenceFilterGrad(x.dataSync(), dy.dataSync(), info);
    const got = actual.dataSync();
    const maxError = expected.reduce((m, e, i) => Math.max(m, Math.abs(e - got[i])), 0);
    tf.dispose([x, dy, actual]);
    if (!(maxError < 1e-4))
      throw new Error(`${KERNEL} self-check failed (max error ${maxError}) for ${JSON.stringify(c)}`);
  }
}

/** Registers the kernel for the active backend (`wasm` or `cpu`) and verifies it. */
export function installConvFilterGrad() {
  const backendName = tf.getBackend();
  const access = ACCESS[backendName];
  if (access == null) throw new Error(`installConvFilterGrad: unsupported backend ${backendName}`);
  if (tf.getKernel(KERNEL, backendName) != null) tf.unregisterKernel(KERNEL, backendName);
  tf.registerKernel({ kernelName: KERNEL, backendName, kernelFunc: kernelFor(access, backendName) });
  selfCheck();
}
