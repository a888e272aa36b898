/**
 * One HTTP(S) GET with the guards a download in an editor needs: redirects followed (at most
 * `maxRedirects`, http/https only), an idle timeout (no bytes for `timeoutMs` → error), cancellation by
 * AbortSignal, non-2xx answers as errors, and a body shorter than its Content-Length reported as a
 * truncated download instead of being taken for the whole file. Node's http/https only: no dependency,
 * and the proxy-free path is what VS Code's remote hosts have too.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface FetchOptions {
  /** No response or no data for this long → the request fails (default 30 s). */
  timeoutMs?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Each chunk as it arrives, with the running count and the announced total (if any). */
  onData?: (chunk: Buffer, received: number, total: number | undefined) => void;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly url: string,
    readonly kind: 'http' | 'network' | 'timeout' | 'truncated' | 'cancelled' | 'redirect',
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface FetchResult {
  /** The URL that answered, after redirects. */
  url: string;
  received: number;
  total?: number;
}

/** GETs `url`, handing every chunk to `onData`; resolves once the whole body has arrived. */
export function fetchStream(url: string, options: FetchOptions = {}): Promise<FetchResult> {
  return get(url, options, options.maxRedirects ?? 5);
}

/** GETs `url` into memory (for model.json); refuses bodies over `maxBytes`. */
export async function fetchBuffer(
  url: string,
  options: Omit<FetchOptions, 'onData'> & { maxBytes: number },
): Promise<{ url: string; body: Buffer }> {
  const chunks: Buffer[] = [];
  const result = await fetchStream(url, {
    ...options,
    onData: (chunk, received) => {
      if (received > options.maxBytes)
        throw new DownloadError(`${url} is larger than ${options.maxBytes} bytes`, url, 'http');
      chunks.push(chunk);
    },
  });
  return { url: result.url, body: Buffer.concat(chunks) };
}

function get(url: string, options: FetchOptions, redirectsLeft: number): Promise<FetchResult> {
  const timeoutMs = options.timeoutMs ?? 30000;
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return reject(new DownloadError(`not a URL: ${url}`, url, 'http'));
    }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!client) return reject(new DownloadError(`unsupported protocol in ${url}`, url, 'redirect'));
    if (options.signal?.aborted) return reject(new DownloadError('download cancelled', url, 'cancelled'));

    let settled = false;
    const finish = (error?: Error, result?: FetchResult): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(result!);
    };
    const onAbort = (): void => finish(new DownloadError('download cancelled', url, 'cancelled'));

    const request = client.get(parsed, { headers: { 'user-agent': 'fine-tune-studio' } }, (response) => {
      const status = response.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status)) {
        response.resume();
        const location = response.headers.location;
        if (!location)
          return finish(new DownloadError(`${url}: redirect without a Location`, url, 'redirect'));
        if (redirectsLeft <= 0)
          return finish(new DownloadError(`${url}: too many redirects`, url, 'redirect'));
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        get(new URL(location, parsed).toString(), options, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status < 200 || status > 299) {
        response.resume();
        return finish(
          new DownloadError(`${url}: HTTP ${status} ${response.statusMessage ?? ''}`.trim(), url, 'http'),
        );
      }
      const lengthHeader = response.headers['content-length'];
      const total =
        lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        if (settled) return;
        received += chunk.length;
        try {
          options.onData?.(chunk, received, total);
        } catch (error) {
          finish(error as Error);
        }
      });
      response.on('end', () => {
        if (total !== undefined && received < total) {
          finish(
            new DownloadError(
              `${url}: the connection closed after ${received} of ${total} bytes (truncated download)`,
              url,
              'truncated',
            ),
          );
        } else finish(undefined, { url, received, total });
      });
      // A server that drops the connection mid-body: 'aborted' on the response, then an error.
      response.on('aborted', () =>
        finish(
          new DownloadError(
            `${url}: the connection closed after ${received}${total !== undefined ? ` of ${total}` : ''} bytes (truncated download)`,
            url,
            'truncated',
          ),
        ),
      );
      response.on('error', (error) =>
        finish(new DownloadError(`${url}: ${error.message} after ${received} bytes`, url, 'truncated')),
      );
    });
    request.setTimeout(timeoutMs, () =>
      finish(new DownloadError(`${url}: no data for ${timeoutMs / 1000} s (timed out)`, url, 'timeout')),
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish(
        new DownloadError(`${url}: ${error.code ? `${error.code} ` : ''}${error.message}`, url, 'network'),
      ),
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
