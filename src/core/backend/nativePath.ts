/**
 * Where the native TensorFlow backends (@tensorflow/tfjs-node, -gpu) are found when they are not in this
 * package's node_modules: the extension installs them on demand into its global storage (or the user
 * points `fineTune.nativeBackendPath` at an installation) and passes the folders to the trainer in
 * FINETUNE_NATIVE_PATH (separated like PATH). No TensorFlow.js import: the extension host uses the name.
 */
import * as path from 'node:path';
import { errorMessage } from '../userError';

export const NATIVE_PATH_ENV = 'FINETUNE_NATIVE_PATH';

/** The package's entry file: from the FINETUNE_NATIVE_PATH folders first, then node_modules. */
export function resolveNative(pkg: string, env: NodeJS.ProcessEnv = process.env): string {
  const folders = (env[NATIVE_PATH_ENV] ?? '').split(path.delimiter).filter(Boolean);
  if (folders.length > 0) {
    try {
      return require.resolve(pkg, { paths: folders });
    } catch {
      // not installed there: fall back to this package's own node_modules
    }
  }
  try {
    return require.resolve(pkg);
  } catch (error) {
    throw new Error(
      folders.length > 0
        ? `${pkg} is neither in ${NATIVE_PATH_ENV}=${folders.join(path.delimiter)} nor in node_modules`
        : errorMessage(error),
    );
  }
}
