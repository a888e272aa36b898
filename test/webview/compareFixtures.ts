/**
 * Run folders for the compare tests and the benchmark (scripts/bench/compareBench.mjs): run.json with a
 * full config snapshot and metrics.jsonl with curves shaped like real fine-tuning (loss falling, val_loss
 * turning up once the run overfits), written the way the trainer writes them. Deterministic.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULTS, type ExperimentConfig } from '../../src/protocol/experimentConfig';
import type { EpochMetrics, RunRecord, RunStatus } from '../../src/protocol/runRecord';

export interface FixtureRunSpec {
  id: string;
  name?: string;
  status?: RunStatus;
  epochs: number;
  epochsPlanned?: number;
  /** Changes to the default config (deep-merged one level). */
  config?: Partial<Omit<ExperimentConfig, 'training' | 'head' | 'regularization'>> & {
    training?: Partial<ExperimentConfig['training']>;
    head?: Partial<ExperimentConfig['head']>;
    regularization?: Partial<ExperimentConfig['regularization']>;
  };
  /** How early val_loss turns up (smaller: overfits sooner). */
  overfitAt?: number;
  /** Leave these fields out of every metrics line (an older or partial writer). */
  omit?: (keyof EpochMetrics)[];
  /** Append a torn last line, as a killed trainer leaves. */
  tornLine?: boolean;
  /** No run.json at all (unreadable run with metrics). */
  noRecord?: boolean;
  /** Extra run.json fields (displayName, note…). */
  record?: Record<string, unknown>;
  startedAt?: string;
}

export function fixtureConfig(workspace: string, spec: FixtureRunSpec['config'] = {}): ExperimentConfig {
  return {
    name: 'digits',
    baseModel: path.join(workspace, 'models/base/model.json'),
    dataset: { path: path.join(workspace, 'data/target'), imageSize: [32, 32], ...DEFAULTS.dataset },
    freezeUpTo: 'features/pool2',
    layers: {},
    ...spec,
    head: { ...DEFAULTS.head, hiddenUnits: [64], dropout: 0.3, ...spec.head },
    regularization: { ...DEFAULTS.regularization, ...spec.regularization },
    augmentation: { ...DEFAULTS.augmentation, ...spec.augmentation },
    training: {
      ...DEFAULTS.training,
      earlyStopping: { ...DEFAULTS.training.earlyStopping },
      ...spec.training,
    },
  } as ExperimentConfig;
}

/** Curves of a run: deterministic in (index, epoch). */
export function fixtureMetrics(
  epochs: number,
  overfitAt: number,
  seed = 1,
  learningRate = 0.001,
): EpochMetrics[] {
  const metrics: EpochMetrics[] = [];
  for (let e = 1; e <= epochs; e++) {
    const wobble = Math.sin(e * 1.7 + seed) * 0.01;
    const loss = 1.6 * Math.exp(-e / (overfitAt * 0.8)) + 0.05 + wobble;
    const valLoss = 1.5 * Math.exp(-e / overfitAt) + 0.25 + Math.max(0, e - overfitAt) * 0.01 + wobble * 2;
    const accuracy = Math.min(0.999, 1 - loss / 2.2);
    const valAccuracy = Math.min(0.99, 1 - valLoss / 2.6 - seed * 0.002);
    metrics.push({
      epoch: e,
      loss,
      accuracy,
      val_loss: valLoss,
      val_accuracy: valAccuracy,
      lr: learningRate * Math.pow(0.97, e - 1),
      lr_base: learningRate * 0.1 * Math.pow(0.97, e - 1),
      time_s: 2 + (seed % 3) * 0.5 + Math.cos(e) * 0.1,
      gap: valLoss - loss,
      overfitting: e > overfitAt + 3,
    });
  }
  return metrics;
}

/** Writes one run folder under `runsDir`; returns its path. */
export function writeFixtureRun(runsDir: string, spec: FixtureRunSpec, index = 0): string {
  const dir = path.join(runsDir, spec.id);
  fs.mkdirSync(dir, { recursive: true });
  const workspace = path.dirname(path.dirname(runsDir));
  const config = fixtureConfig(workspace, spec.config);
  const metrics = fixtureMetrics(spec.epochs, spec.overfitAt ?? 8, index + 1, config.training.learningRate);
  const monitor = config.training.earlyStopping ? config.training.earlyStopping.monitor : 'val_loss';
  let best: EpochMetrics | undefined;
  for (const m of metrics) {
    const better =
      !best ||
      (monitor === 'val_accuracy' || monitor === 'accuracy'
        ? m[monitor] > best[monitor]
        : m[monitor] < best[monitor]);
    if (better) best = m;
  }
  const started = spec.startedAt ?? new Date(Date.UTC(2025, 0, 1, 10, 0, index)).toISOString();
  const elapsed = metrics.reduce((s, m) => s + m.time_s, 0);
  const status = spec.status ?? 'completed';
  if (!spec.noRecord) {
    const record: RunRecord & Record<string, unknown> = {
      id: spec.id,
      name: spec.name ?? config.name,
      status,
      experimentPath: path.join(workspace, `${config.name}.finetune.json`),
      config,
      backend: 'wasm',
      requestedBackend: 'auto',
      datasetFingerprint: 'sha256:0f3a',
      classNames: ['0', '1', '2'],
      counts: { train: 240, val: 60, skipped: 0 },
      epochsPlanned: spec.epochsPlanned ?? Math.max(spec.epochs, config.training.epochs),
      epochsCompleted: spec.epochs,
      startedAt: started,
      ...(status === 'running'
        ? {}
        : { endedAt: new Date(Date.parse(started) + elapsed * 1000).toISOString() }),
      ...(best ? { bestEpoch: best.epoch, best } : {}),
      // A running fixture must stay "running" when read back: use this process's pid and host.
      pid: status === 'running' ? process.pid : 999999,
      hostname: status === 'running' ? os.hostname() : 'fixture-host',
      warnings: [],
      ...spec.record,
    };
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record, null, 2));
  }
  const omit = new Set(spec.omit ?? []);
  const lines = metrics.map((m) =>
    JSON.stringify(Object.fromEntries(Object.entries(m).filter(([k]) => !omit.has(k as keyof EpochMetrics)))),
  );
  fs.writeFileSync(
    path.join(dir, 'metrics.jsonl'),
    lines.join('\n') + (lines.length > 0 ? '\n' : '') + (spec.tornLine ? '{"epoch": 99, "loss": 0.' : ''),
  );
  return dir;
}

/** `count` runs of `epochs` epochs each, with varied parameters (the benchmark's 50 × 500). */
export function writeManyRuns(runsDir: string, count: number, epochs: number): string[] {
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    dirs.push(
      writeFixtureRun(
        runsDir,
        {
          id: `2025010${1 + (i % 9)}-1000${String(i).padStart(2, '0')}-bench-${i}`,
          name: `bench ${i}`,
          epochs,
          overfitAt: 20 + (i % 7) * 15,
          config: {
            freezeUpTo: i % 3 === 0 ? 'features/pool2' : i % 3 === 1 ? 'features/pool1' : 'features/conv1',
            training: { ...DEFAULTS.training, epochs, learningRate: [0.01, 0.003, 0.001, 0.0003][i % 4] },
            head: { dropout: [0, 0.25, 0.5][i % 3] },
            regularization: { l2: i % 2 === 0 ? 0 : 0.0001 },
          },
        },
        i,
      ),
    );
  }
  return dirs;
}
