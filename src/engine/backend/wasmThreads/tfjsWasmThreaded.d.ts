// The part of tfjs-backend-wasm's multi-threaded build that threadedWasm.ts and pthreadWorker.ts use and
// the package ships without types: the pthread worker's code (a string) and the Emscripten module's
// thread bookkeeping.
declare module '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js' {
  export const wasmWorkerContents: string;
}
