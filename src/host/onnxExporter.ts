/**
 * ONNX export for the host without TensorFlow.js in the host: the bundled CLI (`dist/cli.js export <run>
 * <folder> --format onnx --json`) runs in a child process, loads the model there and answers with one JSON
 * object on stdout — or a one-line error on stderr and a non-zero exit code. A crash of the child is an
 * error message here, never a crash of the extension host.
 */
import { forkTrainer } from './forkTrainer';

export interface OnnxExportResult {
  outDir: string;
  files: string[];
  onnxBytes: number;
  weightBytes: number;
  /** Where the replaced export was moved (the caller moves it to the trash). */
  replacedTo?: string;
}

export interface OnnxExportRequest {
  /** Path of the bundled CLI (dist/cli.js). */
  cliScript: string;
  runDir: string;
  target: string;
  overwrite: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

function isResult(value: unknown): value is OnnxExportResult {
  const v = value as Partial<OnnxExportResult> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.outDir === 'string' &&
    Array.isArray(v.files) &&
    v.files.every((f) => typeof f === 'string') &&
    typeof v.onnxBytes === 'number' &&
    typeof v.weightBytes === 'number' &&
    (v.replacedTo === undefined || typeof v.replacedTo === 'string')
  );
}

/** The CLI's error line without its `error: ` prefix and the debugging hint. */
function errorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('(run with FINETUNE_DEBUG'));
  const error = lines.reverse().find((l) => l.startsWith('error: '));
  return (error ?? lines[0] ?? '').replace(/^error: /, '');
}

export function exportOnnxInChild(request: OnnxExportRequest): Promise<OnnxExportResult> {
  const args = ['export', request.runDir, request.target, '--format', 'onnx', '--json'];
  // A replaced export is moved aside, not deleted: the host moves it to the trash.
  if (request.overwrite) args.push('--force', '--keep-replaced');
  return new Promise((resolve, reject) => {
    const { child, stderrTail } = forkTrainer(request.cliScript, args, {
      pipeStdout: true,
      env: request.env,
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => (stdout += chunk));
    const timeoutMs = request.timeoutMs ?? 120000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`Could not start the ONNX export: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          const value: unknown = JSON.parse(stdout);
          if (isResult(value)) return resolve(value);
        } catch {
          // reported below
        }
        return reject(new Error(`The ONNX export answered something unexpected: ${stdout.slice(0, 200)}`));
      }
      if (timedOut)
        return reject(new Error(`The ONNX export took longer than ${timeoutMs / 1000} s and was stopped.`));
      const message = errorLine(stderrTail());
      reject(
        new Error(message || `The ONNX export stopped (exit code ${code}, signal ${signal ?? 'none'}).`),
      );
    });
  });
}
