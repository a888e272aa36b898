/**
 * What the Compare Runs panel shows, built from run folders as read from disk (RunListings) and the base
 * models' layer trees: per-run outcomes and per-epoch series, every parameter with whether it differs,
 * and the freeze-pattern diff (each layer's state in each run). Pure — no vscode, no disk — so it is
 * unit-tested directly and benchmarked outside VS Code.
 */
import type { ExperimentConfig } from '../../protocol/experimentConfig';
import type { LayerNode } from '../../protocol/layerTree';
import type {
  CompareParameter,
  CompareParameterValue,
  ComparePanelState,
  CompareRun,
  CompareSeries,
  FreezeCellState,
  FreezeDiff,
  FreezeDiffRow,
} from '../../protocol/webviewMessages';
import { parameterTable, summarizeRun } from '../../core/runs/compareRuns';
import type { RunListing } from '../../core/runs/readRuns';
import { runDisplayName, runNotesOf } from '../../core/runs/runNotes';
import { currentStates, layerOrder, type LayerOrder } from '../experiments/layerEdits';
import { defaultCutPath } from '../../core/portable/cutPoints';

const finite = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** The metrics of a run column by column, sorted by epoch (a rewritten file may repeat an epoch: last wins). */
export function compareSeries(run: Pick<RunListing, 'metrics'>): CompareSeries {
  const byEpoch = new Map<number, RunListing['metrics'][number]>();
  for (const line of run.metrics) if (Number.isFinite(line.epoch)) byEpoch.set(line.epoch, line);
  const lines = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const series: CompareSeries = {
    epoch: [],
    loss: [],
    accuracy: [],
    val_loss: [],
    val_accuracy: [],
    gap: [],
    lr: [],
    time_s: [],
  };
  for (const line of lines) {
    const loss = finite(line.loss);
    const valLoss = finite(line.val_loss);
    series.epoch.push(line.epoch);
    series.loss.push(loss);
    series.accuracy.push(finite(line.accuracy));
    series.val_loss.push(valLoss);
    series.val_accuracy.push(finite(line.val_accuracy));
    // The trainer records the gap; older or partial lines may not, and it is defined by the two losses.
    series.gap.push(finite(line.gap) ?? (loss !== null && valLoss !== null ? valLoss - loss : null));
    series.lr.push(finite(line.lr));
    series.time_s.push(finite(line.time_s));
  }
  return series;
}

const optional = <K extends string, V>(key: K, value: V | undefined | null): Partial<Record<K, V>> =>
  value === undefined || value === null ? {} : ({ [key]: value } as Record<K, V>);

export function compareRun(run: RunListing, now: number = Date.now()): CompareRun {
  const summary = summarizeRun(run, now);
  const record = run.record;
  const problems = [
    run.unreadable,
    run.skippedMetricLines > 0 ? `${run.skippedMetricLines} unreadable line(s) in metrics.jsonl skipped` : '',
    record?.error ?? '',
  ].filter(Boolean);
  return {
    dir: run.dir,
    runId: run.id,
    name: runDisplayName(run),
    ...optional('note', runNotesOf(record).note),
    status: run.effectiveStatus,
    ...optional('backend', typeof record?.backend === 'string' ? record.backend : undefined),
    ...optional('startedAt', typeof record?.startedAt === 'string' ? record.startedAt : undefined),
    epochsCompleted: summary.epochsCompleted,
    ...optional('epochsPlanned', finite(record?.epochsPlanned)),
    ...optional('bestEpoch', summary.best?.epoch),
    ...optional('bestValAccuracy', finite(summary.best?.val_accuracy)),
    ...optional('bestValLoss', finite(summary.best?.val_loss)),
    ...optional('finalGap', finite(summary.finalGap)),
    ...optional('epochsSinceBest', summary.epochsSinceBest),
    ...optional('durationS', finite(summary.durationS)),
    ...optional('problem', problems.length > 0 ? problems.join('; ') : undefined),
    series: compareSeries(run),
  };
}

const asValue = (value: unknown): CompareParameterValue =>
  value === undefined || value === null
    ? null
    : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? value
      : JSON.stringify(value);

/**
 * Every config parameter with its value in each run, then the dataset fingerprint: the same config on
 * a dataset whose files changed is not the same experiment.
 */
export function compareParameters(runs: readonly RunListing[]): CompareParameter[] {
  const rows: CompareParameter[] = parameterTable(runs.map((run) => run.record?.config)).map((row) => ({
    key: row.key,
    values: row.values.map(asValue),
    differs: row.differs,
  }));
  const fingerprints = runs.map((run) =>
    typeof run.record?.datasetFingerprint === 'string' ? run.record.datasetFingerprint : null,
  );
  const known = fingerprints.filter((f) => f !== null);
  if (known.length > 0)
    rows.push({ key: 'datasetFingerprint', values: fingerprints, differs: new Set(known).size > 1 });
  return rows;
}

// ───────────────────────── Freeze-pattern diff ─────────────────────────

/**
 * Leaf paths of several models merged into one order: a layer the earlier models lack goes just before
 * the next layer they share (at the end when there is none), so shared layers keep their order.
 */
export function mergeLayerOrders(orders: readonly string[][]): string[] {
  const merged: string[] = [];
  for (const order of orders) {
    const known = new Set(merged);
    order.forEach((leaf, i) => {
      if (known.has(leaf)) return;
      const next = order.slice(i + 1).find((later) => known.has(later));
      merged.splice(next === undefined ? merged.length : merged.indexOf(next), 0, leaf);
    });
  }
  return merged;
}

/** Each leaf's state in one run, `after-cut` for layers the new head replaces; unknown names are ignored. */
function statesFromModel(config: ExperimentConfig, tree: LayerNode[], order: LayerOrder) {
  const states = new Map<string, FreezeCellState>(
    currentStates({ freezeUpTo: config.freezeUpTo, layers: config.layers ?? {} }, order),
  );
  const cutAt = config.head?.cutAt ?? defaultCutPath(tree);
  let cutLeaf: string | undefined;
  if (cutAt !== undefined) {
    // A cut at a nested model keeps all of it: the cut is after its last leaf.
    let last = -1;
    order.leaves.forEach((leaf, i) => {
      if (leaf.path === cutAt || leaf.parents.includes(cutAt)) last = i;
    });
    if (last >= 0) {
      cutLeaf = order.leaves[last].path;
      for (const leaf of order.leaves.slice(last + 1)) states.set(leaf.path, 'after-cut');
    }
  }
  return { states, cutLeaf };
}

/** Without the model only the named layers are known: freezeUpTo's layer is frozen, `layers` entries as given. */
function statesFromConfig(config: ExperimentConfig) {
  const states = new Map<string, FreezeCellState>();
  if (config.freezeUpTo) states.set(config.freezeUpTo, 'frozen');
  for (const [name, state] of Object.entries(config.layers ?? {})) states.set(name, state);
  return { states, cutLeaf: config.head?.cutAt };
}

export interface FreezeInput {
  /** Shown in notes. */
  name: string;
  config?: ExperimentConfig;
  /** The run's base model; undefined when it could not be read. */
  tree?: LayerNode[];
}

/**
 * The state of every layer in every run. Rows follow the base models' layer order (merged when runs use
 * different models), then layers only a config names (from runs whose model could not be read). Names a
 * config gives that its model lacks (the model changed since the run) are ignored and noted.
 */
export function freezePatternDiff(runs: readonly FreezeInput[], notes: string[] = []): FreezeDiff {
  const orders = runs.map((run) => (run.tree ? layerOrder(run.tree) : undefined));
  const perRun = runs.map(({ name, config, tree }, i) => {
    if (!config) return undefined;
    const order = orders[i];
    if (!tree || !order) return statesFromConfig(config);
    const names = new Set([...order.containers, ...order.leaves.map((l) => l.path)]);
    const unknown = [config.freezeUpTo, config.head?.cutAt, ...Object.keys(config.layers ?? {})].filter(
      (n): n is string => n !== undefined && !names.has(n),
    );
    if (unknown.length > 0)
      notes.push(
        `${name}: its base model has no layer ${unknown.map((n) => `"${n}"`).join(', ')} (ignored).`,
      );
    return statesFromModel(config, tree, order);
  });
  const fromModels = mergeLayerOrders(
    orders.filter((o): o is LayerOrder => o !== undefined).map((o) => o.leaves.map((l) => l.path)),
  );
  const known = new Set(fromModels);
  const named: string[] = [];
  perRun.forEach((run, i) => {
    if (!run || orders[i]) return;
    for (const name of [...run.states.keys(), ...(run.cutLeaf ? [run.cutLeaf] : [])])
      if (!known.has(name)) {
        known.add(name);
        named.push(name);
      }
  });
  const rows: FreezeDiffRow[] = [...fromModels, ...named].map((path) => {
    const states = perRun.map((run) => run?.states.get(path) ?? null);
    const cut = perRun.map((run) => run?.cutLeaf === path);
    // Runs without a config say nothing; among the others a missing layer counts as a difference.
    const seen = new Set(perRun.flatMap((run, i) => (run ? [states[i] ?? 'none'] : [])));
    return { path, states, cut, differs: seen.size > 1 };
  });
  return { source: fromModels.length > 0 ? 'model' : 'configs', rows, notes };
}

export function comparePanelState(
  runs: readonly RunListing[],
  freeze: FreezeDiff,
  now: number = Date.now(),
): ComparePanelState {
  return {
    runs: runs.map((run) => compareRun(run, now)),
    parameters: compareParameters(runs),
    freeze,
  };
}
