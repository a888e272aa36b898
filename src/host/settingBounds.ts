/**
 * The trainer's memory settings as the host passes them on, bounded. A workspace's .vscode/settings.json
 * is the repository's say: `fineTune.memoryBudgetMiB: 1e9` would make a trusted workspace's trainer hold
 * every decoded image in memory until the machine swaps, and `fineTune.trainerMemoryMB` far above the
 * machine's memory lifts the very limit that setting exists for. So both are capped by the protocol's
 * maximum and by this machine's memory (the budget at half of it). No vscode import: unit-tested in Node.
 */
import * as os from 'node:os';
import {
  MAX_MEMORY_BUDGET_MIB,
  MAX_TRAINER_MEMORY_MB,
  pipelineSettings,
  type PipelineSettings,
} from '../protocol/trainerMessages';

type Settings = { get<T>(key: string): T | undefined };

const MiB = 1024 * 1024;

/** pipelineSettings with memoryBudgetMiB at most half of this machine's memory. */
export function boundedPipelineSettings(
  settings: Settings,
  totalMemoryBytes = os.totalmem(),
): PipelineSettings {
  const pipeline = pipelineSettings(settings);
  if (pipeline.memoryBudgetMiB !== undefined) {
    const half = Math.max(16, Math.floor(totalMemoryBytes / MiB / 2));
    pipeline.memoryBudgetMiB = Math.min(pipeline.memoryBudgetMiB, half, MAX_MEMORY_BUDGET_MIB);
  }
  return pipeline;
}

/** fineTune.trainerMemoryMB as a heap limit: 0 (Node's default) unless a positive number, at most this machine's memory. */
export function boundedTrainerMemoryMB(settings: Settings, totalMemoryBytes = os.totalmem()): number {
  const value = settings.get<number>('trainerMemoryMB');
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 0;
  return Math.round(Math.min(value, Math.floor(totalMemoryBytes / MiB), MAX_TRAINER_MEMORY_MB));
}
