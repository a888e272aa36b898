/**
 * The GPU adapter of a webgpu run where the user looks for it: the Runs view (description and tooltip)
 * and the training panel's state read from the run folder. A hand-edited adapter that is not one is left
 * out rather than shown as "[object Object]" or crashing the view.
 */
import '../helpers/fakeVscode';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readRun } from '../../src/core/runs/readRuns';
import { stateFromDisk } from '../../src/host/panels/trainingPanel';
import { RunItem } from '../../src/host/views/runItem';
import type { GpuAdapterRecord } from '../../src/protocol/gpuAdapter';
import { tempDir } from '../helpers/fixtureModels';
import type * as vscode from '../helpers/fakeVscodeApi';

const ADAPTER: GpuAdapterRecord = {
  vendor: 'nvidia',
  architecture: 'ada',
  device: 'NVIDIA GeForce RTX 4090',
  description: 'NVIDIA: 550.54.14',
  dawnBackend: 'vulkan',
  featureLevel: 'core',
  software: false,
};

function runFolder(adapter: unknown): string {
  const dir = path.join(tempDir('run-adapter'), '20260101-000000-gpu');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      id: '20260101-000000-gpu',
      name: 'gpu run',
      status: 'completed',
      experimentPath: '/tmp/x.finetune.json',
      backend: 'webgpu',
      requestedBackend: 'webgpu',
      adapter,
      classNames: ['a', 'b'],
      counts: { train: 8, val: 2, skipped: 0 },
      epochsPlanned: 1,
      epochsCompleted: 1,
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:01:00.000Z',
      pid: 1,
      hostname: 'h',
      warnings: [],
    }),
  );
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
  return dir;
}

const tooltipText = (item: RunItem): string =>
  (item.tooltip as unknown as vscode.MarkdownString).parts.map((p) => p.value).join('');

describe('the GPU adapter in the Runs view and the training panel', () => {
  it('shows the adapter next to the backend, in full in the tooltip and the panel', async () => {
    const dir = runFolder(ADAPTER);
    const item = new RunItem(readRun(dir), undefined);
    assert.match(String(item.description), /webgpu \(NVIDIA GeForce RTX 4090\)/);
    assert.match(
      tooltipText(item),
      /GPU adapter: NVIDIA GeForce RTX 4090 \(NVIDIA: 550\.54\.14\) via vulkan/,
    );
    assert.equal(
      (await stateFromDisk(dir)).adapter,
      'NVIDIA GeForce RTX 4090 (NVIDIA: 550.54.14) via vulkan',
    );
  });

  it('leaves out an adapter that is not one (hand-edited run.json)', async () => {
    const dir = runFolder({ device: { nested: true } });
    const item = new RunItem(readRun(dir), undefined);
    assert.match(String(item.description), /webgpu/);
    assert.doesNotMatch(String(item.description), /\(|object/);
    assert.doesNotMatch(tooltipText(item), /GPU adapter/);
    assert.equal((await stateFromDisk(dir)).adapter, undefined);
  });
});
