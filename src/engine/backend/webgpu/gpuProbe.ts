/**
 * Entry point of the GPU probe child process (dist/gpuProbe.js; gpuProbe.js beside this file in the tsc
 * output): probes every WebGPU target of the platform and prints the outcomes as one JSON line on stdout.
 * Dawn and the drivers write their diagnostics to stderr, which the parent keeps (probeInChild.ts).
 */
import { PROBE_RESULT_PREFIX, probeAll } from './probeAdapters';

void probeAll().then(
  (outcomes) => {
    process.stdout.write(`${PROBE_RESULT_PREFIX}${JSON.stringify(outcomes)}\n`, () => process.exit(0));
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`, () =>
      process.exit(1),
    );
  },
);
