/**
 * Layer trees for the host without TensorFlow.js in the host: a short-lived trainer process is started
 * with `--describe <model.json>` and answers with the tree. Results are cached per model.json path and
 * its modification time and size, so re-renders cost nothing until the model file changes.
 */
import { forkTrainer } from './forkTrainer';
import * as fs from 'node:fs';
import type { LayerNode } from '../protocol/layerTree';
import { TRAINER_DESCRIBE_ARG } from '../protocol/trainerMessages';
import { isTrainerToHost } from '../protocol/messageGuards';
import { topologyLayerTree } from '../core/model/topologyLayerTree';

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

  describe(modelJsonPath: string): Promise<ModelDescription> {
    if (!this.trusted()) {
      try {
        return Promise.resolve({
          layers: topologyLayerTree(modelJsonPath),
          inputShape: [],
          restricted: true,
        });
      } catch (error) {
        return Promise.reject(error as Error);
      }
    }
    let key: string;
    try {
      const stat = fs.statSync(modelJsonPath);
      key = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      return Promise.reject(new Error(`Base model not found: ${modelJsonPath}`));
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
