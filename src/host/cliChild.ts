/**
 * Work on a run folder that the host hands to the bundled CLI (`dist/cli.js … --json`) in a child process:
 * the model exports (the ONNX conversion loads TensorFlow.js; the TensorFlow.js export copies weight files
 * of up to GiBs) and the metrics export. The extension host's thread never blocks on those files — a slow
 * disk or a hostile run folder costs a child process, with a time limit, not a frozen editor — and a crash
 * of the child is an error message here, never a crash of the host. The CLI answers with one JSON value on
 * stdout, or a one-line error on stderr and a non-zero exit code.
 */
import { forkTrainer } from './forkTrainer';

/** A JSON answer is a few KiB; more than this is not one. */
const MAX_STDOUT_BYTES = 1024 * 1024;

export interface CliJsonRequest<T> {
  /** Path of the bundled CLI (dist/cli.js). */
  cliScript: string;
  args: string[];
  /** What the child does, for messages ("the ONNX export"). */
  what: string;
  /** Checks the answer's shape. */
  isResult: (value: unknown) => value is T;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** The CLI's error line without its `error: ` prefix and the debugging hint. */
export function cliErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('(run with FINETUNE_DEBUG'));
  const error = lines.reverse().find((l) => l.startsWith('error: '));
  return (error ?? lines[0] ?? '').replace(/^error: /, '');
}

const capitalised = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** Runs `dist/cli.js <args>` and resolves with its checked JSON answer (see the file comment). */
export function runCliJson<T>(request: CliJsonRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const { child, stderrTail } = forkTrainer(request.cliScript, request.args, {
      pipeStdout: true,
      env: request.env,
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (stdout.length < MAX_STDOUT_BYTES) stdout += chunk;
    });
    const timeoutMs = request.timeoutMs ?? 120000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`Could not start ${request.what}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          const value: unknown = JSON.parse(stdout);
          if (request.isResult(value)) return resolve(value);
        } catch {
          // reported below
        }
        return reject(
          new Error(`${capitalised(request.what)} answered something unexpected: ${stdout.slice(0, 200)}`),
        );
      }
      if (timedOut)
        return reject(
          new Error(`${capitalised(request.what)} took longer than ${timeoutMs / 1000} s and was stopped.`),
        );
      const message = cliErrorLine(stderrTail());
      reject(
        new Error(
          message || `${capitalised(request.what)} stopped (exit code ${code}, signal ${signal ?? 'none'}).`,
        ),
      );
    });
  });
}
