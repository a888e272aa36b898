/**
 * Layer trees for the host without TensorFlow.js in the host: a short-lived trainer process is started
 * with `--describe <model.json>` and answers with the tree. Results are cached per model.json path and
 * its modification time and size, so re-renders cost nothing until the model file changes.
 */
import { promises as fs } from 'node:fs';
import { forkTrainer } from './forkTrainer';
import type { LayerNode } from '../protocol/layerTree';
import { TRAINER_DESCRIBE_ARG } from '../protocol/trainerMessages';
import { isTrainerToHost } from '../protocol/messageGuards';
import { modelJsonFacts } from '../core/model/modelJsonFacts';
import { UserError } from '../core/userError';

export interface ModelDescription {
  layers: LayerNode[];
  inputShape: (number | null)[];
  /** Restricted Mode: read from model.json as text (no shapes, no parameter counts, empty inputShape). */
  restricted?: true;
}

export class ModelDescriber {
  private cache = new Map<string, { key: string; result: Promise<ModelDescription> }>();

  constructor(
    private readonly trainerScript: string,
    private readonly timeoutMs = 60000,
    /**
     * Workspace Trust: models are loaded (TensorFlow.js on the workspace's files, in the trainer process)
     * only while this says yes; otherwise their layer tree is read from model.json as plain JSON.
     */
    private readonly trusted: () => boolean = () => true,
  ) {}

  async describe(modelJsonPath: string): Promise<ModelDescription> {
    if (!this.trusted()) {
      // Read asynchronously with a byte cap, parsed once per version of the file (core/model/modelJsonFacts).
      const facts = await modelJsonFacts(modelJsonPath);
      if (!facts.layers) throw new UserError(facts.error ?? `Cannot read ${modelJsonPath}.`, modelJsonPath);
      return { layers: facts.layers, inputShape: [], restricted: true };
    }
    let key: string;
    try {
      const stat = await fs.stat(modelJsonPath);
      key = `${stat.dev}:${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    } catch {
      throw new Error(`Base model not found: ${modelJsonPath}`);
    }
    const cached = this.cache.get(modelJsonPath);
    if (cached && cached.key === key) return cached.result;
    const result = this.run(modelJsonPath);
    this.cache.set(modelJsonPath, { key, result });
    result.catch(() => this.cache.delete(modelJsonPath));
    return result;
  }

  private run(modelJsonPath: string): Promise<ModelDescription> {
    return new Promise((resolve, reject) => {
      const { child, stderrTail } = forkTrainer(this.trainerScript, [TRAINER_DESCRIBE_ARG, modelJsonPath]);
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`Reading the layers of ${modelJsonPath} took longer than ${this.timeoutMs / 1000} s.`),
        );
      }, this.timeoutMs);
      let settled = false;
      child.on('message', (message: unknown) => {
        if (!isTrainerToHost(message)) return;
        if (message.type === 'layers') {
          settled = true;
          resolve({ layers: message.layers, inputShape: message.inputShape });
        } else if (message.type === 'failed') {
          settled = true;
          reject(new Error(message.error));
        }
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (!settled)
          reject(
            new Error(`The model reader exited (code ${code}) without an answer. ${stderrTail().trim()}`),
          );
      });
    });
  }
}
