/**
 * The script of each pthread worker of tfjs-backend-wasm's multi-threaded build under Node
 * (threadedWasm.ts): dist/wasmPthreadWorker.js beside the bundled trainer, CLI or bench, or this file's tsc
 * output beside threadedWasm.js (tests). Node's worker_threads need a file, where the package hands its
 * browser workers a Blob URL of the same code; the code itself is the package's own (Emscripten's
 * worker.js, shipped as a string), run with this module's `require` and file name, which is what it
 * expects to find in a Node worker.
 */
import { wasmWorkerContents } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';

// The string was written for a Blob: its "\n" escapes arrive as real line breaks (the package escapes them
// back before making its Blob, as this does).
const source = wasmWorkerContents.replace(/\n/g, '\\n');
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the package's own worker code, not input
new Function('require', '__filename', source)(require, __filename);
