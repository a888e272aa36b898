/**
 * Image decoding on a worker thread, for datasets too large to decode up front: the trainer thread keeps
 * computing while sharp decodes the next batches. Also the readability check those datasets need before a
 * run starts (which files decode), done in chunks so memory stays bounded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../core/userError';
import {
  bytesToPixels,
  type DecodeOptions,
  type DecodedImageBytes,
  type DecodedImages,
} from './decodeImages';
import type { DecodeReply, DecodeRequest } from './decodeWorker';
import { rowSize, type RowStore } from './rowStore';
import type { ImageRef } from '../../core/data/scanDataset';

/**
 * The worker script: dist/decodeWorker.js beside the bundled trainer, CLI or bench (__dirname is dist/),
 * or decodeWorker.js beside this file in the tsc output (tests).
 */
export function decodeWorkerScript(): string {
  const script = path.join(__dirname, 'decodeWorker.js');
  if (!fs.existsSync(script)) {
    throw new Error(`The image decoding worker ${script} is missing: run "npm run build".`);
  }
  return script;
}

/** Enough for the requests in flight at once (the activation cache keeps 3, prefetching a few batches). */
const MAX_SPARE_BUFFERS = 4;

interface Pending {
  resolve: (result: DecodedImages | DecodedImageBytes) => void;
  reject: (error: Error) => void;
}

export class WorkerDecoder {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  /**
   * Pixel buffers of earlier replies that their readers are done with, sent back with the next requests.
   * A new array's memory is mapped in page by page on its first write: on the 2-core VM of the bench that
   * cost ~2.9 ms per MiB (about 0.3 ms per decoded 96×96 image, as much as decoding the PNG) against
   * ~0.04 ms per MiB to write the same array again. Streamed epochs decode every batch, so they gain most.
   */
  private readonly spare: ArrayBuffer[] = [];

  constructor(script = decodeWorkerScript()) {
    this.worker = new Worker(script);
    this.worker.on('message', (reply: DecodeReply) => this.settle(reply));
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) =>
      this.failAll(new Error(`the image decoding worker exited (code ${code})`)),
    );
    // Only a worker with requests in flight keeps the process alive (see updateRef).
    this.worker.unref();
  }

  /** Decodes `refs` on the worker; the same result decodeImages would give on this thread. */
  decode(refs: ImageRef[], options: DecodeOptions): Promise<DecodedImages> {
    return this.request(refs, options, false) as Promise<DecodedImages>;
  }

  /**
   * The 8-bit values instead (decodeImageBytes; 3 channels): a quarter of the memory to write and hand
   * over, for a reader that maps them onto pixelRange where it needs the floats (bytesToPixels).
   */
  decodeBytes(refs: ImageRef[], options: DecodeOptions): Promise<DecodedImageBytes> {
    return this.request(refs, options, true) as Promise<DecodedImageBytes>;
  }

  /**
   * The smaller form the worker can give: the 8-bit values for 3 channels (decodeBytes), floats for one
   * (its luma is not a whole number). Readers map bytes with bytesToPixels to the same floats.
   */
  decodeCompact(refs: ImageRef[], options: DecodeOptions): Promise<DecodedImages | DecodedImageBytes> {
    return options.channels === 3 ? this.decodeBytes(refs, options) : this.decode(refs, options);
  }

  private request(
    refs: ImageRef[],
    options: DecodeOptions,
    bytes: boolean,
  ): Promise<DecodedImages | DecodedImageBytes> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const [height, width] = options.imageSize;
    const reuse = this.takeSpare(refs.length * height * width * options.channels * (bytes ? 1 : 4));
    const request: DecodeRequest = {
      id,
      refs,
      options,
      ...(reuse ? { reuse } : {}),
      ...(bytes ? { bytes } : {}),
    };
    return new Promise<DecodedImages | DecodedImageBytes>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage(request, reuse ? [reuse] : []);
    });
  }

  /**
   * Hands a reply's pixels back for a later request to fill: call it only once nothing reads `data` any
   * more — including a tensor made from it (some backends keep the array itself) — since it is detached
   * here on the next request. A few are kept; the rest are left to the garbage collector.
   */
  recycle(data: Float32Array | Uint8Array): void {
    const buffer = data.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0 || this.spare.includes(buffer)) return;
    if (this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buffer);
  }

  /** The smallest spare buffer of at least `bytes`, taken out of the pool. */
  private takeSpare(bytes: number): ArrayBuffer | undefined {
    let best = -1;
    this.spare.forEach((buffer, i) => {
      if (buffer.byteLength >= bytes && (best < 0 || buffer.byteLength < this.spare[best].byteLength))
        best = i;
    });
    return best < 0 ? undefined : this.spare.splice(best, 1)[0];
  }

  async close(): Promise<void> {
    this.failure ??= new Error('the image decoding worker was closed');
    await this.worker.terminate();
  }

  private settle(reply: DecodeReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    this.updateRef();
    if ('error' in reply) {
      const { message, file, user } = reply.error;
      waiting.reject(user ? new UserError(message, file) : new Error(message));
    } else {
      waiting.resolve({ data: reply.data, images: reply.images, skipped: reply.skipped } as
        DecodedImages | DecodedImageBytes);
    }
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(this.failure);
    this.pending.clear();
    this.updateRef();
  }

  /** An unref'd worker with a reply pending would let Node exit under an awaiting run. */
  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }
}

/** Images per request of the readability check: big enough to keep sharp busy, small in memory. */
const CHECK_CHUNK = 128;

/**
 * Which of `refs` decode, found by decoding each once on the worker (the pixels are dropped): a dataset
 * that is streamed must know its images before the run starts, exactly as the in-memory path does.
 */
export async function checkDecodable(
  refs: ImageRef[],
  options: DecodeOptions,
  decoder: WorkerDecoder,
  onProgress?: (done: number, total: number) => void,
): Promise<Pick<DecodedImages, 'images' | 'skipped'>> {
  const images: ImageRef[] = [];
  const skipped: DecodedImages['skipped'] = [];
  // The pixels are dropped, so the compact form will do (decodeCompact: a quarter of the memory).
  // Two chunks in flight: the worker decodes one while this thread collects the other.
  const chunks: ImageRef[][] = [];
  for (let i = 0; i < refs.length; i += CHECK_CHUNK) chunks.push(refs.slice(i, i + CHECK_CHUNK));
  let inFlight: Promise<DecodedImages | DecodedImageBytes> | undefined =
    chunks.length > 0 ? decoder.decodeCompact(chunks[0], options) : undefined;
  let done = 0;
  for (let c = 0; c < chunks.length; c++) {
    const current = inFlight!;
    inFlight = c + 1 < chunks.length ? decoder.decodeCompact(chunks[c + 1], options) : undefined;
    try {
      const result = await current;
      images.push(...result.images);
      skipped.push(...result.skipped);
      decoder.recycle(result.data);
    } catch (error) {
      inFlight?.catch(() => undefined);
      throw error;
    }
    done += chunks[c].length;
    onProgress?.(done, refs.length);
  }
  return { images, skipped };
}

/**
 * Rows decoded on demand by the worker: row i is the image `refs[i]`. Every ref must be known to decode
 * (checkDecodable); one that no longer does — changed on disk during the run — fails the read, naming it.
 */
export function streamingImageRows(
  refs: ImageRef[],
  options: DecodeOptions,
  decoder: WorkerDecoder,
): RowStore {
  const [height, width] = options.imageSize;
  const rowShape = [height, width, options.channels];
  const size = rowSize(rowShape);
  return {
    rowShape,
    async read(indices, out) {
      const wanted = Array.from(indices, (k) => refs[k]);
      // 3 channels come as 8-bit values (a quarter of the worker's writes), mapped onto pixelRange here,
      // straight into `out`, by the decoder's own mapping: the same floats.
      const result = await decoder.decodeCompact(wanted, options);
      if (result.skipped.length > 0) {
        const { file, reason } = result.skipped[0];
        throw new UserError(
          `Image ${file} could be decoded when the run started but not any more (${reason}). Was it changed during the run? Restore it and start again.`,
        );
      }
      const values = result.data.subarray(0, wanted.length * size);
      if (values instanceof Uint8Array) bytesToPixels(values, options.pixelRange, out);
      else out.set(values);
      decoder.recycle(result.data);
    },
  };
}
