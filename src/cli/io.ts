/**
 * Where the CLI writes. Commands never touch process.stdout directly, so tests run `main()` in-process
 * with a sink that collects the text, and `--json` can guarantee that stdout holds nothing but JSON.
 */
import * as util from 'node:util';
import { terminalSafe } from '../core/portable/terminalText';

export interface CliIO {
  /** Standard output; the text carries its own newlines. */
  out(text: string): void;
  /** Standard error: diagnostics, and notices that must not mix with `--json` output. */
  err(text: string): void;
  /** The interactive terminal to draw progress bars on; absent when stdout is a pipe or a file. */
  terminal?: NodeJS.WriteStream;
  /** Folder that relative paths and the default runs folder are resolved against. */
  cwd: string;
  env: Record<string, string | undefined>;
}

export function processIO(): CliIO {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    terminal: process.stdout.isTTY ? process.stdout : undefined,
    cwd: process.cwd(),
    env: process.env,
  };
}

/**
 * Sends console.log/info/debug to stderr until the returned function is called. Libraries (TensorFlow.js
 * among them) print advice with console.log; under `--json` that would corrupt the one-event-per-line stream.
 */
export function routeConsoleToStderr(io: CliIO): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const toStderr = (...args: unknown[]): void => io.err(util.format(...args) + '\n');
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  return () => {
    console.log = saved.log;
    console.info = saved.info;
    console.debug = saved.debug;
  };
}

/**
 * The same sink with every terminal control character in the text made visible (core/portable/
 * terminalText.ts): a run named with escape sequences cannot clear the screen, retitle the window or
 * write the clipboard through `finetune runs`. The progress bar draws on `terminal` itself, with text we
 * compose.
 */
export function terminalSafeIO(io: CliIO): CliIO {
  return { ...io, out: (text) => io.out(terminalSafe(text)), err: (text) => io.err(terminalSafe(text)) };
}
