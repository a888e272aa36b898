/**
 * Worker-thread entry: decodes image files with sharp (decodeImages, the same code as the in-memory path,
 * so both give the same pixels) and sends the floats (or the 8-bit values) back as a transferred buffer. Built to
 * dist/decodeWorker.js next to the trainer bundle; the tsc output has it next to workerDecoder.js.
 * Protocol: DecodeRequest in, DecodeReply out, matched by id; requests may overlap.
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage, isUserError } from '../../core/userError';
import {
  decodeImageBytes,
  decodeImages,
  type DecodeOptions,
  type DecodedImageBytes,
  type DecodedImages,
} from './decodeImages';
import type { ImageRef } from '../../core/data/scanDataset';

export interface DecodeRequest {
  id: number;
  refs: ImageRef[];
  options: DecodeOptions;
  /** An earlier reply's buffer, handed back to be written again (see WorkerDecoder.recycle). */
  reuse?: ArrayBuffer;
  /** The 8-bit values (decodeImageBytes) instead of floats: 3 channels only. */
  bytes?: boolean;
}

export type DecodeReply =
  | ({ id: number } & (DecodedImages | DecodedImageBytes))
  | { id: number; error: { message: string; file?: string; user: boolean } };

const port = parentPort;
if (port) {
  // Requests are decoded one after another, in the order they came (each with its own concurrency):
  // interleaved, the first chunk a caller waits for would arrive only with the ones queued behind it.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (request: DecodeRequest) => {
    queue = queue.then(() => answer(request));
  });
}

function answer(request: DecodeRequest): Promise<void> {
  const decoding: Promise<DecodedImages | DecodedImageBytes> = request.bytes
    ? decodeImageBytes(request.refs, request.options, request.reuse)
    : decodeImages(request.refs, request.options, undefined, request.reuse);
  return decoding.then(
    (result) => {
      const reply: DecodeReply = { id: request.id, ...result };
      port!.postMessage(reply, [result.data.buffer as ArrayBuffer]);
    },
    (error: unknown) => {
      const reply: DecodeReply = {
        id: request.id,
        error: {
          message: errorMessage(error),
          user: isUserError(error),
          ...(isUserError(error) && error.file ? { file: error.file } : {}),
        },
      };
      port!.postMessage(reply);
    },
  );
}
