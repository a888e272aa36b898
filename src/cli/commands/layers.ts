/** `finetune layers <model.json>`: the layer tree of a TensorFlow.js LayersModel, nested models indented. */
import { initBackend } from '../../engine/backend/selectBackend';
import { describeModelFile } from '../../engine/model/layerTree';
import type { LayerNode } from '../../protocol/layerTree';
import type { CliIO } from '../io';
import { existingFile } from '../inputPaths';
import { formatCount, formatTable } from '../table';

/** `[?, 32, 32, 16]`; several outputs are listed side by side. */
export function formatShape(shape: LayerNode['outputShape']): string {
  const one = (s: (number | null)[]): string =>
    `[${s.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
  if (shape.length > 0 && Array.isArray(shape[0])) return (shape as (number | null)[][]).map(one).join(' ');
  return one(shape as (number | null)[]);
}

function rowsOf(nodes: readonly LayerNode[], depth: number, rows: string[][]): string[][] {
  for (const node of nodes) {
    rows.push([
      '  '.repeat(depth) + node.path,
      node.className,
      formatShape(node.outputShape),
      formatCount(node.trainableParams),
      formatCount(node.nonTrainableParams),
    ]);
    if (node.children) rowsOf(node.children, depth + 1, rows);
  }
  return rows;
}

export async function layersCommand(file: string, options: { json?: boolean }, io: CliIO): Promise<number> {
  const modelPath = existingFile(io.cwd, file, 'Model file');
  // Describing a model builds it, which needs a backend; the plain CPU one is always there and enough.
  await initBackend('cpu');
  const nodes = await describeModelFile(modelPath);
  if (options.json) {
    io.out(JSON.stringify(nodes, null, 2) + '\n');
    return 0;
  }
  const rows = rowsOf(nodes, 0, []);
  io.out(formatTable(['layer', 'class', 'output shape', 'trainable', 'non-trainable'], rows));
  // A nested model's counts already include its children, so only top-level layers are summed.
  const trainable = nodes.reduce((n, node) => n + node.trainableParams, 0);
  const nonTrainable = nodes.reduce((n, node) => n + node.nonTrainableParams, 0);
  io.out(
    `\ntotal params: ${formatCount(trainable + nonTrainable)} (${formatCount(trainable)} trainable, ` +
      `${formatCount(nonTrainable)} non-trainable)\n`,
  );
  return 0;
}
