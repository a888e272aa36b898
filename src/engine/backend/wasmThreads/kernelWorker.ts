/**
 * One worker thread of the kernel pool (kernelPool.ts): instantiates the kernel modules on the shared
 * heap it is given, says it is ready, then claims and runs items of each task until the pool stops
 * (poolControl.ts). dist/kernelWorker.js beside the bundles, or this file's tsc output (tests).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels } from './kernelInstance';
import type { WorkerStart } from './kernelPool';
import { controlViews, workerLoop } from './poolControl';

const start = workerData as WorkerStart;
const kernels = instantiateKernels(start.modules, start.memory);
parentPort?.postMessage('ready');
workerLoop(controlViews(start.control), kernels);
